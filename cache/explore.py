"""Explore's Redis state: the shared candidate pool and each viewer's frozen ordering (a snapshot).

- ``explore:pool``: JSON ``{"built_at": ms, "items": [[post_id, author_id, published_at, engagement], ...]}``,
  the scored candidates every viewer starts from, kept ``pool_ttl_s`` seconds;
- ``explore:{viewer}``: JSON ``{"id": token, "built_at": ms, "items": [[post_id, author_id], ...]}``, one viewer's
  diversified ordering, which their pages walk through so that pages neither repeat nor skip while new
  engagement reorders the pool. It lives ``ttl_s`` seconds after its last read (a session scrolling keeps it).

Every method raises ``CacheUnavailable`` when Redis is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A viewer's explore ordering: ``id`` (in the cursors), ``built_at`` (epoch ms), ``items`` of
    ``(post_id, author_id)`` in order."""

    id: str
    built_at: int
    items: tuple[tuple[str, str], ...]


def _loads(raw: Any) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


class ExploreCache:
    """Explore's pool and snapshots under ``keys``' prefix."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self._redis, self._keys = redis, keys

    async def pool(self) -> tuple[int, list[list[Any]]] | None:
        """``(built_at, items)`` of the shared pool, or ``None`` when absent (expired) or unreadable."""
        data = _loads(raw) if (raw := await redis_call(self._redis.get(self._keys.explore_pool()))) else None
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return None
        return int(data.get("built_at") or 0), data["items"]

    async def store_pool(self, built_at: int, items: list[list[Any]], ttl_s: int) -> None:
        """Replace the shared pool for ``ttl_s`` seconds."""
        value = orjson.dumps({"built_at": built_at, "items": items})
        await redis_call(self._redis.set(self._keys.explore_pool(), value, ex=max(1, ttl_s)))

    async def snapshot(self, viewer: str, ttl_s: int) -> Snapshot | None:
        """The viewer's snapshot (its lifetime renewed to ``ttl_s``), or ``None``."""
        key = self._keys.explore_snapshot(viewer)
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(key)
        pipe.expire(key, max(1, ttl_s))
        raw = (await redis_call(pipe.execute()))[0]
        data = _loads(raw) if raw else None
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return None
        items = tuple((str(i[0]), str(i[1])) for i in data["items"] if isinstance(i, list) and len(i) == 2)
        return Snapshot(str(data.get("id", "")), int(data.get("built_at") or 0), items)

    async def store_snapshot(self, viewer: str, snapshot: Snapshot, ttl_s: int) -> None:
        """Store the viewer's snapshot for ``ttl_s`` seconds."""
        value = orjson.dumps({"id": snapshot.id, "built_at": snapshot.built_at, "items": list(snapshot.items)})
        await redis_call(self._redis.set(self._keys.explore_snapshot(viewer), value, ex=max(1, ttl_s)))
