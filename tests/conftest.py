"""Shared fixtures: one embedded stack per test session, isolated per test module.

- ``stack`` (session): the started ``EmbeddedStack`` in a temp dir, stopped at the end of the session.
- ``settings`` (module): ``Settings`` for that stack with the module's own graph (``t_<module>_<hex>``), Redis
  prefix, topic suffix, consumer-group prefix and search dir; the graph is dropped after the module.
- ``graph_store`` (module): the module's migrated graph store. ``redis`` (module): a bytes client of the
  state Redis role, ``cache_redis`` (module): one of the cache role; the module's keys are deleted after it.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as aioredis

from devstack.supervisor import EmbeddedStack
from graph.migrations import migrate
from graph.store import open_graph_store
from runtime.resources import open_redis
from runtime.settings import Settings
from tests.support.app import api, app, gql  # noqa: F401  (shared API fixtures)
from tests.support.kafka import make_consumer, producer, read_topic, topics  # noqa: F401  (shared Kafka fixtures)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from devstack.stackinfo import StackInfo
    from graph.store import GraphStore


S3_ACCESS_KEY = "instagraph-test"
S3_SECRET_KEY = "instagraph-test-secret-key"
S3_BUCKET = "instagraph-test-media"
#: The API tests are a client test suite: like one (README "Rate limits"), they raise the per-user content
#: budgets that a module's few users would exhaust; the sign-in and follow budgets stay as in production,
#: and ``tests/resolvers/test_rate_limits.py`` runs every default budget.
TEST_RATE_LIMITS = "createPost=1000/60,likePost=1000/60,addComment=1000/60,feed=1000/60"


@dataclass(frozen=True, slots=True)
class Isolation:
    """Names that keep one test module's data apart: graph name, Redis prefix, topic suffix, group prefix."""

    graph_name: str
    hex: str

    @classmethod
    def for_module(cls, module_name: str) -> Isolation:
        """``t_<module>_<6 hex>``: ``module_name``'s last dotted part, lower-case, ``[a-z0-9_]`` only."""
        token = secrets.token_hex(3)
        short = re.sub(r"[^a-z0-9_]", "_", module_name.rsplit(".", 1)[-1].lower())[:40]
        return cls(graph_name=f"t_{short}_{token}", hex=token)


def module_settings(info: StackInfo, iso: Isolation, search_dir: Path) -> Settings:
    """``Settings`` (env ``test``) pointing at the stack ``info`` with the isolation names of ``iso``."""
    env = info.as_env()
    base_url = env["INSTAGRAPH_GRAPH_URL"].rsplit("/", 1)[0]
    return Settings(
        env="test",
        data_dir=Path(info.data_dir),
        graph_url=f"{base_url}/{iso.graph_name}",
        redis_url=env["INSTAGRAPH_REDIS_URL"],
        cache_redis_url=env["INSTAGRAPH_CACHE_REDIS_URL"],
        redis_prefix=f"t{iso.hex}:",
        kafka_bootstrap=env["INSTAGRAPH_KAFKA_BOOTSTRAP"],
        kafka_idempotence=False,
        topic_suffix=f".t{iso.hex}",
        consumer_group_prefix=f"t{iso.hex}",
        search_url=f"tantivy://{search_dir}",
        s3_endpoint=env["INSTAGRAPH_S3_ENDPOINT"],
        s3_access_key=env["INSTAGRAPH_S3_ACCESS_KEY"],
        s3_secret_key=env["INSTAGRAPH_S3_SECRET_KEY"],
        s3_bucket=env["INSTAGRAPH_S3_BUCKET"],
        rate_limits=TEST_RATE_LIMITS,
    )


async def delete_prefixed(client: aioredis.Redis, prefix: str) -> int:
    """Delete every key starting with ``prefix`` (SCAN + UNLINK in batches of 500); returns the count."""
    deleted = 0
    batch: list[bytes] = []
    async for key in client.scan_iter(match=f"{prefix}*", count=500):
        batch.append(key)
        if len(batch) >= 500:
            deleted += await client.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await client.unlink(*batch)
    return deleted


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedStack]:
    """The session's embedded stack (FalkorDB, Redis, Tansu, SeaweedFS S3) on free ports."""
    embedded = EmbeddedStack(
        tmp_path_factory.mktemp("stack"),
        s3_access_key=S3_ACCESS_KEY,
        s3_secret_key=S3_SECRET_KEY,
        s3_bucket=S3_BUCKET,
    )
    await embedded.start()
    try:
        yield embedded
    finally:
        await embedded.stop()


@pytest.fixture(scope="module")
async def settings(
    stack: EmbeddedStack, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    """This module's isolated ``Settings``; drops the module's graph afterwards."""
    iso = Isolation.for_module(request.module.__name__)
    result = module_settings(stack.info, iso, tmp_path_factory.mktemp(f"search_{iso.hex}"))
    yield result
    store = open_graph_store(result.graph_url)
    try:
        await store.drop()
    finally:
        await store.close()


@pytest.fixture(scope="module")
async def graph_store(settings: Settings) -> AsyncIterator[GraphStore]:
    """The module's graph store, migrated; closed after the module."""
    store = open_graph_store(settings.graph_url)
    await migrate(store, now_ms=int(time.time() * 1000))
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(scope="module")
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """A client (bytes responses) of the stack's state Redis; deletes the module's prefixed keys afterwards."""
    client = open_redis(settings.redis_url)
    try:
        yield client
    finally:
        await delete_prefixed(client, settings.redis_prefix)
        await client.aclose()


@pytest.fixture(scope="module")
async def cache_redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """A client (bytes responses) of the stack's cache Redis (feeds, counters, dedupe markers); deletes the
    module's prefixed keys afterwards."""
    client = open_redis(settings.cache_redis_url)
    try:
        yield client
    finally:
        await delete_prefixed(client, settings.redis_prefix)
        await client.aclose()
