"""Like counters in Redis: ``like_ct:{post}`` = ``"count:version"`` strings, and the ``like_dirty`` write-back set.

A counter caches the number of ``LIKED`` edges of a post AT a version: ``Post.like_version`` in the graph is
bumped by the same statement that makes or removes a like (``graph.statements.engagement``), so a counter
``"12:57"`` means "12 likes after the 57th change". That makes every update decidable without locks:

- a change (``ADD_LUA``, version ``v`` after it) applies only to a counter at ``v - 1``; a counter already at
  ``>= v`` counted it (the recount that installed it saw the edge) and is left alone; a counter further behind
  missed a change (lost in an outage, or changes arriving out of order) and is deleted, so the next read
  recounts. A change that finds no counter leaves a tombstone ``"?:v"`` (same TTL);
- an install after a recount at version ``V`` (``INSTALL_LUA``) is refused when Redis already holds a
  counter or a tombstone at a version above ``V``: a like committed while the recount ran can no longer be
  overwritten by the older value (a recount racing a like used to leave Redis one short for an hour).
  The recount reads the count and the version in one statement: one snapshot on FalkorDB; on Neo4j (read
  committed) they may straddle a concurrent like, which the TTL and the next write-back's recount heal.

Counters carry a TTL (``ttl_s``): whatever still drifts heals when the key expires and is recounted. Counter
keys live on the cache Redis (evictable: an evicted counter is only recounted); the ``like_dirty`` set of posts
whose graph copy must be written back lives on the STATE Redis (``state``): eviction must not lose it.

Every method raises ``CacheUnavailable`` when the Redis it needs is down.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache.client import mget
from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys

_PARSE = """
local function parse(raw)
  if not raw then return nil, nil end
  local n, v = string.match(raw, '^(%-?%d+):(%d+)$')
  if n then return tonumber(n), tonumber(v) end
  local t = string.match(raw, '^%?:(%d+)$')
  if t then return nil, tonumber(t) end
  return nil, nil
end
"""

# A plain counter kept only while it exists (shared with cache.stories' view counts): KEYS[1] = counter;
# ARGV[1] = delta. A negative result (drift) deletes it so that the next read recounts. Returns the new
# value or nil.
ADD_IF_PRESENT_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value < 0 then
  redis.call('DEL', KEYS[1])
  return false
end
return value
"""

# KEYS[1] = counter; ARGV = delta, version after the change, ttl s. Returns the new count or nil.
ADD_LUA = _PARSE + """
local n, v = parse(redis.call('GET', KEYS[1]))
local nv = tonumber(ARGV[2])
if v == nil then
  redis.call('SET', KEYS[1], '?:' .. nv, 'EX', tonumber(ARGV[3]))
  return false
end
if nv <= v then return n or false end
if n == nil then
  redis.call('SET', KEYS[1], '?:' .. nv, 'KEEPTTL')
  return false
end
if nv ~= v + 1 then
  redis.call('DEL', KEYS[1])
  return false
end
n = n + tonumber(ARGV[1])
if n < 0 then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('SET', KEYS[1], n .. ':' .. nv, 'KEEPTTL')
return n
"""

# KEYS[1] = counter; ARGV = recounted count, version of the recount, ttl s. Returns the count now held, or
# nil when refused (Redis holds a newer version: the recount is already stale).
INSTALL_LUA = _PARSE + """
local n, v = parse(redis.call('GET', KEYS[1]))
local iv = tonumber(ARGV[2])
if v ~= nil and v > iv then return false end
if v ~= nil and v == iv and n ~= nil then return n end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', tonumber(ARGV[3]))
return tonumber(ARGV[1])
"""

DEFAULT_TTL_S = 3600  # s: bounds how long a drifted counter can live (see module docstring)


@dataclass(frozen=True, slots=True)
class Counted:
    """A cached counter: ``likes`` at ``version`` (the graph's ``Post.like_version``)."""

    likes: int
    version: int


def _parse(raw: bytes | str | None) -> Counted | None:
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    count, _, version = text.partition(":")
    if count == "?" or not version.isdigit():
        return None
    try:
        return Counted(int(count), int(version))
    except ValueError:
        return None


class LikeCountCache:
    """The like counters of one deployment: counters on ``redis`` (cache role), the write-back set on
    ``state`` (the state role; defaults to ``redis`` for a single-Redis set-up)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: RedisKeys,
        *,
        state: aioredis.Redis | None = None,
        ttl_s: int = DEFAULT_TTL_S,
    ) -> None:
        self._redis = redis
        self._state = state if state is not None else redis
        self._keys = keys
        self._ttl_s = ttl_s
        self._add = redis.register_script(ADD_LUA)
        self._install = redis.register_script(INSTALL_LUA)

    async def get_many(self, post_ids: list[str]) -> list[Counted | None]:
        """Counters of ``post_ids`` in order (``None`` where absent or a tombstone), ONE round trip (``MGET``;
        per slot on a cluster)."""
        if not post_ids:
            return []
        values = await redis_call(mget(self._redis, [self._keys.like_count(p) for p in post_ids]))
        return [_parse(v) for v in values]

    async def install(self, counts: dict[str, Counted]) -> dict[str, int | None]:
        """Install recounted values (one pipelined round trip of ``INSTALL_LUA``).

        Returns post id -> the count now held, or ``None`` where Redis holds a newer version (refused).
        """
        if not counts:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for post_id, counted in counts.items():
            await self._install(
                keys=[self._keys.like_count(post_id)], args=[counted.likes, counted.version, self._ttl_s], client=pipe
            )
        held = await redis_call(pipe.execute())
        return {post_id: None if h is None else int(h) for post_id, h in zip(counts, held, strict=True)}

    async def add(self, post_id: str, delta: int, version: int) -> int | None:
        """Apply a change (``delta`` ``+1``/``-1``, the post's ``version`` after it) and mark the post dirty
        for write-back; both Redis roles are written concurrently.

        Returns the new count, or ``None`` when there is no current counter (absent, tombstone, or dropped
        because a change was missing).
        """
        pipe = self._redis.pipeline(transaction=False)
        await self._add(keys=[self._keys.like_count(post_id)], args=[delta, version, self._ttl_s], client=pipe)
        (value,), _ = await asyncio.gather(
            redis_call(pipe.execute()), redis_call(self._state.sadd(self._keys.like_count_dirty(), post_id))
        )
        return None if value is None else int(value)

    async def forget(self, post_ids: list[str]) -> None:
        """Delete the counters of ``post_ids`` (the next read recounts them from the graph)."""
        if not post_ids:
            return
        await redis_call(self._redis.unlink(*[self._keys.like_count(p) for p in post_ids]))

    async def pop_dirty(self, batch: int) -> list[str]:
        """Remove and return up to ``batch`` post ids whose counters changed since the last write-back."""
        popped = await redis_call(self._state.spop(self._keys.like_count_dirty(), batch))
        return [p.decode() if isinstance(p, bytes) else str(p) for p in popped or []]

    async def mark_dirty(self, post_ids: list[str]) -> None:
        """Put ``post_ids`` into the write-back set (after a failed write-back, or a recount that found the
        graph copy stale)."""
        if not post_ids:
            return
        await redis_call(self._state.sadd(self._keys.like_count_dirty(), *post_ids))
