"""Process-wide clients, opened once in the Starlette lifespan (or a worker's start) and closed at the end.

No module-level global clients: everything that needs one receives it from here through a constructor.

Two Redis roles (``INSTAGRAPH_REDIS_URL``, ``INSTAGRAPH_CACHE_REDIS_URL``): ``redis`` holds state that must
never be evicted (refresh-token families, the session cache, idempotency records, rate limits, the like
counters' write-back set) and runs with ``noeviction``; ``cache`` holds what can be recomputed from the
graph (home feeds, authors' recent posts, like counters, consumer dedupe markers, rebuild locks) and runs
with ``allkeys-lru`` under a ``maxmemory``. Each client has its own circuit breaker (``cache.breaker``).
Either URL may name a Redis Cluster (``redis+cluster://host:port,host:port``; ``cache.client``): the keys are
hash-tagged per user, so the same code runs on one server or on a cluster.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from cache.breaker import RedisBreaker
from cache.client import GuardedRedis, guarded_from_url
from cache.keys import RedisKeys
from graph.store import GraphStore, open_graph_store
from media.store import ObjectStore, S3Config, open_object_store
from search.index import SearchIndex, open_search_index

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from runtime.settings import Settings

# s: a blackholed Redis must fail fast so the feed can fall back to the graph. Our commands answer in well
# under 10 ms (pipelines of a page, a few hundred keys of a fan-out chunk), so 0.5 s is 50x that; two
# consecutive timeouts open the circuit (cache.breaker), so a blackhole costs one role at most 1 s.
REDIS_SOCKET_TIMEOUT = 0.5


@dataclass(slots=True)
class Resources:
    """The open clients: ``graph`` store, the state ``redis`` and the ``cache`` Redis (bytes responses, each
    behind its breaker), their ``keys``, the S3 ``objects``, the ``search`` index (opened lazily by the
    backend itself)."""

    settings: Settings
    graph: GraphStore
    redis: GuardedRedis
    keys: RedisKeys
    objects: ObjectStore
    cache: GuardedRedis
    search: SearchIndex


def s3_config(settings: Settings) -> S3Config:
    """The media bucket's ``S3Config`` from ``settings``."""
    return S3Config(
        endpoint=settings.s3_endpoint, bucket=settings.s3_bucket, access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key, region=settings.s3_region, public_url=settings.s3_public_url,
    )


def open_redis(
    url: str, *, role: str = "redis", threshold: int = 2, cooldown: float = 1.0, probe_timeout: float = 0.5
) -> GuardedRedis:
    """A redis-py asyncio client with short timeouts (0.5 s) behind a circuit breaker named ``role``.

    A command that finds its pooled connection closed (Redis restarted) is retried once on a fresh
    connection; a refused connection fails at once. ``threshold`` consecutive outage failures open the
    breaker; then calls fail at once and a probe every ``cooldown`` s (bounded by ``probe_timeout`` s)
    closes it when Redis answers again (``cache.breaker``).
    """
    breaker = RedisBreaker(role, threshold=threshold, cooldown=cooldown, probe_timeout=probe_timeout)
    return guarded_from_url(
        url,
        breaker,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT,
        # A dropped pooled connection (Redis restarted) is retried once; a timeout never is (redis-py's Retry
        # would retry TimeoutError too by default, doubling what a blackholed Redis costs each call).
        retry=Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
        health_check_interval=30,
        max_connections=256,
    )


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Open every client for ``settings`` and close them on exit."""
    graph = open_graph_store(settings.graph_url, timeout=settings.request_timeout)
    def redis_role(url: str, role: str) -> GuardedRedis:
        return open_redis(
            url, role=role, threshold=settings.redis_breaker_threshold,
            cooldown=settings.redis_breaker_cooldown, probe_timeout=settings.redis_probe_timeout,
        )  # fmt: skip

    redis, cache = redis_role(settings.redis_url, "state"), redis_role(settings.cache_redis_url, "cache")
    search = open_search_index(settings.search_url, api_key=settings.search_api_key, timeout=settings.search_timeout)
    try:
        async with open_object_store(s3_config(settings)) as objects:
            yield Resources(
                settings=settings, graph=graph, redis=redis, keys=RedisKeys(settings.redis_prefix),
                objects=objects, cache=cache, search=search,
            )  # fmt: skip
    finally:
        await search.close()
        await cache.aclose()
        await redis.aclose()
        await graph.close()
