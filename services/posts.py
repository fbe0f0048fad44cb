"""Post use cases: ``create_post`` (presigned uploads), ``complete_upload``, ``delete_post``, and reads.

Flow (DESIGN.md "Post"): ``create_post`` validates, parses the caption, signs one S3 POST policy per media
item (exact key, exact content type, 1..byteSize bytes, 15 min) and writes the post in PENDING_UPLOAD with
its media, hashtags and mentions in ONE statement. The client uploads straight to S3, then
``complete_upload`` HEADs every original and moves the post to PROCESSING together with its
``media.uploaded`` event; the media worker (``services.media_processing``) publishes it.
``delete_post`` soft-deletes with a ``post.deleted`` event (feeds and S3 are cleaned by consumers).

Errors: ``BadInput(field)`` with the input field (``caption``, ``media``, ``media[i].contentType``,
``media[i].byteSize``, ``media[i].altText``, ``location.latitude``, ``location.longitude``, ``location.name``
(``services.core.locations``), ``postId``) and nothing written; ``NotFound`` for an absent or
deleted post (or author); ``Forbidden`` for a post of someone else; ``Unavailable`` when S3 cannot be reached.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import uuid_utils

from events.envelope import Event
from graph.statements import posts as stmts
from media.errors import ObjectMissing, StoreUnavailable
from media.variants import ALLOWED_TYPES
from services.core import clock
from services.core.captions import parse_caption
from services.core.errors import BadInput, Forbidden, NotFound, Unavailable
from services.core.locations import LocationSpec, check_location
from services.post_reads import AUTHORED, DELETED, FAILED, PENDING_UPLOAD, PROCESSING, PUBLISHED, PostReader

if TYPE_CHECKING:
    from collections.abc import Sequence

    from graph.store import GraphStore
    from media.store import ObjectHead, ObjectStore
    from services.core.pagination import Page
    from services.core.records import MediaRecord, PostRecord
    from services.edge_pages import EdgePages
    from services.post_reads import PostView

CAPTION_MAX_CHARS = 2_200  # Instagram's caption limit
MAX_MEDIA = 10  # Instagram carousel limit
MAX_HASHTAGS = 30  # Instagram: "You can use up to 30 hashtags on a post"
MAX_MENTIONS = 20  # Instagram: up to 20 @mentions per caption
MAX_BYTES = 20 * 1024 * 1024  # 20 MiB per file
ALT_TEXT_MAX_CHARS = 1_000
UPLOAD_EXPIRY_S = 900  # 15 min presigned-POST lifetime
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class MediaSpec:
    """One declared media item: ``content_type``, ``byte_size`` (bytes), optional ``alt_text``."""

    content_type: str
    byte_size: int
    alt_text: str | None = None


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """A presigned POST for media ``media_id``: form ``fields`` (in order) to ``url`` before ``expires_at``
    (epoch ms)."""

    media_id: str
    url: str
    fields: tuple[tuple[str, str], ...]
    expires_at: int


@dataclass(frozen=True, slots=True)
class CreatedPost:
    """``create_post``'s result: the PENDING_UPLOAD ``post`` and one ``uploads`` ticket per media item."""

    post: PostRecord
    uploads: tuple[UploadTicket, ...]


def original_key(post_id: str, media_id: str) -> str:
    """S3 key of an uploaded original: ``originals/<post>/<media>`` (private: never served as is)."""
    return f"originals/{post_id}/{media_id}"


def _check_caption(caption: str | None) -> str | None:
    if caption is None or not caption.strip():
        return None
    if len(caption) > CAPTION_MAX_CHARS:
        raise BadInput("caption", f"Caption must be at most {CAPTION_MAX_CHARS:,} characters.")
    if _CONTROL.search(caption):
        raise BadInput("caption", "Caption contains a control character.")
    return caption


def _check_media(media: Sequence[MediaSpec]) -> list[MediaSpec]:
    if not 1 <= len(media) <= MAX_MEDIA:
        raise BadInput("media", f"A post has 1 to {MAX_MEDIA} media items.")
    checked: list[MediaSpec] = []
    for i, m in enumerate(media):
        if m.content_type not in ALLOWED_TYPES:
            allowed = ", ".join(ALLOWED_TYPES)
            raise BadInput(f"media[{i}].contentType", f"Content type must be one of {allowed}.")
        if not 1 <= m.byte_size <= MAX_BYTES:
            raise BadInput(f"media[{i}].byteSize", f"File size must be 1 byte to {MAX_BYTES // 2**20} MB.")
        alt = m.alt_text.strip() if m.alt_text else None
        if alt and len(alt) > ALT_TEXT_MAX_CHARS:
            raise BadInput(
                f"media[{i}].altText", f"Alt text must be at most {ALT_TEXT_MAX_CHARS:,} characters."
            )
        if alt and _CONTROL.search(alt):
            raise BadInput(f"media[{i}].altText", "Alt text contains a control character.")
        checked.append(MediaSpec(m.content_type, m.byte_size, alt or None))
    return checked


class PostService:
    """Posts over ``graph`` (writes and reads) with uploads to ``store``."""

    def __init__(
        self,
        graph: GraphStore,
        store: ObjectStore,
        *,
        upload_expiry_s: int = UPLOAD_EXPIRY_S,
        index: EdgePages | None = None,
    ) -> None:
        self._graph, self._store = graph, store
        self.reader = PostReader(graph, index)
        self._index = index
        self.upload_expiry_s = upload_expiry_s

    # -- create -------------------------------------------------------------------------------------------

    async def create_post(
        self,
        author_id: str,
        caption: str | None,
        media: Sequence[MediaSpec],
        *,
        location: LocationSpec | None = None,
        seed_key: str | None = None,
    ) -> CreatedPost:
        """Create a PENDING_UPLOAD post by ``author_id`` and sign its uploads (see module docstring).

        Hashtags and mentions come from ``parse_caption``: at most 30 and 20 distinct ones; mentions of
        unknown users (or users blocking either way) are ignored. ``location`` (degrees, optional name) is
        stored as ``lat``, ``lng``, ``location_name``. ``seed_key`` marks a seeded post.
        Raises ``BadInput``, ``NotFound`` (no such author), ``Unavailable`` (signing failed).
        """
        text = _check_caption(caption)
        specs = _check_media(media)
        place = check_location(location) if location is not None else None
        parsed = parse_caption(text)
        if len(parsed.hashtags) > MAX_HASHTAGS:
            raise BadInput("caption", f"A caption may contain at most {MAX_HASHTAGS} hashtags.")
        if len(parsed.mentions) > MAX_MENTIONS:
            raise BadInput("caption", f"A caption may mention at most {MAX_MENTIONS} accounts.")
        now = clock.now_ms()
        post_id = str(uuid_utils.uuid7())
        media_rows = []
        for position, spec in enumerate(specs):
            media_id = str(uuid_utils.uuid7())
            media_rows.append({
                "id": media_id, "key": original_key(post_id, media_id), "content_type": spec.content_type,
                "byte_size": spec.byte_size, "alt_text": spec.alt_text, "position": position,
            })  # fmt: skip
        uploads = await self._sign(media_rows, now)
        post: dict[str, Any] = {
            "id": post_id, "caption": text, "status": PENDING_UPLOAD, "created_at": now, "updated_at": now,
            "like_count": 0, "comment_count": 0, "media_count": len(specs),
        }  # fmt: skip
        if seed_key is not None:
            post["seed_key"] = seed_key
        if place is not None:
            post.update(lat=place.latitude, lng=place.longitude)
            if place.name is not None:
                post["location_name"] = place.name
        rows = await self._graph.write(
            stmts.CREATE_POST,
            {
                "author_id": author_id, "post": post, "media": media_rows,
                "hashtags": [{"name": n, "position": i} for i, n in enumerate(parsed.hashtags)],
                "mentions": list(parsed.mentions),
            },
        )  # fmt: skip
        if not rows:
            raise NotFound("User not found.")
        if self._index is not None:  # the author's grid index (pending posts show to the author only)
            await self._index.added(AUTHORED, author_id, post_id, now)
        created = await self.reader.views([post_id], author_id)
        if created[0] is None:  # pragma: no cover - written above in the same process
            raise NotFound("Post not found.")
        return CreatedPost(post=created[0].record, uploads=tuple(uploads))

    async def _sign(self, media_rows: list[dict[str, Any]], now: int) -> list[UploadTicket]:
        tickets = []
        for m in media_rows:
            try:
                signed = await self._store.presigned_post(
                    m["key"], content_type=m["content_type"], max_bytes=m["byte_size"],
                    expires_s=self.upload_expiry_s, now_ms=now,
                )  # fmt: skip
            except StoreUnavailable as exc:
                raise Unavailable("Media storage is unavailable; try again.") from exc
            tickets.append(UploadTicket(m["id"], signed.url, tuple(signed.fields.items()), signed.expires_at))
        return tickets

    async def reissue_uploads(self, author_id: str, post_id: str) -> tuple[UploadTicket, ...]:
        """Fresh presigned POSTs for a PENDING_UPLOAD post of ``author_id`` (the first ones expired).

        Raises ``NotFound``, ``Forbidden``, ``BadInput("postId")`` when the post is not waiting for uploads.
        """
        view = await self._own_post(author_id, post_id)
        if view.record.status != PENDING_UPLOAD:
            raise BadInput("postId", "This post is not waiting for uploads.")
        rows = [{"id": m.id, "key": m.key, "content_type": m.content_type, "byte_size": m.byte_size}
                for m in view.record.media]  # fmt: skip
        return tuple(await self._sign(rows, clock.now_ms()))

    # -- complete ----------------------------------------------------------------------------------------

    async def complete_upload(self, author_id: str, post_id: str) -> PostRecord:
        """Check every original with a HEAD, then PENDING_UPLOAD -> PROCESSING + ``media.uploaded``.

        Idempotent: a post already PROCESSING or PUBLISHED is returned as it is. Raises ``NotFound``,
        ``Forbidden`` (not the author), ``BadInput("postId")`` when an original is missing, larger than
        declared or of another type (the post stays PENDING_UPLOAD), or the post FAILED;
        ``Unavailable`` when S3 cannot be reached.
        """
        view = await self._own_post(author_id, post_id)
        status = view.record.status
        if status == FAILED:
            raise BadInput("postId", f"This post failed: {view.record.failure_reason or 'unknown reason'}.")
        if status != PENDING_UPLOAD:
            return view.record
        problem = await self.check_uploads(view.record.media)
        if problem is not None:
            raise BadInput("postId", problem)
        if await self.mark_processing(author_id, post_id, view.record.media):
            return _with_status(view.record, PROCESSING)
        return (await self._own_post(author_id, post_id)).record  # completed concurrently: as it is now

    async def check_uploads(self, media: Sequence[MediaRecord]) -> str | None:
        """HEAD every original; ``None`` when all are present, at most their declared size and of their
        declared type, else a client-safe message. Raises ``Unavailable`` when S3 cannot be reached."""
        try:
            heads = await asyncio.gather(*(self._head(m.key) for m in media))
        except StoreUnavailable as exc:
            raise Unavailable("Media storage is unavailable; try again.") from exc
        total = len(media)
        for i, (m, head) in enumerate(zip(media, heads, strict=True)):
            label = f"Media {i + 1} of {total}"
            if head is None:
                return f"{label} has not been uploaded yet."
            if head.size > m.byte_size:
                return f"{label} has {head.size} bytes, more than the declared {m.byte_size}."
            if head.content_type != m.content_type:
                return f"{label} was uploaded as {head.content_type}, not {m.content_type}."
        return None

    async def _head(self, key: str) -> ObjectHead | None:
        try:
            return await self._store.head(key)
        except ObjectMissing:
            return None

    async def mark_processing(
        self, author_id: str, post_id: str, media: Sequence[MediaRecord], *, now_ms: int | None = None
    ) -> bool:
        """PENDING_UPLOAD -> PROCESSING (``updated_at`` = ``now_ms``, default now) with ``media.uploaded`` in
        one statement; False when the post was no longer PENDING_UPLOAD."""
        data = {"post_id": post_id, "author_id": author_id, "media_ids": [m.id for m in media]}
        event = Event.new("media.uploaded", actor_id=author_id, subject_id=post_id, data=data)
        rows = await self._graph.write(
            stmts.MARK_PROCESSING,
            {
                "author_id": author_id,
                "post_id": post_id,
                "now": clock.now_ms() if now_ms is None else now_ms,
                "outbox": event.outbox_props(),
            },
        )
        return bool(rows)

    # -- delete ------------------------------------------------------------------------------------------

    async def delete_post(self, viewer_id: str, post_id: str) -> PostRecord:
        """Soft-delete ``post_id`` (status DELETED, ``post.deleted`` event, ``post_count`` down when it was
        PUBLISHED). Raises ``NotFound`` (absent or already deleted), ``Forbidden`` (not the author)."""
        for _ in range(3):  # the status may move (e.g. PROCESSING -> PUBLISHED) between read and write
            view = await self._own_post(viewer_id, post_id)
            previous = view.record.status
            event = Event.new("post.deleted", actor_id=viewer_id, subject_id=post_id,
                              data={"post_id": post_id, "author_id": viewer_id,
                                    "was_published": previous == PUBLISHED})  # fmt: skip
            rows = await self._graph.write(
                stmts.SOFT_DELETE,
                {"author_id": viewer_id, "post_id": post_id, "expected": previous, "now": clock.now_ms(),
                 "outbox": event.outbox_props()},
            )  # fmt: skip
            if rows:
                return _with_status(view.record, DELETED)
        raise NotFound("Post not found.")

    # -- reads -------------------------------------------------------------------------------------------

    async def posts_by_ids(self, post_ids: Sequence[str], viewer_id: str | None) -> list[PostRecord | None]:
        """Posts visible to ``viewer_id`` in order, ``None`` for absent/deleted/hidden (one round trip)."""
        return await self.reader.posts_by_ids(post_ids, viewer_id)

    async def user_posts(
        self, author_id: str, viewer_id: str | None, first: int | None, after: str | None
    ) -> Page[PostRecord]:
        """A page of ``author_id``'s posts as ``viewer_id`` may see them (see ``PostReader.user_posts``)."""
        return await self.reader.user_posts(author_id, viewer_id, first, after)

    async def user_posts_pages(
        self, author_ids: Sequence[str], viewer_id: str | None, first: int | None, after: str | None
    ) -> dict[str, Page[PostRecord]]:
        """:meth:`user_posts` for a batch of authors, one graph round trip (``PostReader.user_posts_pages``)."""
        return await self.reader.user_posts_pages(author_ids, viewer_id, first, after)

    def media_url(self, media: MediaRecord, size: str) -> str | None:
        """Public URL of ``media``'s ``size`` variant (THUMBNAIL/FEED/FULL); ``None`` until processed."""
        key = media.variants.get(size)
        return self._store.public_url(key) if key else None

    async def _own_post(self, viewer_id: str, post_id: str) -> PostView:
        view = (await self.reader.views([post_id], viewer_id))[0]
        if view is None or view.record.status == DELETED:
            raise NotFound("Post not found.")
        if view.record.author_id != viewer_id:
            if not view.visible_to(viewer_id):
                raise NotFound("Post not found.")
            raise Forbidden("Only the author may change this post.")
        return view


def _with_status(record: PostRecord, status: str) -> PostRecord:
    return replace(record, status=status)
