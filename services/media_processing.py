"""The media use cases: process an uploaded post (verify, variants, publish), clean up a deleted post's
objects, and sweep posts stuck before publication.

``process_post`` (on ``media.uploaded``): reload the post by id and drop the event unless it is PROCESSING
(gone, deleted, already published or failed: a redelivery changes nothing); GET each original; render its
variants with ``media.variants.make_variants`` in a worker thread (Pillow releases the GIL while decoding and
resizing); PUT them under ``variants/<post>/<media>/<size>.jpg`` with ``Cache-Control: immutable``; then ONE
statement sets every media item's ``width``/``height``/``variants``, flips the post to PUBLISHED, bumps
``post_count`` and records ``post.published``. A rejected image (bad magic bytes, decompression bomb, corrupt
file) or a missing original ends the post FAILED with a ``failure_reason``; variants PUT before a failure or a
concurrent delete are orphans at worst (deleted right away when the post turns out deleted), and the post is
never PUBLISHED without all of them. S3 or graph outages raise, so the consumer runtime retries.

Errors: ``StoreUnavailable`` and ``GraphError`` propagate (retryable); rejected images never raise.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
import structlog
from prometheus_client import Histogram

from events.envelope import Event
from graph.statements import posts as stmts
from media.errors import ObjectMissing, ObjectTooLarge, StoreUnavailable
from media.variants import FEED, FULL, THUMBNAIL, ImageRejected, make_variants
from services.core import clock
from services.post_reads import DELETED, PENDING_UPLOAD, PROCESSING

if TYPE_CHECKING:
    from graph.store import GraphStore
    from media.store import ObjectStore
    from media.variants import ProcessedImage
    from services.core.records import MediaRecord, PostRecord
    from services.posts import PostService

log = structlog.get_logger(__name__)

VARIANT_SECONDS = Histogram(
    "instagraph_media_variant_seconds",
    "Time to verify one image and render its three variants (s)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

VARIANTS_PREFIX = "variants/"  # the only publicly readable prefix of the bucket
SIZES = (THUMBNAIL, FEED, FULL)
PENDING_GRACE_MS = 20 * 60_000  # sweep PENDING_UPLOAD posts after the 15-min POST policy expired (+5 min)
UPLOAD_DEADLINE_MS = 60 * 60_000  # nothing uploaded after 1 h -> FAILED
PROCESSING_STALE_MS = 15 * 60_000  # PROCESSING this long: the event was lost or dead-lettered; redo it
SWEEP_BATCH = 100


def variant_key(post_id: str, media_id: str, size: str) -> str:
    """Public S3 key of one variant: ``variants/<post>/<media>/<size lower-case>.jpg``."""
    return f"{VARIANTS_PREFIX}{post_id}/{media_id}/{size.lower()}.jpg"


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did: posts moved to PROCESSING, FAILED, and re-processed."""

    completed: int = 0
    failed: int = 0
    reprocessed: int = 0

    @property
    def total(self) -> int:
        """Posts changed by the sweep."""
        return self.completed + self.failed + self.reprocessed


async def render_variants(store: ObjectStore, media: MediaRecord) -> ProcessedImage:
    """The THUMBNAIL, FEED and FULL variants of ``media``'s uploaded original (read from ``store``, at most its
    declared ``byte_size``), made in a worker thread; the time is observed in ``VARIANT_SECONDS``. Raises
    ``ImageRejected`` for a missing or oversized original or bad image data, ``StoreUnavailable`` for S3.
    Shared by posts and stories (the same validation and variants)."""
    try:
        data = await store.get(media.key, max_bytes=media.byte_size)
    except ObjectMissing as exc:
        raise ImageRejected("the file was not uploaded") from exc
    except ObjectTooLarge as exc:
        raise ImageRejected("the file is larger than declared") from exc
    started = time.perf_counter()
    try:
        return await asyncio.to_thread(make_variants, data, media.content_type)
    finally:
        VARIANT_SECONDS.observe(time.perf_counter() - started)


class MediaService:
    """Media use cases over ``graph`` and ``store``; ``posts`` provides the upload check of the sweeper."""

    def __init__(self, graph: GraphStore, store: ObjectStore, posts: PostService) -> None:
        self._graph, self._store, self._posts = graph, store, posts
        self._reader = posts.reader

    async def process_post(self, post_id: str) -> str:
        """Publish ``post_id`` if it is PROCESSING; returns ``"published"``, ``"failed"`` or ``"skipped"``.

        Raises ``StoreUnavailable`` / ``GraphError`` on outages (the event is retried).
        """
        view = (await self._reader.views([post_id], None))[0]
        if view is None or view.record.status != PROCESSING:
            return "skipped"
        post = view.record
        updates: list[dict[str, object]] = []
        written: list[str] = []
        for index, media in enumerate(post.media):
            try:
                processed = await self._render(media)
            except ImageRejected as exc:
                return await self._fail(
                    post, f"Media {index + 1} of {len(post.media)}: {exc.reason}.", written
                )
            keys = await self._store_variants(post.id, media, processed)
            written.extend(keys.values())
            updates.append({"id": media.id, "width": processed.width, "height": processed.height,
                            "variants": orjson.dumps(keys).decode()})  # fmt: skip
        return await self._publish(post, updates, written)

    async def _render(self, media: MediaRecord) -> ProcessedImage:
        return await render_variants(self._store, media)

    async def _store_variants(
        self, post_id: str, media: MediaRecord, processed: ProcessedImage
    ) -> dict[str, str]:
        keys = {size: variant_key(post_id, media.id, size) for size in SIZES}
        await asyncio.gather(*(
            self._store.put(keys[size], processed.variants[size].data,
                            content_type=processed.variants[size].content_type)
            for size in SIZES
        ))  # fmt: skip
        return keys

    async def _publish(self, post: PostRecord, updates: list[dict[str, object]], written: list[str]) -> str:
        data = {"post_id": post.id, "author_id": post.author_id, "created_at": post.created_at}
        event = Event.new("post.published", actor_id=post.author_id, subject_id=post.id, data=data)
        rows = await self._graph.write(
            stmts.PUBLISH,
            {"post_id": post.id, "now": clock.now_ms(), "media": updates, "media_count": len(post.media),
             "outbox": event.outbox_props()},
        )  # fmt: skip
        if rows:
            return "published"
        await self._discard_if_deleted(post.id, written)
        return "skipped"

    async def _fail(self, post: PostRecord, reason: str, written: list[str]) -> str:
        log.info("media.rejected", post_id=post.id, reason=reason)
        await self._graph.write(
            stmts.MARK_FAILED, {"post_id": post.id, "from": [PROCESSING], "reason": reason, "now": clock.now_ms()}
        )
        if written:
            await self._store.delete(written)
        return "failed"

    async def _discard_if_deleted(self, post_id: str, written: list[str]) -> None:
        rows = await self._graph.read(stmts.POST_MEDIA, {"post_id": post_id})
        if rows and rows[0]["status"] == DELETED:
            await self._store.delete(written)

    async def delete_post_media(self, post_id: str) -> int:
        """On ``post.deleted``: delete the originals and variants of a DELETED post (idempotent: absent
        objects are fine). Returns the number of keys deleted; 0 when the post is gone or not deleted."""
        rows = await self._graph.read(stmts.POST_MEDIA, {"post_id": post_id})
        if not rows or rows[0]["status"] != DELETED:
            return 0
        keys: list[str] = []
        for media in rows[0]["media"]:
            keys.append(media["key"])
            keys.extend(variant_key(post_id, media["id"], size) for size in SIZES)
        await self._store.delete(keys)
        return len(keys)

    async def sweep(self, now_ms: int | None = None) -> SweepResult:
        """Move stuck posts on (one batch each):

        - PENDING_UPLOAD for more than 20 min with every original present: to PROCESSING with
          ``media.uploaded``, as ``completePostUpload`` would (the client died after uploading);
        - PENDING_UPLOAD for more than 1 h without all originals: FAILED, "upload not received";
        - PROCESSING for more than 15 min (event lost or dead-lettered): processed inline.

        Raises ``StoreUnavailable`` / ``GraphError`` / ``Unavailable`` on outages (retried next tick).
        """
        now = clock.now_ms() if now_ms is None else now_ms
        completed = failed = reprocessed = 0
        pending = await self._graph.read(
            stmts.STALE_POSTS,
            {"status": PENDING_UPLOAD, "before": now - PENDING_GRACE_MS, "limit": SWEEP_BATCH},
        )
        views = await self._reader.views([r["id"] for r in pending], None)
        for row, view in zip(pending, views, strict=True):
            if view is None or view.record.status != PENDING_UPLOAD:
                continue
            problem = await self._posts.check_uploads(view.record.media)
            if problem is None:
                completed += await self._posts.mark_processing(
                    row["author_id"], row["id"], view.record.media, now_ms=now
                )
            elif now - int(row["created_at"]) >= UPLOAD_DEADLINE_MS:
                rows = await self._graph.write(
                    stmts.MARK_FAILED,
                    {
                        "post_id": row["id"],
                        "from": [PENDING_UPLOAD],
                        "reason": "upload not received",
                        "now": now,
                    },
                )
                failed += len(rows)
        stuck = await self._graph.read(
            stmts.STALE_POSTS,
            {"status": PROCESSING, "before": now - PROCESSING_STALE_MS, "limit": SWEEP_BATCH},
        )
        for row in stuck:
            reprocessed += await self.process_post(row["id"]) != "skipped"
        return SweepResult(completed, failed, reprocessed)


async def open_variants_to_public(store: ObjectStore) -> bool:
    """Let anyone GET objects under ``variants/`` (the bucket policy; originals stay private). Run at
    start-up; returns False (and logs) when S3 is down or refuses, so a process still starts. Idempotent."""
    try:
        await store.allow_public_read(VARIANTS_PREFIX)
    except StoreUnavailable as exc:
        log.warning("media.bucket_policy_failed", error=repr(exc))
        return False
    return True
