"""Story expiry on three layers, and the deletion of expired stories' media.

After the seed's "Stories & Expiry" pipeline, with its "what if the Kafka consumer is down when the TTL
fires?" answered by a reconciliation sweep:

1. Read time: every read compares ``expires_at`` with now (``services.story_reads``), so nothing below has
   to be on time for an expired story to stop being served.
2. The schedule: ``announce_due`` (the stories sweeper, every ``story_expiry_poll_interval`` s) reads the
   stories whose time came from the Redis schedule (``story_due:{n}``, mirroring the ``stories:{uid}``
   scores), records one ``story.expired`` per story through the outbox (a story is announced once:
   ``expiry_announced_at``) and takes them off the schedule. The relay publishes; the ``stories-expiry``
   consumer calls ``expire``.
3. The sweep: ``sweep`` (every ``story_sweep_interval`` s) finds in the GRAPH the ACTIVE stories past
   ``expires_at`` and expires them itself, deletes the media still waiting for deletion, and moves stuck
   uploads on; it needs neither Redis nor Kafka, so stories expire while the consumer or the broker is down.

``expire`` marks a due ACTIVE story EXPIRED (media KEPT when it is in a highlight, else PURGING), then
``purge`` deletes the objects of PURGING stories (original and variants; deleting twice is fine in S3) and
marks them PURGED, then the stories leave ``stories:{uid}`` and the schedule. Running it again on the same ids
changes nothing: a story is expired once, a PURGED story is not purged again. The statements lock the story
before deciding between KEPT and PURGING (``graph.statements.story_expiry``).

Errors: ``StoreUnavailable`` and ``GraphError`` propagate from ``expire``/``purge`` (the event is retried);
``sweep`` and ``announce_due`` log and skip what a store outage prevents (the next tick retries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from cache.errors import CacheUnavailable
from cache.stories import SHARDS
from events.envelope import Event
from graph.statements import stories as story_stmts
from graph.statements import story_expiry as stmts
from media.errors import ObjectMissing, StoreUnavailable
from services.story_media import SIZES, story_variant_key
from services.story_reads import PENDING_UPLOAD, PROCESSING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from cache.stories import StoryCache
    from graph.store import GraphStore
    from media.store import ObjectStore
    from services.core.clock import Clock
    from services.story_media import StoryMediaService

log = structlog.get_logger(__name__)

BATCH = 500  # stories per statement (and up to 2,000 keys per S3 DeleteObjects pass)
MAX_ROUNDS = 100  # batches per sweep or schedule read: bounds one step at 50,000 stories
PENDING_GRACE_MS = 20 * 60_000  # PENDING_UPLOAD this long with its photo in S3: completed for the client
UPLOAD_DEADLINE_MS = 60 * 60_000  # PENDING_UPLOAD this long without its photo: FAILED
PROCESSING_STALE_MS = 15 * 60_000  # PROCESSING this long: the event was lost or dead-lettered; redo it


@dataclass(slots=True)
class SweepResult:
    """What one sweep did: stories ``expired``, stories whose media were ``purged``, uploads ``completed``
    (to PROCESSING), ``failed`` and ``reprocessed``."""

    expired: int = 0
    purged: int = 0
    completed: int = 0
    failed: int = 0
    reprocessed: int = 0

    @property
    def total(self) -> int:
        """Stories changed by the sweep."""
        return self.expired + self.purged + self.completed + self.failed + self.reprocessed


def media_keys(story_id: str, media: Iterable[dict[str, str]]) -> list[str]:
    """Every S3 key of a story's media: each original and its three variants."""
    keys: list[str] = []
    for m in media:
        keys.append(m["key"])
        keys.extend(story_variant_key(story_id, m["id"], size) for size in SIZES)
    return keys


class StoryExpiryService:
    """Expiry and clean-up over ``graph``, ``store`` and ``cache``; ``media`` reprocesses stuck stories.
    ``poll_interval_s`` and ``sweep_interval_s`` (seconds) are how often the stories sweeper runs
    ``announce_due`` and ``sweep`` (``INSTAGRAPH_STORY_EXPIRY_POLL_INTERVAL``, ``INSTAGRAPH_STORY_SWEEP_INTERVAL``)."""

    def __init__(
        self,
        graph: GraphStore,
        store: ObjectStore,
        cache: StoryCache,
        clock: Clock,
        media: StoryMediaService,
        *,
        poll_interval_s: float = 5.0,
        sweep_interval_s: float = 300.0,
    ) -> None:
        self._graph, self._store, self._cache, self.clock, self._media = graph, store, cache, clock, media
        self.poll_interval_s, self.sweep_interval_s = poll_interval_s, sweep_interval_s

    # -- layer 2: the schedule ---------------------------------------------------------------------------

    async def announce_due(self, now_ms: int | None = None) -> int:
        """Record ``story.expired`` for every scheduled story whose time came (at most ``MAX_ROUNDS`` batches);
        returns how many were announced. Returns what it did so far when Redis goes down (logged)."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        announced = 0
        try:
            await self._cache.trim_authors(now)
        except CacheUnavailable as exc:
            log.warning("story_expiry.schedule_unavailable", error=str(exc))
            return 0
        for _ in range(MAX_ROUNDS):
            try:
                due = await self._cache.due(now, BATCH // SHARDS)
            except CacheUnavailable as exc:
                log.warning("story_expiry.schedule_unavailable", error=str(exc))
                break
            if not due:
                break
            rows = [{"id": sid, "outbox": _expired_event(sid).outbox_props()} for sid in due]
            done = await self._graph.write(stmts.ANNOUNCE_EXPIRED, {"rows": rows, "now": now})
            announced += len(done)
            try:
                await self._cache.unschedule(due)
            except CacheUnavailable as exc:  # announced stories are not announced twice (expiry_announced_at)
                log.warning("story_expiry.unschedule_failed", error=str(exc))
                break
        return announced

    # -- the consumer's use cases ------------------------------------------------------------------------

    async def expire(self, story_ids: Sequence[str], now_ms: int | None = None) -> tuple[int, int]:
        """Expire the due ACTIVE stories of ``story_ids``, delete the media of those not highlighted, take them
        off Redis. Returns ``(expired, purged)``; idempotent. Raises ``StoreUnavailable``, ``GraphError``."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        expired = await self._graph.write(stmts.EXPIRE_STORIES, {"ids": list(story_ids), "now": now})
        purged = await self.purge(story_ids, now_ms=now)
        await self._unlist([(r["author_id"], r["id"]) for r in expired])
        return len(expired), purged

    async def purge(self, story_ids: Sequence[str], now_ms: int | None = None) -> int:
        """Delete the S3 objects of the stories of ``story_ids`` whose media wait for it (PURGING) and mark
        them PURGED; returns how many. Stories in a highlight are never PURGING. Raises ``StoreUnavailable``,
        ``GraphError``."""
        if not story_ids:
            return 0
        now = self.clock.now_ms() if now_ms is None else now_ms
        targets = await self._graph.read(stmts.PURGE_TARGETS, {"ids": list(story_ids)})
        if not targets:
            return 0
        keys = [key for t in targets for key in media_keys(t["id"], t["media"])]
        await self._store.delete(keys)
        done = await self._graph.write(stmts.MARK_PURGED, {"ids": [t["id"] for t in targets], "now": now})
        await self._unlist([(t["author_id"], t["id"]) for t in targets])
        return len(done)

    async def relist(self, story_id: str) -> bool:
        """On ``story.published``: (re)add a still-live story to ``stories:{author}`` and the schedule
        (idempotent; what the media worker did unless Redis was down then). Raises ``CacheUnavailable``."""
        rows = await self._graph.read(story_stmts.STORY_FOR_SYSTEM, {"story_id": story_id})
        if not rows:
            return False
        story = rows[0]["story"]
        now = self.clock.now_ms()
        if story["status"] != "ACTIVE" or int(story["expires_at"]) <= now:
            return False
        await self._cache.add_live(rows[0]["author_id"], story_id, int(story["expires_at"]), now_ms=now)
        return True

    async def _unlist(self, pairs: list[tuple[str, str]]) -> None:
        if not pairs:
            return
        try:
            await self._cache.remove(pairs)
        except CacheUnavailable as exc:  # the live sets are read by score: a member past its time is never read
            log.warning("story_expiry.unlist_failed", stories=len(pairs), error=str(exc))

    # -- layer 3: the reconciliation sweep ---------------------------------------------------------------

    async def sweep(self, now_ms: int | None = None) -> SweepResult:
        """Expire every ACTIVE story past ``expires_at`` found in the graph, purge the media waiting for it,
        and move stuck uploads on (see the module docstring); at most ``MAX_ROUNDS`` batches of each. S3 being
        down leaves the media PURGING for the next sweep (logged). Raises ``GraphError``."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        result = SweepResult()
        for _ in range(MAX_ROUNDS):
            due = [r["id"] for r in await self._graph.read(stmts.DUE_STORIES, {"now": now, "limit": BATCH})]
            if not due:
                break
            expired = await self._graph.write(stmts.EXPIRE_STORIES, {"ids": due, "now": now})
            result.expired += len(expired)
            await self._unlist([(r["author_id"], r["id"]) for r in expired])
            if not expired:
                break
        await self._move_stuck(now, result)
        try:
            for _ in range(MAX_ROUNDS):
                pending = [r["id"] for r in await self._graph.read(stmts.PURGE_PENDING, {"limit": BATCH})]
                done = await self.purge(pending, now_ms=now) if pending else 0
                result.purged += done
                if done < BATCH:
                    break
        except StoreUnavailable as exc:
            log.warning("story_expiry.purge_unavailable", error=str(exc))
        return result

    async def _move_stuck(self, now: int, result: SweepResult) -> None:
        pending = await self._graph.read(
            stmts.STALE_STORIES, {"status": PENDING_UPLOAD, "before": now - PENDING_GRACE_MS, "limit": BATCH}
        )
        for row in pending:
            try:
                uploaded = await self._uploaded(row["id"])
            except StoreUnavailable as exc:
                log.warning("story_expiry.head_unavailable", error=str(exc))
                return
            if uploaded and now < int(row["expires_at"]):
                event = Event.new("media.story_uploaded", actor_id=row["author_id"], subject_id=row["id"],
                                  data={"story_id": row["id"], "author_id": row["author_id"]})  # fmt: skip
                moved = await self._graph.write(
                    story_stmts.MARK_STORY_PROCESSING,
                    {"author_id": row["author_id"], "story_id": row["id"], "now": now,
                     "outbox": event.outbox_props()},
                )  # fmt: skip
                result.completed += len(moved)
            elif now - int(row["created_at"]) >= UPLOAD_DEADLINE_MS or now >= int(row["expires_at"]):
                failed = await self._graph.write(
                    story_stmts.MARK_STORY_FAILED,
                    {"story_id": row["id"], "from": [PENDING_UPLOAD], "reason": "upload not received", "now": now},
                )
                result.failed += len(failed)
        stuck = await self._graph.read(
            stmts.STALE_STORIES, {"status": PROCESSING, "before": now - PROCESSING_STALE_MS, "limit": BATCH}
        )
        for row in stuck:
            result.reprocessed += await self._media.process_story(row["id"]) != "skipped"

    async def _uploaded(self, story_id: str) -> bool:
        rows = await self._graph.read(story_stmts.STORY_FOR_SYSTEM, {"story_id": story_id})
        media = rows[0]["media"] if rows else []
        if not media:
            return False
        try:
            head = await self._store.head(media[0]["key"])
        except ObjectMissing:
            return False
        return head.size <= int(media[0]["byte_size"]) and head.content_type == media[0]["content_type"]


def _expired_event(story_id: str) -> Event:
    return Event.new("story.expired", actor_id=None, subject_id=story_id, data={"story_id": story_id})
