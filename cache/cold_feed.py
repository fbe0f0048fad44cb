"""Cold-start ranking snapshots: ``coldfeed:{uid}:{snapshot}`` lists of one viewer's ranked popular posts.

A viewer who follows nobody gets recent posts ranked by like count (``services.feed_cold_start``). Like counts
change with every write-back, so paging the live ranking by a keyset on ``like_count`` repeats and skips
posts; instead the first page stores the whole ranking (at most a few hundred entries) as a LIST with a short
TTL and every later page of that session reads its slice by position. Entries are ``"post_id author_id
score"`` strings (ids never contain spaces). Every method raises ``CacheUnavailable`` when Redis is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache.errors import redis_call

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.asyncio import Redis

    from cache.keys import RedisKeys

DEFAULT_TTL_S = 1_800  # s: a browsing session; an expired snapshot is ranked again from the graph


@dataclass(frozen=True, slots=True)
class RankedPost:
    """One entry of a ranking: ``post_id``, ``author_id``, ``score`` (publish time, epoch ms)."""

    post_id: str
    author_id: str
    score: int


class ColdFeedCache:
    """Snapshots of cold-start rankings on the cache Redis (``ttl_s`` seconds each)."""

    def __init__(self, redis: Redis, keys: RedisKeys, *, ttl_s: int = DEFAULT_TTL_S) -> None:
        self.redis, self.keys, self.ttl_s = redis, keys, ttl_s

    async def store(self, user_id: str, snapshot: str, ranking: Sequence[RankedPost]) -> None:
        """Store ``ranking`` (best first) as snapshot ``snapshot`` of ``user_id`` (one pipelined round trip)."""
        key = self.keys.cold_feed(user_id, snapshot)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        if ranking:
            pipe.rpush(key, *[f"{r.post_id} {r.author_id} {r.score}" for r in ranking])
            pipe.expire(key, self.ttl_s)
        await redis_call(pipe.execute())

    async def slice(self, user_id: str, snapshot: str, start: int, count: int) -> list[RankedPost] | None:
        """Entries ``start .. start + count - 1`` of the snapshot (fewer at its end); ``None`` when the
        snapshot is gone (expired, evicted, never stored)."""
        key = self.keys.cold_feed(user_id, snapshot)
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(key)
        pipe.lrange(key, start, start + count - 1)
        exists, rows = await redis_call(pipe.execute())
        if not exists:
            return None
        entries: list[RankedPost] = []
        for raw in rows:
            post_id, author_id, score = raw.decode().split(" ")
            entries.append(RankedPost(post_id, author_id, int(score)))
        return entries
