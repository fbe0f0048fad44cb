"""Health probes of the embedded services: each returns when the service answers a real request and raises
``NotReady`` otherwise (the supervisor retries until its deadline)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from graph.errors import GraphError
from graph.store import open_graph_store
from media.errors import StoreError
from media.store import S3Config, open_object_store

PROBE_TIMEOUT = 3.0  # s per attempt


class NotReady(Exception):
    """The service did not answer (yet); the message says why."""


async def probe_graph(port: int) -> None:
    """Run Cypher ``RETURN 1`` on graph ``health`` of the FalkorDB at ``127.0.0.1:port``."""
    store = open_graph_store(f"falkordb://127.0.0.1:{port}/health", timeout=PROBE_TIMEOUT)
    try:
        await store.ping()
    except GraphError as exc:
        raise NotReady(str(exc)) from exc
    finally:
        await store.close()


async def probe_redis(port: int) -> None:
    """Send PING to the Redis at ``127.0.0.1:port``."""
    client = aioredis.Redis(host="127.0.0.1", port=port, socket_timeout=PROBE_TIMEOUT)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise NotReady(str(exc)) from exc
    finally:
        await client.aclose()


async def probe_kafka(bootstrap: str) -> None:
    """Fetch cluster metadata (DescribeCluster) from the Kafka-protocol broker at ``bootstrap``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(PROBE_TIMEOUT * 1000))
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await admin.start()
            await admin.describe_cluster()
    except (KafkaError, OSError, TimeoutError) as exc:
        raise NotReady(f"{type(exc).__name__}: {exc}") from exc
    finally:
        await admin.close()


async def probe_s3(endpoint: str, access_key: str, secret_key: str, bucket: str) -> None:
    """Signed HeadBucket at ``endpoint`` with the API's own S3 client (``media.store``); creates ``bucket``
    when it does not exist yet."""
    config = S3Config(endpoint=endpoint, bucket=bucket, access_key=access_key, secret_key=secret_key)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT * 2), open_object_store(config) as objects:
            await objects.ensure_bucket()
    except (StoreError, TimeoutError) as exc:
        raise NotReady(f"{type(exc).__name__}: {exc}") from exc
