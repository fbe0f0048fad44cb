"""The one module that owns the home-feed Redis keys: ``feed:{uid}`` and ``posts:{uid}`` sorted sets.

Both are ZSETs of post id -> score, the score being the post's publish time (``published_at``, epoch ms), so
one cursor ``(score, post_id)`` pages either of them and the graph fallback alike. Equal scores are ordered
by member (Redis sorts ties lexicographically; UUIDv7 ids sort by time), hence the keyset is
``(score desc, id desc)``.

- ``feed:{uid}``: the home feed skeleton of user ``uid`` (fan-out on write pushes here).
- ``posts:{uid}``: the recent posts of author ``uid`` (the pull side, read at feed time).
- ``feedctx:{uid}``: the viewer's followee count and pulled followees (the graph's ``VIEWER_CONTEXT``), read
  in the same round trip as the first page of ``feed:{uid}``; dropped when the viewer's follows change (the
  follow writes and the fan-out worker), and every context goes stale at once when an author becomes pulled
  (``feedctx_epoch`` is bumped; a context carries the epoch it was read at). ``CONTEXT_TTL_S`` bounds it.

Each key holds at most ``max_items`` posts (``FEED_MAX_ITEMS``, default 500, as in the seed "Instagram Feed"
``MAX_TIMELINE_SIZE``): every insert is ``ZADD`` + ``ZREMRANGEBYRANK``, keeping the ``max_items + 1``
highest-scored members, the marker below included.

Bounded memory (keys live ``ttl_s``, ``INSTAGRAPH_FEED_TTL``, after their last read):

- a feed key is created only by a rebuild from the graph (:meth:`FeedCache.begin_rebuild` /
  :meth:`FeedCache.finish_rebuild`), which sets its TTL; every first-page read renews it (``EXPIRE`` in
  the page's pipeline). Fan-out pushes and follow backfills go only into feed keys that exist
  (``ADD_IF_LIVE_LUA``, one script call per key): an inactive user's key expires and stops receiving
  pushes, and the user gets a fresh rebuild on return (the seed's "offline user returning after 2 weeks";
  Twitter fans out to active users only). A rebuild creates its key with the placeholder ``~pending``
  BEFORE reading the graph, so a post fanned out meanwhile lands in it instead of being skipped.
- ``posts:{uid}`` is written on every publish and renewed on every read, with the same TTL.

A key that was (re)built from the graph carries the marker member ``BUILT`` with score ``+inf``; a key
without it (still being rebuilt, or written before the marker existed) must be rebuilt before it is
trusted. Members starting with ``~`` are markers, never posts. Redis being unreachable
(``ConnectionError``/``TimeoutError``, 0.5 s client timeouts, or the client's open circuit) is raised as
:class:`CacheUnavailable` so that the feed can fall back to the graph.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import orjson
from redis.exceptions import LockError, NoScriptError

from cache.errors import redis_call

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from cache.keys import RedisKeys

BUILT = "~built"  # marker member; post ids are UUIDs and never start with "~"
PENDING = "~pending"  # placeholder of a key being rebuilt (score 0: the first member a trim removes)
MARKER_PREFIX = "~"
PUSH_CHUNK = 1_000  # keys per pipeline round trip
LOCK_TTL_S = 10.0  # a rebuild lock outlives no crashed holder by more than this
PENDING_TTL_S = 60  # a rebuild that crashed leaves its placeholder key for at most this long
DEFAULT_TTL_S = 3 * 24 * 3600
CONTEXT_TTL_S = 600  # a cached feed context is recomputed at least this often (s)

# KEYS[1] = feed key; ARGV[1] = trim stop rank; ARGV[2..] = score, member pairs. Adds only to a key that
# exists (a live feed), then trims it. Returns 1 when the key was live, else 0 (nothing written).
ADD_IF_LIVE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], unpack(ARGV, 2))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, tonumber(ARGV[1]))
return 1
"""

# KEYS[1] = feed key, KEYS[2] = the viewer's context key; ARGV[1] = the page's high score (``+inf`` or the
# cursor's), ARGV[2] = how many members to read, ARGV[3] = the TTL to renew (s; 0 on a later page, which asks
# for the marker ARGV[4] instead). Returns {flat member/score list, the marker's score or nil (a later page
# only), the context or nil}: the first round of ``FeedCache._pages`` and the context as one command.
FEED_PAGE_AND_CONTEXT_LUA = """
local rows = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local marker = false
if ARGV[3] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[3]) else marker = redis.call('ZSCORE', KEYS[1], ARGV[4]) end
return {rows, marker, redis.call('GET', KEYS[2])}
"""


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One skeleton entry: ``post_id`` and ``score`` (the post's created_at, epoch ms)."""

    post_id: str
    score: int

    def key(self) -> tuple[int, str]:
        """The sort key ``(score, post_id)``; feeds are ordered by it descending."""
        return (self.score, self.post_id)


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What the feed read needs to know about its viewer: ``following`` (how many users they follow) and
    ``pulled`` (the followees whose posts are merged at read time), as of context epoch ``epoch``."""

    following: int
    pulled: list[str]
    epoch: int


@dataclass(frozen=True, slots=True)
class KeyPage:
    """Up to ``count`` items of one key after a cursor (newest first); ``built``: the key carries the rebuilt
    marker; ``exhausted``: no more items after these."""

    items: list[FeedItem]
    built: bool
    exhausted: bool


class FeedCache:
    """Reads and writes of ``feed:{uid}`` / ``posts:{uid}``. Raises ``CacheUnavailable`` only.

    ``redis`` (the cache role) returns bytes; ``keys`` builds the key names; ``max_items`` is the cap per
    key; ``ttl_s`` how long a key lives after its last read (seconds).
    """

    def __init__(self, redis: Redis, keys: RedisKeys, *, max_items: int = 500, ttl_s: int = DEFAULT_TTL_S) -> None:
        self.redis, self.keys, self.max_items, self.ttl_s = redis, keys, max_items, ttl_s
        self.commands = 0  # Redis commands sent (a pipeline counts each command), for tests and benches
        self._add_if_live = redis.register_script(ADD_IF_LIVE_LUA)
        self._page_and_context = redis.register_script(FEED_PAGE_AND_CONTEXT_LUA)

    # -- writes -------------------------------------------------------------------------------------------

    async def push(self, post_id: str, score: int, user_ids: Iterable[str]) -> int:
        """Add ``post_id`` at ``score`` to the LIVE feed (existing key) of every user in ``user_ids``, trimmed
        to the cap; feeds that do not exist are left absent (their owner gets a rebuild on the next read).

        One pipeline (``transaction=False``) per ``PUSH_CHUNK`` users, one script call per user; idempotent
        (re-adding a member keeps one entry). Returns the number of live feeds written.
        """
        return await self._add_live([self.keys.feed(u) for u in user_ids], [score, post_id])

    async def add_post(self, author_id: str, post_id: str, score: int) -> None:
        """Add ``post_id`` to ``posts:{author_id}`` (capped) and renew the key's TTL."""
        await self._store(self.keys.posts(author_id), [FeedItem(post_id, score)], built=False)

    async def add_to_feed(self, user_id: str, items: Sequence[FeedItem]) -> bool:
        """Add ``items`` to ``feed:{user_id}`` (capped) if that feed is live; returns whether it was."""
        if not items:
            return False
        pairs: list[str | int] = [x for item in items for x in (item.score, item.post_id)]
        return await self._add_live([self.keys.feed(user_id)], pairs) == 1

    async def begin_rebuild(self, user_id: str) -> None:
        """Create ``feed:{user_id}`` (if absent) with the ``~pending`` placeholder, so that pushes land in it
        while the rebuild reads the graph. Call before that read; :meth:`finish_rebuild` after it."""
        key = self.keys.feed(user_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {PENDING: 0}, nx=True)
        pipe.expire(key, PENDING_TTL_S, nx=True)
        self.commands += len(pipe)
        await redis_call(pipe.execute())

    async def finish_rebuild(self, user_id: str, items: Sequence[FeedItem]) -> None:
        """Store the rebuilt ``items`` into ``feed:{user_id}`` with the rebuilt marker (posts pushed meanwhile
        are kept), drop the placeholder, trim, and set the TTL."""
        await self._store(self.keys.feed(user_id), items, built=True)

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

    async def feed_page_and_context(
        self, user_id: str, after: tuple[int, str] | None, count: int
    ) -> tuple[KeyPage, FeedContext | None, int]:
        """:meth:`feed_page` and, in the same round trip, the viewer's cached :class:`FeedContext` (``None``
        when absent or of an older epoch) and the current context epoch (for :meth:`store_context`).

        Two commands (the page's first round and the context as one script, ``FEED_PAGE_AND_CONTEXT_LUA``,
        then ``GET`` of the epoch, a key of its own slot): as four commands in one pipeline the client
        spent 112 us of CPU on them, as these two 87 us (redis-py 8.1 under uvloop, this machine)."""
        key, fetch = self.keys.feed(user_id), count + 1
        high: float | str = "+inf" if after is None else after[0]
        args = (high, fetch, self.ttl_s if after is None else 0, BUILT)
        keys = [key, self.keys.feed_context(user_id)]
        try:
            (flat, marker, raw), raw_epoch = await self._page_and_context_round(keys, args)
        except NoScriptError:  # the server lost its scripts (a restart): load it, then once more
            await redis_call(self.redis.script_load(FEED_PAGE_AND_CONTEXT_LUA))
            (flat, marker, raw), raw_epoch = await self._page_and_context_round(keys, args)
        rows = [(flat[n], float(flat[n + 1])) for n in range(0, len(flat), 2)]
        pages = await self._pages([key], after, count, first=[rows, marker])
        epoch = int(raw_epoch or 0)
        context = None
        if raw is not None:
            data = orjson.loads(raw)
            if int(data.get("epoch", -1)) == epoch:
                context = FeedContext(int(data["following"]), [str(p) for p in data["pulled"]], epoch)
        return pages[0], context, epoch

    async def _page_and_context_round(self, keys: list[str], args: tuple[Any, ...]) -> list[Any]:
        """One pipeline: ``FEED_PAGE_AND_CONTEXT_LUA`` on ``keys`` (feed, context) with ``args``, then ``GET``
        of the context epoch. Raises ``NoScriptError`` when the server does not hold the script."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.evalsha(self._page_and_context.sha, len(keys), *keys, *args)
        pipe.get(self.keys.feed_context_epoch())
        self.commands += 2
        return await redis_call(pipe.execute())

    async def store_context(self, user_id: str, context: FeedContext) -> None:
        """Cache ``context`` (read from the graph at ``context.epoch``) for ``CONTEXT_TTL_S``."""
        body = orjson.dumps({"following": context.following, "pulled": context.pulled, "epoch": context.epoch})
        self.commands += 1
        await redis_call(self.redis.set(self.keys.feed_context(user_id), body, ex=CONTEXT_TTL_S))

    async def drop_contexts(self, user_ids: Sequence[str]) -> None:
        """Forget the cached feed contexts of ``user_ids`` (their follows changed)."""
        if user_ids:
            pipe = self.redis.pipeline(transaction=False)
            for user_id in user_ids:  # one key per command: a cluster pipeline splits multi-key UNLINKs itself
                pipe.execute_command("UNLINK", self.keys.feed_context(user_id))
            await redis_call(pipe.execute())

    async def bump_context_epoch(self) -> None:
        """Invalidate every cached feed context (an author became pulled: followers must merge them)."""
        await redis_call(self.redis.incr(self.keys.feed_context_epoch()))

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
        reply = await redis_call(self.redis.zrange(self.keys.feed(user_id), 0, 1, withscores=True))
        self.commands += 1
        rows = cast("list[tuple[bytes, float]]", reply)
        scores = [int(score) for member, score in rows if not member.decode().startswith(MARKER_PREFIX)]
        return scores[0] if scores else None

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

    async def _add_live(self, keys: list[str], pairs: list[str | int]) -> int:
        live = 0
        for start in range(0, len(keys), PUSH_CHUNK):
            pipe = self.redis.pipeline(transaction=False)
            for key in keys[start : start + PUSH_CHUNK]:
                await self._add_if_live(keys=[key], args=[self._trim_stop(), *pairs], client=pipe)
            self.commands += len(pipe)
            live += sum(int(r) for r in await redis_call(pipe.execute()))
        return live

    async def _store(self, key: str, items: Sequence[FeedItem], *, built: bool) -> None:
        mapping: dict[str, float] = {i.post_id: i.score for i in items}
        if built:
            mapping[BUILT] = float("inf")
        if not mapping:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, mapping)
        if built:
            pipe.zrem(key, PENDING)
        pipe.zremrangebyrank(key, 0, self._trim_stop())
        pipe.expire(key, self.ttl_s)
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

    async def _pages(
        self, keys: list[str], after: tuple[int, str] | None, count: int, first: list[Any] | None = None
    ) -> list[KeyPage]:
        """Keyset pages of ``keys`` in one pipeline (plus a follow-up only when ties at ``after`` eat a page);
        ``first``: the first round's replies for a single key, already read (its rows as ``(member, score)``
        pairs, then the ``EXPIRE``/``ZSCORE`` reply).

        ``ZREVRANGEBYSCORE key <after score> -inf LIMIT offset n`` is inclusive of the cursor's score, so the
        leading members with that score and an id >= the cursor id are skipped (they were on earlier pages).
        A first page (``after`` None) starts at ``+inf``, so the rebuilt marker is its first member when the
        key has one, and the page's second command renews the key's TTL (``EXPIRE``: a read keeps a feed
        alive); a later page asks for the marker (``ZSCORE``) instead.
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
            if first_round and first is not None:
                replies = first
            else:
                pipe = self.redis.pipeline(transaction=False)
                for i in pending:
                    pipe.zrevrangebyscore(keys[i], high, "-inf", start=offsets[i], num=fetch, withscores=True)
                    if first_round and after is None:
                        pipe.expire(keys[i], self.ttl_s)
                    elif first_round:
                        pipe.zscore(keys[i], BUILT)
                self.commands += len(pipe)
                replies = await redis_call(pipe.execute())
            step = 2 if first_round else 1
            for n, i in enumerate(pending):
                rows = replies[n * step]
                if first_round and after is not None:
                    built[i] = replies[n * step + 1] is not None
                offsets[i] += len(rows)
                for member, score in rows:
                    item = FeedItem(member.decode(), int(score) if score != float("inf") else 0)
                    if item.post_id.startswith(MARKER_PREFIX):
                        built[i] = built[i] or (first_round and item.post_id == BUILT)
                        continue
                    if after is not None and item.key() >= after:
                        continue
                    if len(results[i]) < count:
                        results[i].append(item)
                if len(rows) < fetch or len(results[i]) >= count:
                    done[i] = True
            first_round = False
        return [KeyPage(items=results[i], built=built[i], exhausted=len(results[i]) < count) for i in range(len(keys))]
