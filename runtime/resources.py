"""Process-wide clients, opened once in the Starlette lifespan (or a worker's start) and closed at the end.

No module-level global clients: everything that needs one receives it from here through a constructor.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from cache.keys import RedisKeys
from graph.store import GraphStore, open_graph_store
from media.store import ObjectStore, S3Config, open_object_store
from search.index import SearchIndex, open_search_index

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from runtime.settings import Settings

REDIS_SOCKET_TIMEOUT = 1.0  # s: a dead Redis must fail fast so the feed can fall back to the graph


@dataclass(slots=True)
class Resources:
    """The open clients: ``graph`` store, ``redis`` (bytes responses), its ``keys``, the S3 ``objects``, the
    ``search`` index (opened lazily by the backend itself)."""

    settings: Settings
    graph: GraphStore
    redis: aioredis.Redis
    keys: RedisKeys
    objects: ObjectStore
    search: SearchIndex


def s3_config(settings: Settings) -> S3Config:
    """The media bucket's ``S3Config`` from ``settings``."""
    return S3Config(
        endpoint=settings.s3_endpoint, bucket=settings.s3_bucket, access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key, region=settings.s3_region, public_url=settings.s3_public_url,
    )


def open_redis(url: str) -> aioredis.Redis:
    """A redis-py asyncio client with short timeouts (1 s) so an outage is detected quickly.

    A command that finds its pooled connection closed (Redis restarted) is retried once on a fresh
    connection; a refused connection fails at once, so a Redis outage costs a request little time.
    """
    return aioredis.Redis.from_url(
        url,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), retries=1),
        retry_on_error=[RedisConnectionError],
        health_check_interval=30,
        max_connections=256,
    )


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Open every client for ``settings`` and close them on exit."""
    graph = open_graph_store(settings.graph_url, timeout=settings.request_timeout)
    redis = open_redis(settings.redis_url)
    search = open_search_index(settings.search_url, api_key=settings.search_api_key, timeout=settings.search_timeout)
    try:
        async with open_object_store(s3_config(settings)) as objects:
            yield Resources(
                settings=settings, graph=graph, redis=redis, keys=RedisKeys(settings.redis_prefix), objects=objects,
                search=search,
            )
    finally:
        await search.close()
        await redis.aclose()
        await graph.close()
