"""The Redis side of stories: live-story sets, the expiry schedule, seen sets and view counters.

- ``stories:{uid}`` ZSET story_id -> expires_at (ms): the user's live stories, what the stories ring reads.
  Read with ``ZRANGEBYSCORE (now +inf``, so a member past its time is never returned even before it is
  removed; every add also trims the members already past (``ZREMRANGEBYSCORE -inf now``), and the key
  expires with its last story (``PEXPIREAT`` NX, then GT).
- ``story_authors:{n}`` ZSET user_id -> the latest ``expires_at`` of the user's live stories (``ZADD GT``),
  ``n`` in 0..``SHARDS``-1 by a hash of the user id: which users have live stories at all, so that the ring
  asks it for all followees with one ``ZMSCORE`` per shard and reads ``stories:{uid}`` of the few that do,
  instead of one ``ZRANGEBYSCORE`` per followee (1,046 commands for fb_107: 24 ms of redis-py work per page).
  Entries past their score are trimmed by the scheduled step; a stale one costs one empty read.
- ``story_due:{n}`` ZSET story_id -> expires_at (ms), ``n`` by a hash of the story id: the expiry schedule
  that the scheduled step reads with ``ZRANGEBYSCORE -inf now``. Both indexes are sharded so that Redis
  Cluster spreads them over slots; one pipeline reads every shard.
- ``story_seen:{viewer}`` SET of story ids the viewer has seen; its TTL is the story lifetime, refreshed on
  every add, so it outlives every story it names.
- ``story_views:{story}`` counter of distinct viewers (a cache of the story's VIEWED edges, changed only while
  it exists, installed from a recount with ``SET NX``) and ``story_views_dirty`` SET of stories to write back.

``round_trips`` counts the requests (a pipeline is one) for tests and benches. Every method raises
``CacheUnavailable`` when Redis is down (``cache.errors.redis_call``).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from cache.client import mget
from cache.errors import redis_call
from cache.like_counts import ADD_IF_PRESENT_LUA

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import redis.asyncio as aioredis

    from cache.keys import RedisKeys

SHARDS = 16
VIEW_COUNT_TTL_S = 3_600  # s: bounds how long a drifted counter lives before it is recounted from the edges


def shard_of(entity_id: str) -> int:
    """The index shard of a story or user id: CRC-32 of the id modulo ``SHARDS``."""
    return zlib.crc32(entity_id.encode()) % SHARDS



def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class StoryCache:
    """Story keys of one deployment (``keys`` carries its prefix); ``seen_ttl_s`` is the story lifetime."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, *, seen_ttl_s: int) -> None:
        self._redis, self._keys, self.seen_ttl_s = redis, keys, seen_ttl_s
        self._add_if_present = redis.register_script(ADD_IF_PRESENT_LUA)
        self.round_trips = 0

    async def _run(self, pipe: Any) -> list[Any]:
        self.round_trips += 1
        return list(await redis_call(pipe.execute()))

    # -- live stories and the schedule -------------------------------------------------------------------

    async def add_live(self, author_id: str, story_id: str, expires_at: int, *, now_ms: int) -> None:
        """Add a live story to ``stories:{author}`` and to the expiry schedule (one pipeline; idempotent)."""
        key = self._keys.stories(author_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(key, {story_id: expires_at})
        pipe.zremrangebyscore(key, "-inf", now_ms)
        pipe.pexpireat(key, expires_at, nx=True)
        pipe.pexpireat(key, expires_at, gt=True)
        pipe.zadd(self._keys.story_authors(shard_of(author_id)), {author_id: expires_at}, gt=True)
        pipe.zadd(self._keys.story_due(shard_of(story_id)), {story_id: expires_at})
        await self._run(pipe)

    async def remove(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Remove each ``(author_id, story_id)`` from ``stories:{author}`` and from the schedule (one pipeline;
        idempotent)."""
        pipe = self._redis.pipeline(transaction=False)
        for author_id, story_id in pairs:
            pipe.zrem(self._keys.stories(author_id), story_id)
            pipe.zrem(self._keys.story_due(shard_of(story_id)), story_id)
        if len(pipe):
            await self._run(pipe)

    async def due(self, now_ms: int, limit: int) -> list[str]:
        """Up to ``limit`` story ids per shard whose ``expires_at`` is at or before ``now_ms``, soonest first
        within a shard (one pipeline over every shard)."""
        pipe = self._redis.pipeline(transaction=False)
        for shard in range(SHARDS):
            pipe.zrangebyscore(self._keys.story_due(shard), "-inf", now_ms, start=0, num=limit)
        replies = await self._run(pipe)
        return [_text(member) for reply in replies for member in reply]

    async def unschedule(self, story_ids: Sequence[str]) -> None:
        """Remove ``story_ids`` from the expiry schedule (one pipeline)."""
        if not story_ids:
            return
        pipe = self._redis.pipeline(transaction=False)
        for story_id in story_ids:
            pipe.zrem(self._keys.story_due(shard_of(story_id)), story_id)
        await self._run(pipe)

    async def live_stories(
        self, user_ids: Sequence[str], viewer_id: str, now_ms: int
    ) -> tuple[dict[str, list[tuple[str, int]]], set[str]]:
        """The live ``(story_id, expires_at)`` of each user with any (``stories:{uid}`` after ``now_ms``) and
        the viewer's seen set: ``({uid: [...]}, seen ids)``. Two pipelines whatever the number of users: one
        ``ZMSCORE`` per author-index shard with the seen set, then ``stories:{uid}`` of the users whose
        index score is after ``now_ms``."""
        by_shard: dict[int, list[str]] = {}
        for user_id in dict.fromkeys(user_ids):
            by_shard.setdefault(shard_of(user_id), []).append(user_id)
        pipe = self._redis.pipeline(transaction=False)
        for shard, members in by_shard.items():
            pipe.zmscore(self._keys.story_authors(shard), members)
        pipe.smembers(self._keys.story_seen(viewer_id))
        replies = await self._run(pipe)
        authors = [
            user_id
            for members, scores in zip(by_shard.values(), replies[:-1], strict=True)
            for user_id, score in zip(members, scores, strict=True)
            if score is not None and score > now_ms
        ]
        seen = {_text(m) for m in replies[-1]}
        if not authors:
            return {}, seen
        pipe = self._redis.pipeline(transaction=False)
        for user_id in authors:
            pipe.zrangebyscore(self._keys.stories(user_id), f"({now_ms}", "+inf", withscores=True)
        stories = await self._run(pipe)
        live = {
            user_id: [(_text(member), int(score)) for member, score in reply]
            for user_id, reply in zip(authors, stories, strict=True)
            if reply
        }
        return live, seen

    async def trim_authors(self, now_ms: int) -> None:
        """Drop the author-index entries whose latest story expired by ``now_ms`` (one pipeline)."""
        pipe = self._redis.pipeline(transaction=False)
        for shard in range(SHARDS):
            pipe.zremrangebyscore(self._keys.story_authors(shard), "-inf", now_ms)
        await self._run(pipe)

    # -- seen sets ---------------------------------------------------------------------------------------

    async def seen(self, viewer_id: str, story_ids: Sequence[str]) -> list[bool]:
        """Whether the viewer's seen set holds each of ``story_ids`` (one ``SMISMEMBER``)."""
        if not story_ids:
            return []
        self.round_trips += 1
        flags = await redis_call(self._redis.smismember(self._keys.story_seen(viewer_id), list(story_ids)))
        return [bool(f) for f in flags]

    async def record_view(self, viewer_id: str, story_id: str, *, fresh: bool) -> None:
        """Add ``story_id`` to the viewer's seen set (TTL refreshed) and, for a ``fresh`` view (a new VIEWED
        edge), add one to the story's counter when it exists and mark the story dirty (one pipeline)."""
        seen_key = self._keys.story_seen(viewer_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(seen_key, story_id)
        pipe.expire(seen_key, self.seen_ttl_s)
        if fresh:
            await self._add_if_present(keys=[self._keys.story_views(story_id)], args=[1], client=pipe)
            pipe.sadd(self._keys.story_views_dirty(), story_id)
        await self._run(pipe)

    # -- view counters -----------------------------------------------------------------------------------

    async def view_counts(self, story_ids: Sequence[str]) -> list[int | None]:
        """Counters of ``story_ids`` in order (``None`` where absent), one ``MGET``."""
        if not story_ids:
            return []
        self.round_trips += 1
        values = await redis_call(mget(self._redis, [self._keys.story_views(s) for s in story_ids]))
        return [None if v is None else int(v) for v in values]

    async def install_view_counts(self, counts: dict[str, int], *, overwrite: bool = False) -> dict[str, int]:
        """Install recounted values (``SET NX GET EX``, or plain ``SET EX`` with ``overwrite``) in one
        pipeline; returns story id -> the value now held (ours, or a concurrent reader's)."""
        if not counts:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for story_id, views in counts.items():
            key = self._keys.story_views(story_id)
            if overwrite:
                pipe.set(key, views, ex=VIEW_COUNT_TTL_S)
            else:
                pipe.set(key, views, nx=True, get=True, ex=VIEW_COUNT_TTL_S)
        previous = await self._run(pipe)
        if overwrite:
            return dict(counts)
        return {
            story_id: views if old is None else int(old)
            for (story_id, views), old in zip(counts.items(), previous, strict=True)
        }

    async def repair_views(self, pairs: Sequence[tuple[str, str]]) -> None:
        """After an outage: put each ``(viewer_id, story_id)`` into the viewer's seen set and drop the counters
        of their stories (recounted from the edges on the next read) and mark them dirty (one pipeline)."""
        if not pairs:
            return
        pipe = self._redis.pipeline(transaction=False)
        for viewer_id, story_id in pairs:
            pipe.sadd(self._keys.story_seen(viewer_id), story_id)
            pipe.expire(self._keys.story_seen(viewer_id), self.seen_ttl_s)
        stories = sorted({story_id for _, story_id in pairs})
        for story in stories:  # one key per command: story counters live in different cluster slots
            pipe.execute_command("UNLINK", self._keys.story_views(story))
        pipe.sadd(self._keys.story_views_dirty(), *stories)
        await self._run(pipe)

    async def pop_dirty_views(self, batch: int) -> list[str]:
        """Remove and return up to ``batch`` story ids whose counters changed since the last write-back."""
        self.round_trips += 1
        popped: Any = await redis_call(self._redis.spop(self._keys.story_views_dirty(), batch))
        return [_text(p) for p in popped or []]

    async def mark_dirty_views(self, story_ids: Sequence[str]) -> None:
        """Put ``story_ids`` back into the write-back set (after a failed write-back)."""
        if story_ids:
            self.round_trips += 1
            await redis_call(self._redis.sadd(self._keys.story_views_dirty(), *story_ids))
