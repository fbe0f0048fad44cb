"""Story use cases: ``create_story`` (a presigned upload), ``complete_upload``, ``delete_story``, and reads.

Flow (DESIGN.md "Stories"), the post pipeline's: ``create_story`` validates the one photo (JPEG, PNG or WebP,
1 byte to 20 MB, as a post's), checks the ``createStory`` rate limit (5 a minute), signs an S3 POST policy
(exact key, type and size, 15 min) and writes the story in PENDING_UPLOAD with ``expires_at = created_at +
story_ttl`` in ONE statement that also refuses a 101st live story. The client uploads straight to S3, then
``complete_upload`` HEADs the original and moves the story to PROCESSING with its ``media.story_uploaded``
event; the media worker (``services.story_media``) renders the variants and makes it ACTIVE.
``delete_story`` soft-deletes with ``story.deleted`` (the stories consumer deletes the objects) and removes
the story from its author's ``stories:{uid}`` at once.

Errors: ``BadInput(field)`` with the input field (``media``, ``media.contentType``, ``media.byteSize``,
``media.altText``, ``audience``, ``storyId``) and nothing written; ``RateLimited`` over 5 stories a minute or
with ``MAX_LIVE`` stories live (``retry_after``: until the soonest of them expires); ``NotFound`` for an
absent, deleted or hidden story (or author); ``Forbidden`` for a story of someone else the viewer may see;
``Unavailable`` when S3 cannot be reached.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import structlog
import uuid_utils

from cache.errors import CacheUnavailable
from events.envelope import Event
from graph.statements import stories as stmts
from media.errors import ObjectMissing, StoreUnavailable
from media.variants import ALLOWED_TYPES
from services.core.errors import BadInput, Forbidden, NotFound, RateLimited, Unavailable
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.posts import ALT_TEXT_MAX_CHARS, MAX_BYTES, UPLOAD_EXPIRY_S, MediaSpec, UploadTicket, original_key
from services.story_reads import (
    CLOSE_FRIENDS,
    DELETED,
    FAILED,
    FOLLOWERS,
    LIVE,
    PENDING_UPLOAD,
    PROCESSING,
    StoryReader,
    StoryView,
    present,
    view_from_row,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

    from cache.stories import StoryCache
    from graph.store import GraphStore
    from media.store import ObjectStore
    from services.core.clock import Clock
    from services.core.records import MediaRecord, StoryRecord
    from services.rate_limits import RateLimitService

log = structlog.get_logger(__name__)

MAX_LIVE = 100  # Instagram: "you can post up to 100 stories in 24 hours"
ARCHIVE_DEFAULT_FIRST = 20
AUDIENCES = (FOLLOWERS, CLOSE_FRIENDS)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class CreatedStory:
    """``create_story``'s result: the PENDING_UPLOAD ``story`` and the ``upload`` ticket of its photo."""

    story: StoryRecord
    upload: UploadTicket


async def _unavailable_on_outage(signing: Awaitable[str | None]) -> str | None:
    try:
        return await signing
    except StoreUnavailable as exc:
        raise Unavailable("Media storage is unavailable; try again.") from exc


def _check_media(media: MediaSpec) -> MediaSpec:
    if media.content_type not in ALLOWED_TYPES:
        raise BadInput("media.contentType", f"Content type must be one of {', '.join(ALLOWED_TYPES)}.")
    if not 1 <= media.byte_size <= MAX_BYTES:
        raise BadInput("media.byteSize", f"File size must be 1 byte to {MAX_BYTES // 2**20} MB.")
    alt = media.alt_text.strip() if media.alt_text else None
    if alt and len(alt) > ALT_TEXT_MAX_CHARS:
        raise BadInput("media.altText", f"Alt text must be at most {ALT_TEXT_MAX_CHARS:,} characters.")
    if alt and _CONTROL.search(alt):
        raise BadInput("media.altText", "Alt text contains a control character.")
    return MediaSpec(media.content_type, media.byte_size, alt or None)


class StoryService:
    """Story writes and reads over ``graph``, uploads to ``store``, live sets in ``cache``; ``ttl_s`` is the
    story lifetime (``INSTAGRAPH_STORY_TTL``), ``clock`` the time every expiry check uses."""

    def __init__(
        self,
        graph: GraphStore,
        store: ObjectStore,
        cache: StoryCache,
        rate_limits: RateLimitService,
        clock: Clock,
        *,
        ttl_s: int,
        upload_expiry_s: int = UPLOAD_EXPIRY_S,
    ) -> None:
        self._graph, self._store, self.cache, self._rate_limits = graph, store, cache, rate_limits
        self.clock, self.ttl_s, self.upload_expiry_s = clock, ttl_s, upload_expiry_s
        self.reader = StoryReader(graph, store, clock)

    # -- create ------------------------------------------------------------------------------------------

    async def create_story(
        self, author_id: str, media: MediaSpec, audience: str = FOLLOWERS, *, seed_key: str | None = None
    ) -> CreatedStory:
        """Create a PENDING_UPLOAD story of ``author_id`` for ``audience`` and sign its upload (see the
        module docstring for the errors). ``seed_key`` marks a seeded story."""
        spec = _check_media(media)
        if audience not in AUDIENCES:
            raise BadInput("audience", f"Audience must be one of {', '.join(AUDIENCES)}.")
        await self._rate_limits.hit("createStory", author_id)
        now = self.clock.now_ms()
        story_id, media_id = str(uuid_utils.uuid7()), str(uuid_utils.uuid7())
        key = original_key(story_id, media_id)
        try:
            signed = await self._store.presigned_post(
                key, content_type=spec.content_type, max_bytes=spec.byte_size,
                expires_s=self.upload_expiry_s, now_ms=now,
            )  # fmt: skip
        except StoreUnavailable as exc:
            raise Unavailable("Media storage is unavailable; try again.") from exc
        story: dict[str, object] = {
            "id": story_id, "status": PENDING_UPLOAD, "audience": audience, "created_at": now, "updated_at": now,
            "expires_at": now + self.ttl_s * 1000, "media_state": LIVE, "view_count": 0,
        }  # fmt: skip
        if seed_key is not None:
            story["seed_key"] = seed_key
        media_props = {"id": media_id, "key": key, "content_type": spec.content_type,
                       "byte_size": spec.byte_size, "alt_text": spec.alt_text}  # fmt: skip
        rows = await self._graph.write(
            stmts.CREATE_STORY,
            {"author_id": author_id, "now": now, "max_live": MAX_LIVE, "story": story, "media": media_props},
        )
        if not rows:
            raise NotFound("User not found.")
        if not rows[0]["created"]:
            wait_ms = int(rows[0]["next_free"] or now + 1000) - now
            raise RateLimited(math.ceil(wait_ms / 1000), f"At most {MAX_LIVE} stories can be live at once.")
        ticket = UploadTicket(media_id, signed.url, tuple(signed.fields.items()), signed.expires_at)
        view = await self._own(author_id, story_id)
        return CreatedStory(story=present(view, now), upload=ticket)

    # -- complete ----------------------------------------------------------------------------------------

    async def complete_upload(self, author_id: str, story_id: str) -> StoryRecord:
        """HEAD the original, then PENDING_UPLOAD -> PROCESSING + ``media.story_uploaded``.

        Idempotent: a story past PENDING_UPLOAD is returned as it is. Raises ``NotFound``, ``Forbidden``,
        ``BadInput("storyId")`` when the photo is missing, larger than declared or of another type (the story
        stays PENDING_UPLOAD), when the story FAILED or expired before its upload was completed;
        ``Unavailable`` when S3 cannot be reached.
        """
        view = await self._own(author_id, story_id)
        now = self.clock.now_ms()
        story = view.record
        if story.status == FAILED:
            raise BadInput("storyId", f"This story failed: {story.failure_reason or 'unknown reason'}.")
        if story.status != PENDING_UPLOAD:
            return present(view, now)
        if now >= story.expires_at:
            raise BadInput("storyId", "This story expired before its upload was completed.")
        assert story.media is not None  # created with its media item
        problem = await self._check_upload(story.media)
        if problem is not None:
            raise BadInput("storyId", problem)
        data = {"story_id": story_id, "author_id": author_id, "media_id": story.media.id}
        event = Event.new("media.story_uploaded", actor_id=author_id, subject_id=story_id, data=data)
        rows = await self._graph.write(
            stmts.MARK_STORY_PROCESSING,
            {"author_id": author_id, "story_id": story_id, "now": now, "outbox": event.outbox_props()},
        )
        if rows:
            return replace(present(view, now), status=PROCESSING)
        return present(await self._own(author_id, story_id), now)  # completed concurrently: as it is now

    async def _check_upload(self, media: MediaRecord) -> str | None:
        try:
            head = await self._store.head(media.key)
        except ObjectMissing:
            return "The photo has not been uploaded yet."
        except StoreUnavailable as exc:
            raise Unavailable("Media storage is unavailable; try again.") from exc
        if head.size > media.byte_size:
            return f"The photo has {head.size} bytes, more than the declared {media.byte_size}."
        if head.content_type != media.content_type:
            return f"The photo was uploaded as {head.content_type}, not {media.content_type}."
        return None

    # -- delete ------------------------------------------------------------------------------------------

    async def delete_story(self, viewer_id: str, story_id: str) -> StoryRecord:
        """Soft-delete the viewer's own story: DELETED, out of its highlights and of ``stories:{uid}`` at once,
        ``story.deleted`` for the consumer that deletes its objects. Raises ``NotFound`` (absent, deleted or
        hidden), ``Forbidden`` (someone else's story the viewer may see)."""
        view = await self._own(viewer_id, story_id)
        event = Event.new("story.deleted", actor_id=viewer_id, subject_id=story_id,
                          data={"story_id": story_id, "author_id": viewer_id})  # fmt: skip
        now = self.clock.now_ms()
        rows = await self._graph.write(
            stmts.DELETE_STORY,
            {"author_id": viewer_id, "story_id": story_id, "now": now, "outbox": event.outbox_props()},
        )
        if not rows:
            raise NotFound("Story not found.")
        try:
            await self.cache.remove([(viewer_id, story_id)])
        except CacheUnavailable as exc:  # the ring reads the graph's status too; the consumer retries this
            log.warning("stories.unlist_failed", story_id=story_id, error=str(exc))
        return replace(view.record, status=DELETED, media=None, highlighted=False)

    # -- reads -------------------------------------------------------------------------------------------

    async def stories_by_ids(self, story_ids: Sequence[str], viewer_id: str | None) -> list[StoryRecord | None]:
        """Stories ``viewer_id`` may see, in order; ``None`` for absent, expired or hidden (one round trip)."""
        return await self.reader.stories_by_ids(story_ids, viewer_id)

    async def user_stories(self, owner_ids: Sequence[str], viewer_id: str | None) -> dict[str, list[StoryRecord]]:
        """The live stories of each owner ``viewer_id`` may see, oldest first (one round trip)."""
        return await self.reader.user_stories(owner_ids, viewer_id)

    async def archive(self, viewer_id: str, first: int | None, after: str | None) -> Page[StoryRecord]:
        """The viewer's own stories in every status but DELETED, newest first (keyset ``[created_at, id]``).
        Raises ``BadInput("first"|"after")``."""
        limit = clamp_first(first, ARCHIVE_DEFAULT_FIRST)
        before_ts, before_id = decode_cursor(after, (int, str)) or (None, None)
        rows = await self._graph.read(
            stmts.ARCHIVE_PAGE,
            {"viewer_id": viewer_id, "before_ts": before_ts, "before_id": before_id, "limit": limit + 1},
        )
        now = self.clock.now_ms()
        records = [present(view_from_row(row), now) for row in rows]
        return Page(
            items=[(encode_cursor(r.created_at, r.id), r) for r in records[:limit]],
            has_next=len(records) > limit,
            has_previous=after is not None,
        )

    def media_url(self, media: MediaRecord, size: str) -> str | Awaitable[str | None] | None:
        """A presigned GET URL of a story media variant (see ``StoryReader.media_url``): at once when no
        signing is needed, else an awaitable that raises ``Unavailable`` when it cannot be signed."""
        found = self.reader.media_url(media, size)
        if found is None or isinstance(found, str):
            return found
        return _unavailable_on_outage(found)

    async def _own(self, viewer_id: str, story_id: str) -> StoryView:
        view = (await self.reader.views([story_id], viewer_id))[0]
        if view is None or view.record.status == DELETED:
            raise NotFound("Story not found.")
        if view.record.author_id != viewer_id:
            if not view.visible_to(viewer_id, self.clock.now_ms()):
                raise NotFound("Story not found.")
            raise Forbidden("Only the author may change this story.")
        return view
