"""Trending-hashtag counters in Redis: time-bucketed sorted sets summed over true sliding windows.

Each window has a bucket size and spans its ``buckets`` most recent buckets, the current one included
(``WINDOWS``): HOUR = 12 x 5 min, DAY = 24 x 1 h, WEEK = 28 x 6 h. The window slides one bucket at a time and
never resets; its trailing edge is exact to one bucket. Per window granularity and bucket:

- ``trend_authors(w, b, tag)``: ZSET author -> live posts with ``tag`` published in bucket ``b``;
- ``trend_bucket(w, b)``: ZSET tag -> distinct authors in bucket ``b`` (a tag's candidate score).

A window's count of a tag is the number of DISTINCT authors over its buckets: ``ZUNIONSTORE`` of the tag's
author sets, whose reply is the union's size, so one author using a tag 50 times in a window counts once
(sets rather than HyperLogLogs, because deleting a post must be able to take its use back out). Ranking reads
the summed bucket scores (``ZUNIONSTORE`` of ``trend_bucket``, an upper bound) for the top candidates, then
counts each candidate exactly, in the current window and in the previous one (the ``delta``).

Each post is counted at most once and removed at most once: ``trend_post(post)`` records what it added
(``SET NX`` in the same script), and removal takes exactly that back out. Keys expire when no window can reach
them any more (their bucket's end plus two windows, for the previous window of the delta).
Every key carries the ``{trend}`` hash tag (one Redis Cluster slot). Source of the pattern: seed "Search &
Discovery" (bucketed ZSETs, ZINCRBY, expiry) and DESIGN.md "Search".

Every method raises ``CacheUnavailable`` when Redis is down.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class Window:
    """A trending window: key ``name``, ``bucket_ms`` per bucket, ``buckets`` in the window."""

    name: str
    bucket_ms: int
    buckets: int

    @property
    def span_ms(self) -> int:
        """The window's length in ms."""
        return self.bucket_ms * self.buckets

    def current(self, now_ms: int) -> list[int]:
        """Bucket numbers of the window ending at ``now_ms``, newest first."""
        last = now_ms // self.bucket_ms
        return [last - i for i in range(self.buckets)]

    def previous(self, now_ms: int) -> list[int]:
        """Bucket numbers of the window before it, newest first."""
        last = now_ms // self.bucket_ms - self.buckets
        return [last - i for i in range(self.buckets)]

    def expires_at(self, bucket: int) -> int:
        """Epoch ms after which no current or previous window reaches ``bucket``."""
        return (bucket + 2 * self.buckets + 1) * self.bucket_ms


WINDOWS: dict[str, Window] = {
    "HOUR": Window("hour", 5 * MINUTE_MS, 12),
    "DAY": Window("day", 60 * MINUTE_MS, 24),
    "WEEK": Window("week", 360 * MINUTE_MS, 28),
}

# KEYS[1] = the post's marker, then (bucket, authors) key pairs. ARGV[1] = author, ARGV[2] = marker value,
# ARGV[3] = marker expiry (epoch ms), ARGV[4] = pairs, then (tag, expiry epoch ms) per pair. 0: counted before.
ADD_LUA = """
if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PXAT', ARGV[3]) then return 0 end
for i = 1, tonumber(ARGV[4]) do
  local bucket, authors = KEYS[2 * i], KEYS[2 * i + 1]
  local tag, expiry = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  if tonumber(redis.call('ZINCRBY', authors, 1, ARGV[1])) == 1 then
    redis.call('ZINCRBY', bucket, 1, tag)
  end
  redis.call('PEXPIREAT', authors, expiry)
  redis.call('PEXPIREAT', bucket, expiry)
end
return 1
"""

# KEYS as ADD_LUA; ARGV[1] = author, ARGV[2] = pairs, then the tag per pair. 0: nothing was counted.
REMOVE_LUA = """
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
for i = 1, tonumber(ARGV[2]) do
  local bucket, authors, tag = KEYS[2 * i], KEYS[2 * i + 1], ARGV[2 + i]
  if tonumber(redis.call('ZINCRBY', authors, -1, ARGV[1])) <= 0 then
    redis.call('ZREM', authors, ARGV[1])
    if tonumber(redis.call('ZINCRBY', bucket, -1, tag)) <= 0 then redis.call('ZREM', bucket, tag) end
  end
end
return 1
"""


@dataclass(frozen=True, slots=True)
class TrendCount:
    """A tag's distinct authors in the window (``count``) and in the window before (``previous``)."""

    name: str
    count: int
    previous: int

    @property
    def delta(self) -> int:
        """``count - previous``."""
        return self.count - self.previous


class TrendCounters:
    """The trend counters of one deployment (``keys`` carries its prefix)."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self._redis, self._keys = redis, keys
        self._add = redis.register_script(ADD_LUA)
        self._remove = redis.register_script(REMOVE_LUA)

    def _pairs(self, at_ms: int, tags: tuple[str, ...]) -> list[tuple[str, str, str, int]]:
        """(bucket key, authors key, tag, expiry) for every window and tag of a use at ``at_ms``."""
        pairs = []
        for window in WINDOWS.values():
            bucket = at_ms // window.bucket_ms
            bucket_key, expiry = self._keys.trend_bucket(window.name, bucket), window.expires_at(bucket)
            for tag in tags:
                pairs.append((bucket_key, self._keys.trend_authors(window.name, bucket, tag), tag, expiry))
        return pairs

    async def add_use(self, post_id: str, author_id: str, at_ms: int, tags: tuple[str, ...]) -> bool:
        """Count ``post_id``'s ``tags`` by ``author_id`` at ``at_ms`` (its publication); False when it was
        counted before (a redelivered event) or has no tag. One script, atomic."""
        if not tags:
            return False
        pairs = self._pairs(at_ms, tags)
        marker = json.dumps({"author": author_id, "at": at_ms, "tags": list(tags)})
        keys = [self._keys.trend_post(post_id), *(k for p in pairs for k in p[:2])]
        args: list[Any] = [author_id, marker, max(p[3] for p in pairs), len(pairs)]
        args += [v for p in pairs for v in (p[2], p[3])]
        return bool(await redis_call(self._add(keys=keys, args=args)))

    async def remove_use(self, post_id: str) -> bool:
        """Take back what ``add_use`` counted for ``post_id`` (a deleted post); False when nothing was."""
        raw = await redis_call(self._redis.get(self._keys.trend_post(post_id)))
        if raw is None:
            return False
        marker = json.loads(raw)
        pairs = self._pairs(int(marker["at"]), tuple(marker["tags"]))
        keys = [self._keys.trend_post(post_id), *(k for p in pairs for k in p[:2])]
        args: list[Any] = [marker["author"], len(pairs), *(p[2] for p in pairs)]
        return bool(await redis_call(self._remove(keys=keys, args=args)))

    async def top(self, window: Window, now_ms: int, limit: int, *, candidates: int | None = None) -> list[TrendCount]:
        """The ``limit`` tags with the most distinct authors in ``window`` ending at ``now_ms``, most first
        (ties by name), each with its count in the previous window. Two transactions: the candidates (the
        ``max(3 * limit, 30)`` best summed bucket scores, or ``candidates``), then their exact counts."""
        want = candidates if candidates is not None else max(3 * limit, 30)
        current, previous = window.current(now_ms), window.previous(now_ms)
        scratch = self._keys.trend_scratch(secrets.token_hex(8))
        pipe = self._redis.pipeline(transaction=True)
        pipe.zunionstore(scratch, [self._keys.trend_bucket(window.name, b) for b in current])
        pipe.zrevrange(scratch, 0, want - 1)
        pipe.delete(scratch)
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in (await redis_call(pipe.execute()))[1]]
        if not names:
            return []
        pipe = self._redis.pipeline(transaction=True)
        for name in names:
            for buckets in (current, previous):
                pipe.zunionstore(scratch, [self._keys.trend_authors(window.name, b, name) for b in buckets])
        pipe.delete(scratch)
        sizes = await redis_call(pipe.execute())
        counts = [TrendCount(name, int(sizes[2 * i]), int(sizes[2 * i + 1])) for i, name in enumerate(names)]
        ranked = sorted((c for c in counts if c.count > 0), key=lambda c: (-c.count, c.name))
        return ranked[:limit]
