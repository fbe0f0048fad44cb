"""Like counts: Redis counters in front of the graph's ``LIKED`` edges.

- Reads (:meth:`LikeCountService.counts`): one ``MGET`` for a page of posts; counters that are absent (evicted,
  expired, never read) are read from the graph in one statement that touches no like edge (``Post.like_total``,
  kept exact by the like statements, with the post's like version), and
  installed only if Redis holds no newer version (``cache.like_counts``), so a like committed while the
  recount ran is never overwritten by the older count. A recount that finds the graph copy
  (``Post.like_count``) stale marks the post for write-back. With Redis down the caller gets ``None`` and
  serves the graph's ``like_count``.
- Changes (:meth:`LikeCountService.changed`): ``+1``/``-1`` with the post's like version after it, only when a
  like statement reports that the edge really changed; a counter applies it only when it is exactly one
  version behind (else it is dropped and recounted). A change made while Redis is down is remembered in the
  process (up to ``LOST_MAX`` posts) and replayed as an invalidation (counter deleted, post marked dirty) by
  the next Redis call that succeeds.
- Write-back (:meth:`LikeCountService.write_back`, every 30 s by ``workers/counters.py``): the posts whose
  counters changed are popped from the ``like_dirty`` set (state Redis) and their counters copied into
  ``Post.like_count`` by a statement that reads no like edge; only posts whose counter was absent or not at
  the post's current like version are recounted from their edges (a second statement), and that recount is
  installed into Redis too, so after a write-back both copies are right.

Source: ``seeds/instagram-system-design.txt`` §9 ("Atomic INCR in Redis: like_ct:{post_id}; write-back to
posts.like_count every 30 seconds async"). Unlike the write-up's "No TTL", counters here expire (1 h, see
``cache/like_counts``) and are recounted from the edges on a miss, so a lost increment cannot live forever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from cache.errors import CacheUnavailable
from cache.like_counts import Counted
from graph.errors import GraphError
from graph.statements.engagement import LIKE_COUNTS, RECOUNT_LIKE_COUNTS, WRITE_BACK_LIKE_COUNTS

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
        pipelined install for the missing ones. Never raises for a store outage: the counts it cannot
        tell are ``None`` (the caller falls back to ``Post.like_count``).
        """
        try:
            await self._invalidate_lost()
            cached = await self._cache.get_many(post_ids)
        except CacheUnavailable:
            log.warning("like_counts.redis_unavailable", posts=len(post_ids))
            return [None] * len(post_ids)
        missing = sorted({p for p, c in zip(post_ids, cached, strict=True) if c is None})
        known = {p: c.likes for p, c in zip(post_ids, cached, strict=True) if c is not None}
        if missing:
            known.update(await self._recount(missing))
        return [known.get(p) for p in post_ids]

    async def _recount(self, post_ids: list[str]) -> dict[str, int]:
        try:
            rows = await self._graph.read(LIKE_COUNTS, {"ids": post_ids})
        except GraphError as exc:
            log.warning("like_counts.recount_failed", posts=len(post_ids), error=str(exc))
            return {}
        recounted = {row["post_id"]: Counted(int(row["likes"]), int(row["version"])) for row in rows}
        stale = [row["post_id"] for row in rows if int(row["stored"]) != int(row["likes"])]
        try:
            await self._cache.install(recounted)
            await self._cache.mark_dirty(stale)
        except CacheUnavailable:
            log.warning("like_counts.install_unavailable", posts=len(recounted))
        return {p: c.likes for p, c in recounted.items()}  # exact at its version, installed or not

    async def changed(self, post_id: str, delta: int, version: int) -> None:
        """Apply a like (``+1``) or unlike (``-1``) that the graph really made; ``version`` is the post's like
        version after it. Never raises for Redis: a change lost in an outage is invalidated later (see the
        module docstring)."""
        try:
            await self._invalidate_lost()
            await self._cache.add(post_id, delta, version)
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

        Per batch of up to ``WRITE_BACK_BATCH`` posts: one statement copies the counters that are at the
        post's current like version (no like edge read); only the others are recounted from their edges (a
        second statement) and the recount installed into Redis. Up to ``WRITE_BACK_MAX_BATCHES`` batches;
        returns 0 when Redis is down. Raises ``GraphError`` when a graph write fails; that batch is marked
        dirty again first.
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
            rows = [
                {"id": p, "likes": v.likes if v else None, "version": v.version if v else None}
                for p, v in zip(post_ids, values, strict=True)
            ]
            try:
                done = {r["id"] for r in await self._graph.write(WRITE_BACK_LIKE_COUNTS, {"rows": rows})}
                behind = [p for p in post_ids if p not in done]
                recounted = await self._graph.write(RECOUNT_LIKE_COUNTS, {"ids": behind}) if behind else []
            except GraphError:
                await self._requeue(post_ids)
                raise
            await self._install_recount(recounted)
            written += len(done) + len(recounted)
            if len(post_ids) < WRITE_BACK_BATCH:
                break
        return written

    async def _install_recount(self, rows: list[dict[str, object]]) -> None:
        counts = {str(r["post_id"]): Counted(int(str(r["likes"])), int(str(r["version"]))) for r in rows}
        try:
            await self._cache.install(counts)
        except CacheUnavailable:
            log.warning("like_counts.install_unavailable", posts=len(counts))

    async def _requeue(self, post_ids: list[str]) -> None:
        try:
            await self._cache.mark_dirty(post_ids)
        except CacheUnavailable:
            log.warning("like_counts.requeue_failed", posts=len(post_ids))
