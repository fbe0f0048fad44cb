"""The Redis client every process uses: redis-py's asyncio client with each round trip behind a breaker.

:class:`GuardedRedis` runs every command (``execute_command``: plain commands, scripts, locks, scans) and
every pipeline (``GuardedPipeline.execute``) inside its :class:`cache.breaker.RedisBreaker`'s guard, so an
open circuit fails each call at once with ``CircuitOpen`` (a ``redis.exceptions.ConnectionError``) and
callers keep their one rule: ``cache.errors.redis_call`` turns it into ``CacheUnavailable`` like any
outage. Pub/sub connections are not guarded (they are long-lived and reconnect on their own).
"""

from __future__ import annotations

from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from cache.breaker import RedisBreaker


class GuardedPipeline(Pipeline):
    """A pipeline whose ``execute`` (one round trip) goes through the client's breaker."""

    breaker: RedisBreaker

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the queued commands; raises ``CircuitOpen`` without sending while the circuit is open."""
        async with self.breaker.guard():
            return await super().execute(raise_on_error)


class GuardedRedis(aioredis.Redis):
    """``redis.asyncio.Redis`` with a :class:`RedisBreaker` (attribute ``breaker``) around each round trip.

    Build it with :func:`guarded_from_url`.
    """

    breaker: RedisBreaker

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """One command through the breaker (raises ``CircuitOpen`` while it is open)."""
        async with self.breaker.guard():
            return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> GuardedPipeline:
        """A :class:`GuardedPipeline` on this client's pool and breaker."""
        pipe = GuardedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.breaker = self.breaker
        return pipe

    async def ping_unguarded(self) -> object:
        """``PING`` outside the breaker: the breaker's own probe."""
        return await aioredis.Redis.execute_command(self, "PING")

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Stop the breaker's probe, then close the client."""
        await self.breaker.close()
        await super().aclose(close_connection_pool)


def guarded_from_url(url: str, breaker: RedisBreaker, **options: Any) -> GuardedRedis:
    """``GuardedRedis.from_url(url, **options)`` wired to ``breaker`` (whose probe becomes its ``PING``)."""
    client = cast("GuardedRedis", GuardedRedis.from_url(url, **options))
    client.breaker = breaker
    breaker.probe = client.ping_unguarded
    return client
