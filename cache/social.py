"""Per-viewer caches of the two-hop reads: follow suggestions (``suggest:{uid}``) and mutual followers
(``mutuals:{uid}``, a hash by the other user's id), on the cache Redis.

Both are expansions over the viewer's followees' follows (friends of friends), too costly to run on every
request for a user who follows thousands. What is cached is the ranking (ids and counts), never what decides
visibility: readers hydrate and check every listed user in the graph again (``services.suggestions``,
``services.follows``). An entry is dropped when the viewer's own follows change (the follow write itself and
the fan-out worker on ``follow.*``/``block.created``, :meth:`SocialCache.drop`) and otherwise lives ``ttl_s``
(default 10 min: how long a change elsewhere in the graph, e.g. a followee following someone new, may take to
show in the ranking).

Errors: ``CacheUnavailable``; callers then compute from the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cache.errors import redis_call

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from cache.keys import RedisKeys

DEFAULT_TTL_S = 600


class SocialCache:
    """``suggest:{uid}`` (JSON list) and ``mutuals:{uid}`` (hash of JSON) over ``redis``."""

    def __init__(self, redis: Redis, keys: RedisKeys, *, ttl_s: int = DEFAULT_TTL_S) -> None:
        self.redis, self.keys, self.ttl_s = redis, keys, ttl_s

    async def suggestions(self, viewer_id: str) -> list[dict[str, Any]] | None:
        """The cached ranking of ``viewer_id`` (``[{id, mutual, names}]``), or ``None`` when absent."""
        raw = await redis_call(self.redis.get(self.keys.suggestions(viewer_id)))
        return None if raw is None else list(orjson.loads(raw))

    async def store_suggestions(self, viewer_id: str, ranking: list[dict[str, Any]]) -> None:
        """Cache ``ranking`` for ``ttl_s``."""
        await redis_call(self.redis.set(self.keys.suggestions(viewer_id), orjson.dumps(ranking), ex=self.ttl_s))

    async def mutuals(self, viewer_id: str, user_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The cached mutual followers of ``user_ids`` for ``viewer_id`` (``{user_id: {total, ids}}``; absent
        ids are not cached). One ``HMGET``."""
        if not user_ids:
            return {}
        raws = await redis_call(self.redis.hmget(self.keys.mutuals(viewer_id), user_ids))
        return {uid: orjson.loads(raw) for uid, raw in zip(user_ids, raws, strict=True) if raw is not None}

    async def store_mutuals(self, viewer_id: str, entries: dict[str, dict[str, Any]]) -> None:
        """Cache ``entries`` (``{user_id: {total, ids}}``); the hash lives ``ttl_s`` from its first entry."""
        if not entries:
            return
        key = self.keys.mutuals(viewer_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, mapping={uid: orjson.dumps(entry) for uid, entry in entries.items()})
        pipe.expire(key, self.ttl_s, nx=True)
        await redis_call(pipe.execute())

    async def drop(self, *user_ids: str) -> None:
        """Forget both caches of each of ``user_ids`` (their follows changed)."""
        if not user_ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        for uid in user_ids:  # one key per command (same slot anyway): cluster pipelines queue it as is
            pipe.execute_command("UNLINK", self.keys.suggestions(uid))
            pipe.execute_command("UNLINK", self.keys.mutuals(uid))
        await redis_call(pipe.execute())
