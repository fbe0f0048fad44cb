"""Processing an uploaded story photo: the post pipeline's validation and variants, then ACTIVE.

``process_story`` (on ``media.story_uploaded``): reload the story by id and drop the event unless it is
PROCESSING (a redelivery changes nothing); GET the original (at most its declared size); verify it and render
THUMBNAIL, FEED and FULL with ``media.variants.make_variants`` in a worker thread (magic bytes, decompression
bombs, EXIF orientation applied then stripped: exactly what a post gets); PUT them under
``stories/<story>/<media>/<size>.jpg``, a prefix that is never public, with ``Cache-Control:`` ``STORY_CACHE``
(private and short: a story's media are not immutable for a year, they are deleted when it expires); then ONE
statement (``ACTIVATE_STORY``) sets the media item's size and variants, makes the story ACTIVE (EXPIRED if
its time passed meanwhile) and records ``story.published``. The story is then added to ``stories:{uid}`` and
the expiry schedule; when Redis is down at that moment the stories consumer adds it on ``story.published``.
A rejected image or a missing original ends the story FAILED with a ``failure_reason`` (its objects are then
deleted by the expiry sweep). S3 and graph outages raise, so the consumer runtime retries.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import orjson
import structlog

from cache.errors import CacheUnavailable
from events.envelope import Event
from graph.statements import stories as stmts
from media.variants import FEED, FULL, THUMBNAIL, ImageRejected
from services.media_processing import render_variants
from services.story_reads import ACTIVE, PROCESSING, view_from_row

if TYPE_CHECKING:
    from cache.stories import StoryCache
    from graph.store import GraphStore
    from media.store import ObjectStore
    from media.variants import ProcessedImage
    from services.core.clock import Clock
    from services.core.records import MediaRecord

log = structlog.get_logger(__name__)

STORY_PREFIX = "stories/"  # private: served through presigned GETs only
STORY_CACHE = "private, max-age=3600"  # as long as a story media URL lives at most (story_reads.URL_MAX_S)
SIZES = (THUMBNAIL, FEED, FULL)


def story_variant_key(story_id: str, media_id: str, size: str) -> str:
    """S3 key of one story variant: ``stories/<story>/<media>/<size lower-case>.jpg``."""
    return f"{STORY_PREFIX}{story_id}/{media_id}/{size.lower()}.jpg"


class StoryMediaService:
    """Story photo processing over ``graph`` and ``store``; ``cache`` lists the story once it is live."""

    def __init__(self, graph: GraphStore, store: ObjectStore, cache: StoryCache, clock: Clock) -> None:
        self._graph, self._store, self._cache, self.clock = graph, store, cache, clock

    async def process_story(self, story_id: str) -> str:
        """Make ``story_id`` ACTIVE if it is PROCESSING; returns ``"published"``, ``"expired"`` (its time
        passed before processing ended), ``"failed"`` or ``"skipped"``. Raises ``StoreUnavailable`` /
        ``GraphError`` on outages (the event is retried)."""
        rows = await self._graph.read(stmts.STORY_FOR_SYSTEM, {"story_id": story_id})
        if not rows:
            return "skipped"
        story = view_from_row(rows[0]).record
        if story.status != PROCESSING or story.media is None:
            return "skipped"
        try:
            processed = await self._render(story.media)
        except ImageRejected as exc:
            log.info("story_media.rejected", story_id=story_id, reason=exc.reason)
            reason = f"The photo was refused: {exc.reason}."
            await self._graph.write(
                stmts.MARK_STORY_FAILED,
                {"story_id": story_id, "from": [PROCESSING], "reason": reason, "now": self.clock.now_ms()},
            )
            return "failed"
        keys = await self._store_variants(story_id, story.media, processed)
        data = {"story_id": story_id, "author_id": story.author_id, "expires_at": story.expires_at,
                "audience": story.audience}  # fmt: skip
        event = Event.new("story.published", actor_id=story.author_id, subject_id=story_id, data=data)
        now = self.clock.now_ms()
        done = await self._graph.write(
            stmts.ACTIVATE_STORY,
            {"story_id": story_id, "media_id": story.media.id, "width": processed.width,
             "height": processed.height, "variants": orjson.dumps(keys).decode(), "now": now,
             "outbox": event.outbox_props()},
        )  # fmt: skip
        if not done:
            return "skipped"  # deleted meanwhile: its objects are PURGING already
        if done[0]["status"] != ACTIVE:
            return "expired"
        await self.list_live(story.author_id, story_id, story.expires_at)
        return "published"

    async def list_live(self, author_id: str, story_id: str, expires_at: int) -> bool:
        """Add a live story to ``stories:{author}`` and the expiry schedule; False (logged) when Redis is
        down (the stories consumer adds it again on ``story.published``)."""
        try:
            await self._cache.add_live(author_id, story_id, expires_at, now_ms=self.clock.now_ms())
        except CacheUnavailable as exc:
            log.warning("story_media.list_failed", story_id=story_id, error=str(exc))
            return False
        return True

    async def _render(self, media: MediaRecord) -> ProcessedImage:
        return await render_variants(self._store, media)

    async def _store_variants(self, story_id: str, media: MediaRecord, processed: ProcessedImage) -> dict[str, str]:
        keys = {size: story_variant_key(story_id, media.id, size) for size in SIZES}
        await asyncio.gather(*(
            self._store.put(keys[size], processed.variants[size].data,
                            content_type=processed.variants[size].content_type, cache_control=STORY_CACHE)
            for size in SIZES
        ))  # fmt: skip
        return keys
