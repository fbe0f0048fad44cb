"""The one module that owns the home-feed Redis keys: ``feed:{uid}`` and ``posts:{uid}`` sorted sets.

Both are ZSETs of post id -> score, the score being the post's ``created_at`` in epoch ms, so one cursor
``(score, post_id)`` pages either of them and the graph fallback alike. Equal scores are ordered by member
(Redis sorts ties lexicographically; UUIDv7 ids sort by time), hence the keyset is ``(score desc, id desc)``.

- ``feed:{uid}``: the home feed skeleton of user ``uid`` (fan-out on write pushes here).
- ``posts:{uid}``: the recent posts of author ``uid`` (the pull side, read at feed time for celebrities).

Each key holds at most ``max_items`` posts (``FEED_MAX_ITEMS``, default 500, as in the seed "Instagram Feed"
``MAX_TIMELINE_SIZE``): every insert is ``ZADD`` + ``ZREMRANGEBYRANK`` pipelined with ``transaction=False``,
keeping the ``max_items + 1`` highest-scored members, the marker below included (a key that was only pushed
to, never rebuilt, may thus hold one post more until its rebuild trims it).

A key that was (re)built from the graph carries the marker member ``BUILT`` with score ``+inf``; a key
without it was only ever pushed to (new, evicted or never read) and must be rebuilt before it is trusted.
The marker is never returned as a post. Redis being unreachable (``ConnectionError``/``TimeoutError``,
1 s client timeouts) is raised as :class:`CacheUnavailable` so that the feed can fall back to the graph.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from redis.exceptions import LockError

from cache.errors import redis_call

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from cache.keys import RedisKeys

BUILT = "~built"  # marker member; post ids are UUIDs and never start with "~"
PUSH_CHUNK = 1_000  # keys per pipeline round trip (2 commands each)
LOCK_TTL_S = 10.0  # a rebuild lock outlives no crashed holder by more than this


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One skeleton entry: ``post_id`` and ``score`` (the post's created_at, epoch ms)."""

    post_id: str
    score: int

    def key(self) -> tuple[int, str]:
        """The sort key ``(score, post_id)``; feeds are ordered by it descending."""
        return (self.score, self.post_id)


@dataclass(frozen=True, slots=True)
class KeyPage:
    """Up to ``count`` items of one key after a cursor (newest first); ``built``: the key carries the rebuilt
    marker; ``exhausted``: no more items after these."""

    items: list[FeedItem]
    built: bool
    exhausted: bool


class FeedCache:
    """Reads and writes of ``feed:{uid}`` / ``posts:{uid}``. Raises ``CacheUnavailable`` only.

    ``redis`` returns bytes; ``keys`` builds the key names; ``max_items`` is the cap per key.
    """

    def __init__(self, redis: Redis, keys: RedisKeys, *, max_items: int = 500) -> None:
        self.redis, self.keys, self.max_items = redis, keys, max_items
        self.commands = 0  # Redis commands sent (a pipeline counts each command), for tests and benches

    # -- writes -------------------------------------------------------------------------------------------

    async def push(self, post_id: str, score: int, user_ids: Iterable[str]) -> int:
        """Add ``post_id`` at ``score`` to the feed of every user in ``user_ids`` and trim each to the cap.

        One pipeline (``transaction=False``) per ``PUSH_CHUNK`` users, two commands per user; idempotent
        (re-adding a member keeps one entry). Returns the number of feeds written.
        """
        return await self._push_keys([self.keys.feed(u) for u in user_ids], {post_id: score})

    async def add_post(self, author_id: str, post_id: str, score: int) -> None:
        """Add ``post_id`` to ``posts:{author_id}`` (capped)."""
        await self._push_keys([self.keys.posts(author_id)], {post_id: score})

    async def add_to_feed(self, user_id: str, items: Sequence[FeedItem], *, built: bool = False) -> None:
        """Add ``items`` to ``feed:{user_id}`` (capped); ``built=True`` also sets the rebuilt marker."""
        await self._store(self.keys.feed(user_id), items, built=built)

    async def store_posts(self, author_id: str, items: Sequence[FeedItem]) -> None:
        """Add ``items`` to ``posts:{author_id}`` (capped) and mark the key as rebuilt from the graph."""
        await self._store(self.keys.posts(author_id), items, built=True)

    async def remove_from_feeds(self, post_ids: Sequence[str], user_ids: Iterable[str]) -> int:
        """``ZREM`` ``post_ids`` from the feed of every user in ``user_ids``, pipelined; idempotent.

        Returns the number of feeds addressed.
        """
        if not post_ids:
            return 0
        return await self._remove_keys([self.keys.feed(u) for u in user_ids], post_ids)

    async def remove_posts(self, author_id: str, post_ids: Sequence[str]) -> None:
        """``ZREM`` ``post_ids`` from ``posts:{author_id}``; idempotent."""
        if post_ids:
            await self._remove_keys([self.keys.posts(author_id)], post_ids)

    # -- reads --------------------------------------------------------------------------------------------

    async def feed_page(self, user_id: str, after: tuple[int, str] | None, count: int) -> KeyPage:
        """Up to ``count`` items of ``feed:{user_id}`` strictly after ``after`` (newest first)."""
        return (await self._pages([self.keys.feed(user_id)], after, count))[0]

    async def posts_pages(
        self, author_ids: Sequence[str], after: tuple[int, str] | None, count: int
    ) -> dict[str, KeyPage]:
        """``posts:{author}`` pages for many authors in one pipeline: ``{author_id: KeyPage}``."""
        pages = await self._pages([self.keys.posts(a) for a in author_ids], after, count)
        return dict(zip(author_ids, pages, strict=True))

    async def recent_posts(self, author_id: str, limit: int) -> KeyPage:
        """The newest ``limit`` items of ``posts:{author_id}`` (``built`` tells whether to trust it)."""
        return (await self._pages([self.keys.posts(author_id)], None, limit))[0]

    async def oldest_feed_score(self, user_id: str) -> int | None:
        """Score of the oldest entry of ``feed:{user_id}``; ``None`` when the key is absent or empty."""
        reply = await redis_call(self.redis.zrange(self.keys.feed(user_id), 0, 0, withscores=True))
        self.commands += 1
        rows = cast("list[tuple[bytes, float]]", reply)
        return int(rows[0][1]) if rows and rows[0][0].decode() != BUILT else None

    # -- rebuild lock -------------------------------------------------------------------------------------

    async def rebuild_once(
        self,
        user_id: str,
        is_built: Callable[[], Awaitable[bool]],
        rebuild: Callable[[], Awaitable[object]],
        *,
        wait_s: float,
    ) -> bool:
        """Run ``await rebuild()`` under the lock ``lock:feed-rebuild:{uid}`` unless ``await is_built()``.

        Double-checked: a request that waited for another's rebuild finds the marker and skips its own.
        When the lock cannot be had within ``wait_s`` seconds the rebuild runs anyway (it is idempotent).
        Returns True when this call rebuilt. Uses redis-py's ``Lock`` (token-checked release).
        """
        lock = self.redis.lock(
            self.keys.lock(f"feed-rebuild:{{{user_id}}}"),
            timeout=LOCK_TTL_S,
            sleep=0.02,
            blocking_timeout=wait_s,
        )
        acquired = await redis_call(lock.acquire())
        try:
            if acquired and await is_built():
                return False
            await rebuild()
            return True
        finally:
            if acquired:
                try:
                    await redis_call(lock.release())
                except LockError:
                    pass  # expired meanwhile: another holder may own it now, nothing to release

    async def is_feed_built(self, user_id: str) -> bool:
        """True when ``feed:{user_id}`` carries the rebuilt marker."""
        self.commands += 1
        return await redis_call(self.redis.zscore(self.keys.feed(user_id), BUILT)) is not None

    # -- internals ----------------------------------------------------------------------------------------

    def _trim_stop(self) -> int:
        # keep the highest max_items scores plus the +inf marker
        return -(self.max_items + 2)

    async def _push_keys(self, keys: list[str], mapping: dict[str, int]) -> int:
        for start in range(0, len(keys), PUSH_CHUNK):
            pipe = self.redis.pipeline(transaction=False)
            for key in keys[start : start + PUSH_CHUNK]:
                pipe.zadd(key, mapping)
                pipe.zremrangebyrank(key, 0, self._trim_stop())
            self.commands += len(pipe)
            await redis_call(pipe.execute())
        return len(keys)

    async def _store(self, key: str, items: Sequence[FeedItem], *, built: bool) -> None:
        mapping: dict[str, float] = {i.post_id: i.score for i in items}
        if built:
            mapping[BUILT] = float("inf")
        if not mapping:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, mapping)
        pipe.zremrangebyrank(key, 0, self._trim_stop())
        self.commands += len(pipe)
        await redis_call(pipe.execute())

    async def _remove_keys(self, keys: list[str], post_ids: Sequence[str]) -> int:
        for start in range(0, len(keys), PUSH_CHUNK):
            pipe = self.redis.pipeline(transaction=False)
            for key in keys[start : start + PUSH_CHUNK]:
                pipe.zrem(key, *post_ids)
            self.commands += len(pipe)
            await redis_call(pipe.execute())
        return len(keys)

    async def _pages(self, keys: list[str], after: tuple[int, str] | None, count: int) -> list[KeyPage]:
        """Keyset pages of ``keys`` in one pipeline (plus a follow-up only when ties at ``after`` eat a page).

        ``ZREVRANGEBYSCORE key <after score> -inf LIMIT offset n`` is inclusive of the cursor's score, so the
        leading members with that score and an id >= the cursor id are skipped (they were on earlier pages).
        """
        results: list[list[FeedItem]] = [[] for _ in keys]
        built = [False] * len(keys)
        done = [False] * len(keys)
        offsets = [0] * len(keys)
        high: float | str = "+inf" if after is None else after[0]
        first_round = True
        while not all(done):
            pending = [i for i, d in enumerate(done) if not d]
            fetch = count + 1
            pipe = self.redis.pipeline(transaction=False)
            for i in pending:
                pipe.zrevrangebyscore(keys[i], high, "-inf", start=offsets[i], num=fetch, withscores=True)
                if first_round:
                    pipe.zscore(keys[i], BUILT)
            self.commands += len(pipe)
            replies = await redis_call(pipe.execute())
            step = 2 if first_round else 1
            for n, i in enumerate(pending):
                rows = replies[n * step]
                if first_round:
                    built[i] = replies[n * step + 1] is not None
                offsets[i] += len(rows)
                for member, score in rows:
                    item = FeedItem(member.decode(), int(score) if score != float("inf") else 0)
                    if item.post_id == BUILT:
                        continue
                    if after is not None and item.key() >= after:
                        continue
                    if len(results[i]) < count:
                        results[i].append(item)
                if len(rows) < fetch or len(results[i]) >= count:
                    done[i] = True
            first_round = False
        return [KeyPage(items=results[i], built=built[i], exhausted=len(results[i]) < count) for i in range(len(keys))]
