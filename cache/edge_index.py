"""Ordered per-node indexes of graph edges in Redis sorted sets, so that a page of a node's edges costs
O(page), not O(edges): ``followers:{uid}`` and ``following:{uid}`` (member: the other user's id, score: the
FOLLOWS edge's ``created_at`` ms), ``likers:{post}`` (member: the user, score: the LIKED edge's time) and
``comments:{post}`` (member: the comment id, score: its ``created_at``; paged oldest first) and
``authored:{uid}`` (member: a post of the user, score: its ``created_at``: the profile grid).

The graph holds the truth; an index is a cache of one node's edges, newest first by ``(score, member)``
(Redis orders equal scores by member, as the graph's keyset ``(created_at desc, id desc)`` does). A key is
(re)built from the graph in one go (:meth:`EdgeIndex.store`, with the marker member ``~built`` at ``+inf``)
by the ``edge-indexes`` job when a read found it missing (:meth:`EdgeIndex.want`), and then kept in step by
the fan-out worker from the follow events (:meth:`EdgeIndex.add` only into a built key,
:meth:`EdgeIndex.remove`); a key without the marker is never trusted. Keys live ``ttl_s`` after their
last read (renewed by the first page's read), on the cache Redis (``allkeys-lru``: an evicted key is rebuilt).
Readers verify each page's edges in the graph (a follow removed a moment ago, whose event is still on its
way, is dropped there), so an index may be late but never makes a page show an edge that is gone.

Errors: ``CacheUnavailable`` (Redis down); callers fall back to the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache.errors import redis_call

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.asyncio import Redis

    from cache.keys import RedisKeys

BUILT = "~built"
DEFAULT_TTL_S = 24 * 3600
STORE_CHUNK = 5_000  # members per ZADD when a key is rebuilt

# KEYS[1] = index key; ARGV = score, member pairs. Adds only to a built key (one that carries the marker).
ADD_IF_BUILT_LUA = """
if redis.call('ZSCORE', KEYS[1], '~built') == false then return 0 end
redis.call('ZADD', KEYS[1], unpack(ARGV))
return 1
"""


@dataclass(frozen=True, slots=True)
class EdgePage:
    """Up to ``count`` ``(member, score)`` pairs after a cursor, newest first; ``built`` False when the key is
    missing or not (yet) built (then ``items`` is empty and the caller rebuilds or reads the graph)."""

    items: list[tuple[str, int]]
    built: bool


class EdgeIndex:
    """The ``followers``/``following`` sorted sets over the cache Redis (see the module docstring)."""

    KINDS = ("followers", "following", "likers", "comments", "authored")
    ASCENDING = frozenset({"comments"})  # paged oldest first; the others newest first

    def __init__(self, redis: Redis, keys: RedisKeys, *, ttl_s: int = DEFAULT_TTL_S) -> None:
        self.redis, self.keys, self.ttl_s = redis, keys, ttl_s
        self._add = redis.register_script(ADD_IF_BUILT_LUA)

    def key(self, kind: str, node_id: str) -> str:
        """The index key of ``kind`` (``followers``/``following``) for ``node_id`` (hash-tagged)."""
        if kind not in self.KINDS:
            raise ValueError(f"unknown edge index {kind!r}")
        return self.keys.edge_index(kind, node_id)

    async def page(self, kind: str, node_id: str, after: tuple[int, str] | None, count: int) -> EdgePage:
        """Up to ``count`` members strictly after ``after`` (``(score, member)``; None: the first page), newest
        first (oldest first for ``ASCENDING`` kinds), in one pipelined round trip (plus one more per page of
        members tied on the cursor's score)."""
        key = self.key(kind, node_id)
        ascending = kind in self.ASCENDING
        bound: float | str = ("-inf" if ascending else "+inf") if after is None else after[0]
        items: list[tuple[str, int]] = []
        offset, built, first = 0, False, True
        while True:
            pipe = self.redis.pipeline(transaction=False)
            if ascending:
                pipe.zrangebyscore(key, bound, "+inf", start=offset, num=count + 1, withscores=True)
            else:
                pipe.zrevrangebyscore(key, bound, "-inf", start=offset, num=count + 1, withscores=True)
            if first:
                pipe.zscore(key, BUILT)
                pipe.expire(key, self.ttl_s)
            replies = await redis_call(pipe.execute())
            rows = replies[0]
            if first:
                built = replies[1] is not None
                if not built:
                    return EdgePage([], False)
            offset += len(rows)
            for raw, score in rows:
                member = raw.decode() if isinstance(raw, bytes) else str(raw)
                if member == BUILT:
                    continue
                item = (member, int(score))
                if after is not None and ((item[1], item[0]) <= after if ascending else (item[1], item[0]) >= after):
                    continue
                items.append(item)
            first = False
            if len(items) >= count or len(rows) < count + 1:
                return EdgePage(items[:count], True)

    async def store(self, kind: str, node_id: str, items: Sequence[tuple[str, int]]) -> None:
        """Replace the index of ``node_id`` with ``items`` (``(member, score)``, e.g. every edge read from the
        graph) and mark it built; edges added meanwhile by events are kept (``ZADD`` merges)."""
        key = self.key(kind, node_id)
        pipe = self.redis.pipeline(transaction=False)
        for start in range(0, len(items), STORE_CHUNK):
            pipe.zadd(key, {m: s for m, s in items[start : start + STORE_CHUNK]})
        pipe.zadd(key, {BUILT: float("inf")})
        pipe.expire(key, self.ttl_s)
        await redis_call(pipe.execute())

    async def add(self, kind: str, node_id: str, member: str, score: int) -> bool:
        """Add one edge to a built index (a missing one stays missing: it is rebuilt when read). Returns
        whether the index was built."""
        return bool(await redis_call(self._add(keys=[self.key(kind, node_id)], args=[score, member])))

    async def remove(self, kind: str, node_id: str, members: Sequence[str]) -> None:
        """Remove edges (idempotent)."""
        if members:
            await redis_call(self.redis.zrem(self.key(kind, node_id), *members))

    async def want(self, kind: str, node_ids: Sequence[str]) -> None:
        """Ask for the indexes of ``node_ids`` to be rebuilt (off the request path: :meth:`wanted`)."""
        if node_ids:
            await redis_call(self.redis.sadd(self.keys.edge_rebuilds(), *[f"{kind}|{n}" for n in node_ids]))

    async def wanted(self, count: int) -> list[tuple[str, str]]:
        """Pop up to ``count`` wanted rebuilds: ``[(kind, node_id)]`` (each popped by one caller)."""
        raw = await redis_call(self.redis.spop(self.keys.edge_rebuilds(), count))
        found = []
        for item in raw or []:
            kind, _, node_id = (item.decode() if isinstance(item, bytes) else str(item)).partition("|")
            if kind in self.KINDS and node_id:
                found.append((kind, node_id))
        return found

    async def drop(self, kind: str, node_id: str) -> None:
        """Forget the index of ``node_id`` (the next read rebuilds it from the graph)."""
        await redis_call(self.redis.unlink(self.key(kind, node_id)))
