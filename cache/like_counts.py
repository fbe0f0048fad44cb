"""Like counters in Redis: ``like_ct:{post}`` strings and the ``like_dirty`` set of posts to write back.

A counter is a cache of the number of ``LIKED`` edges of a post. It is only ever changed relatively
(``INCRBY``) while it exists: :meth:`LikeCountCache.add` leaves an absent key absent, so an evicted or expired
counter is never restarted from zero; the next read recomputes it from the graph and installs it with
``SET NX`` (:meth:`LikeCountCache.install`), so concurrent recomputations agree on one value. Counters carry
a TTL (``ttl_s``, refreshed on install only): any drift (an increment lost while Redis was down, a like
committed between a recount and its install) heals when the key expires and is recounted.

Every method raises ``CacheUnavailable`` when Redis is down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys

# KEYS[1] = counter; ARGV[1] = delta. Changes an existing counter only; a negative result (impossible unless
# the counter drifted) deletes it so that the next read recounts. Returns the new value or nil.
ADD_IF_PRESENT_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value < 0 then
  redis.call('DEL', KEYS[1])
  return false
end
return value
"""

DEFAULT_TTL_S = 3600  # s: bounds how long a drifted counter can live (see module docstring)


class LikeCountCache:
    """The like counters of one deployment (``keys`` carries its prefix)."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, *, ttl_s: int = DEFAULT_TTL_S) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_s = ttl_s
        self._add = redis.register_script(ADD_IF_PRESENT_LUA)

    async def get_many(self, post_ids: list[str]) -> list[int | None]:
        """Counters of ``post_ids`` in order (``None`` where absent), in ONE round trip (``MGET``)."""
        if not post_ids:
            return []
        values = await redis_call(self._redis.mget([self._keys.like_count(p) for p in post_ids]))
        return [None if v is None else int(v) for v in values]

    async def install(self, counts: dict[str, int]) -> dict[str, int]:
        """Install recounted values with ``SET NX GET EX ttl`` (one pipelined round trip).

        Returns post id -> the value now held: ours, or the one a concurrent reader installed first.
        """
        if not counts:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for post_id, likes in counts.items():
            pipe.set(self._keys.like_count(post_id), likes, nx=True, get=True, ex=self._ttl_s)
        previous = await redis_call(pipe.execute())
        return {
            post_id: likes if old is None else int(old)
            for (post_id, likes), old in zip(counts.items(), previous, strict=True)
        }

    async def add(self, post_id: str, delta: int) -> int | None:
        """Add ``delta`` to an existing counter and mark the post dirty for write-back (one round trip).

        Returns the new value, or ``None`` when the counter is absent (it is then left absent).
        """
        pipe = self._redis.pipeline(transaction=False)
        await self._add(keys=[self._keys.like_count(post_id)], args=[delta], client=pipe)
        pipe.sadd(self._keys.like_count_dirty(), post_id)
        value, _ = await redis_call(pipe.execute())
        return None if value is None else int(value)

    async def forget(self, post_ids: list[str]) -> None:
        """Delete the counters of ``post_ids`` (the next read recounts them from the graph)."""
        if not post_ids:
            return
        await redis_call(self._redis.unlink(*[self._keys.like_count(p) for p in post_ids]))

    async def pop_dirty(self, batch: int) -> list[str]:
        """Remove and return up to ``batch`` post ids whose counters changed since the last write-back."""
        popped = await redis_call(self._redis.spop(self._keys.like_count_dirty(), batch))
        return [p.decode() if isinstance(p, bytes) else str(p) for p in popped or []]

    async def mark_dirty(self, post_ids: list[str]) -> None:
        """Put ``post_ids`` back into the write-back set (after a failed write-back)."""
        if not post_ids:
            return
        await redis_call(self._redis.sadd(self._keys.like_count_dirty(), *post_ids))
