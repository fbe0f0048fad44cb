"""Automatic persisted queries in Redis: ``apq:<sha256>`` -> the query text, with a TTL.

Keys are not user-scoped (a hash names the same text for everyone), so there is no hash tag. Both methods
raise ``CacheUnavailable`` when Redis is down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys


class PersistedQueryStore:
    """The registered query texts of one deployment (``keys`` carries its prefix)."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, sha256_hash: str) -> str | None:
        """The text registered under ``sha256_hash``, or ``None``."""
        raw = await redis_call(self._redis.get(self._keys.persisted_query(sha256_hash)))
        if raw is None:
            return None
        return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)

    async def put(self, sha256_hash: str, query: str, *, ttl_s: int) -> None:
        """Register ``query`` under ``sha256_hash`` for ``ttl_s`` seconds (a repeat refreshes the TTL)."""
        await redis_call(self._redis.set(self._keys.persisted_query(sha256_hash), query.encode("utf-8"), ex=ttl_s))
