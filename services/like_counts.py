"""Like counts: Redis counters in front of the graph's ``LIKED`` edges.

- Reads (:meth:`LikeCountService.counts`): one ``MGET`` for a page of posts; counters that are absent (evicted,
  expired, never read) are recounted from the graph in one statement and installed with ``SET NX``, so
  concurrent readers agree. With Redis down the caller gets ``None`` and serves the graph's ``like_count``.
- Changes (:meth:`LikeCountService.changed`): ``+1``/``-1`` only when a like statement reports that the edge
  really changed; an absent counter stays absent (recounted at the next read), so it never restarts at 0.
  A change made while Redis is down is remembered in the process (up to ``LOST_MAX`` posts) and replayed as
  an invalidation (counter deleted, post marked dirty) by the next Redis call that succeeds, so the count is
  recounted from the edges instead of staying one off.
- Write-back (:meth:`LikeCountService.write_back`, run every few seconds by ``workers/counters.py``): the posts
  whose counters changed are popped from the ``like_dirty`` set and their counters copied into
  ``Post.like_count`` (a post whose counter vanished meanwhile is recounted from its edges), so the graph
  copy trails Redis by at most one interval and stays correct when Redis is lost.

Source: ``seeds/instagram-system-design.txt`` §9 ("Atomic INCR in Redis: like_ct:{post_id}; write-back to
posts.like_count every 30 seconds async"). Unlike the write-up's "No TTL", counters here expire (1 h, see
``cache/like_counts``) and are recounted from the edges on a miss, so a lost increment cannot live forever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from cache.errors import CacheUnavailable
from graph.errors import GraphError
from graph.statements.engagement import LIKE_COUNTS, WRITE_BACK_LIKE_COUNTS

if TYPE_CHECKING:
    from cache.like_counts import LikeCountCache
    from graph.store import GraphStore

log = structlog.get_logger(__name__)

WRITE_BACK_BATCH = 1_000  # posts per write-back statement
WRITE_BACK_MAX_BATCHES = 20  # per step: bounds one step at 20,000 posts, the rest waits for the next tick
LOST_MAX = 10_000  # posts whose change was lost in a Redis outage, remembered for invalidation


class LikeCountService:
    """Like counts of posts: ``cache`` holds the counters, ``graph`` the edges and the written-back copy."""

    def __init__(self, graph: GraphStore, cache: LikeCountCache) -> None:
        self._graph = graph
        self._cache = cache
        self._lost: set[str] = set()

    async def counts(self, post_ids: list[str]) -> list[int | None]:
        """Like counts of ``post_ids`` in order; ``None`` where unknown (Redis down, or the post is absent).

        Round trips: one ``MGET`` when every counter is cached; otherwise also one graph read and one
        pipelined ``SET NX`` for the missing ones. Never raises for a store outage: the counts it cannot
        tell are ``None`` (the caller falls back to ``Post.like_count``).
        """
        try:
            await self._invalidate_lost()
            cached = await self._cache.get_many(post_ids)
        except CacheUnavailable:
            log.warning("like_counts.redis_unavailable", posts=len(post_ids))
            return [None] * len(post_ids)
        missing = sorted({p for p, v in zip(post_ids, cached, strict=True) if v is None})
        if not missing:
            return cached
        try:
            rows = await self._graph.read(LIKE_COUNTS, {"ids": missing})
        except GraphError as exc:
            log.warning("like_counts.recount_failed", posts=len(missing), error=str(exc))
            return cached
        recounted = {row["post_id"]: int(row["likes"]) for row in rows}
        try:
            held = await self._cache.install(recounted)
        except CacheUnavailable:
            held = recounted
        return [v if v is not None else held.get(p) for p, v in zip(post_ids, cached, strict=True)]

    async def changed(self, post_id: str, delta: int) -> None:
        """Apply a like (``+1``) or unlike (``-1``) that the graph really made. Never raises for Redis:
        a change lost in an outage is invalidated later (see the module docstring)."""
        try:
            await self._invalidate_lost()
            await self._cache.add(post_id, delta)
        except CacheUnavailable:
            log.warning("like_counts.change_lost", post_id=post_id, delta=delta)
            if len(self._lost) < LOST_MAX:
                self._lost.add(post_id)

    async def _invalidate_lost(self) -> None:
        if not self._lost:
            return
        lost = list(self._lost)
        await self._cache.forget(lost)
        await self._cache.mark_dirty(lost)
        self._lost.difference_update(lost)

    async def forget(self, post_ids: list[str]) -> None:
        """Drop the counters of ``post_ids`` (after a bulk import changed edges); Redis down is ignored."""
        try:
            await self._cache.forget(post_ids)
        except CacheUnavailable:
            log.warning("like_counts.forget_failed", posts=len(post_ids))

    async def write_back(self) -> int:
        """Copy changed counters into ``Post.like_count``; returns how many posts were written.

        Up to ``WRITE_BACK_MAX_BATCHES`` batches of ``WRITE_BACK_BATCH`` posts. Returns 0 when Redis is down.
        Raises ``GraphError`` when the graph write fails; that batch is marked dirty again first.
        """
        written = 0
        for _ in range(WRITE_BACK_MAX_BATCHES):
            try:
                post_ids = await self._cache.pop_dirty(WRITE_BACK_BATCH)
                if not post_ids:
                    break
                values = await self._cache.get_many(post_ids)
            except CacheUnavailable:
                log.warning("like_counts.write_back_redis_unavailable")
                break
            rows = [{"id": p, "likes": v} for p, v in zip(post_ids, values, strict=True)]
            try:
                await self._graph.write(WRITE_BACK_LIKE_COUNTS, {"rows": rows})
            except GraphError:
                await self._requeue(post_ids)
                raise
            written += len(rows)
            if len(post_ids) < WRITE_BACK_BATCH:
                break
        return written

    async def _requeue(self, post_ids: list[str]) -> None:
        try:
            await self._cache.mark_dirty(post_ids)
        except CacheUnavailable:
            log.warning("like_counts.requeue_failed", posts=len(post_ids))
