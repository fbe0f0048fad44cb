"""The ``indexer`` worker on the real pipeline: API write -> outbox -> relay -> Kafka (Tansu) -> indexer consumer
-> Tantivy, and searches through the API.

A module fixture runs the outbox relay and the registry's ``indexer`` worker (its own consumer group, batch
mode) against the app's services, as ``instagraph dev`` does; the tests wait on what a user would see.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from cache.keys import RedisKeys
from events.outbox import OutboxRelay
from events.topics import Topics
from search.documents import PostQuery
from search.errors import SearchUnavailable
from search.index import open_search_index
from services.search_indexing import SearchIndexer
from tests.support.factories import graphql, make_user
from tests.support.posts import delete_post, follow, publish_post
from tests.support.search import SEARCH_POSTS, SEARCH_USERS, post_ids
from workers.consumers import ConsumerConfig, Worker, build_consumers, run_consumers
from workers.indexer import WORKER

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    import httpx
    import redis.asyncio as aioredis
    from aiokafka.structs import ConsumerRecord
    from starlette.applications import Starlette

    from events.producer import EventProducer
    from graph.store import GraphStore
    from runtime.settings import Settings


def _config(settings: Settings) -> ConsumerConfig:
    return ConsumerConfig(
        bootstrap=settings.kafka_bootstrap, topic_suffix=settings.topic_suffix,
        group_prefix=settings.consumer_group_prefix, backoff_ms=20, session_timeout_ms=1_000,
        heartbeat_interval_ms=200,
    )  # fmt: skip


@pytest.fixture(scope="module")
async def pipeline(
    app: Starlette, settings: Settings, graph_store: GraphStore, redis: aioredis.Redis
) -> AsyncIterator[OutboxRelay]:
    """The relay and the ``indexer`` worker, running for the whole module."""
    from events.producer import EventProducer

    producer = EventProducer(settings.kafka_bootstrap, idempotence=False, suffix=settings.topic_suffix)
    config = _config(settings)
    consumers = build_consumers(
        [WORKER], app.state.services, config=config, redis=redis, keys=RedisKeys(settings.redis_prefix),
        producer=producer,
    )  # fmt: skip
    relay = OutboxRelay(graph_store, producer, Topics(settings.topic_suffix), poll_interval=0.05)
    runner = asyncio.create_task(run_consumers(consumers, config=config, relay=relay))
    try:
        yield relay
    finally:
        relay.stop()
        for consumer in consumers:
            consumer.stop()
        await asyncio.wait_for(runner, timeout=15)
        await producer.stop()


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float) -> float:
    """Seconds until ``check()`` is true (polled every 20 ms); fails after ``timeout_s``."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_new_users_and_posts_become_searchable_and_deleted_posts_leave_within_2_s(
    api: httpx.AsyncClient, app: Starlette, pipeline: OutboxRelay
) -> None:
    index = app.state.resources.search
    author = await make_user(api, "pipeline_author", display_name="Pipeline Author")
    reader = await make_user(api, "pipeline_reader")

    async def user_indexed() -> bool:  # polls the index: the API's search budget is 20 a minute
        return (await index.search_users("pipeline_auth", 5))[:1] == [author.id]

    await _until(user_indexed, 30)  # the first wait includes the consumer group's join
    body = await graphql(api, SEARCH_USERS, {"q": "pipeline_auth"}, token=reader.token)
    assert [u["username"] for u in body["data"]["searchUsers"]][:1] == ["pipeline_author"]
    post = await publish_post(api, app, author, caption="A pipelined sunset #pipeline")

    async def post_indexed() -> bool:
        return [hit.id for hit in (await index.search_posts(PostQuery(hashtag="pipeline"))).hits] == [post.id]

    await _until(post_indexed, 10)
    assert post_ids(await graphql(api, SEARCH_POSTS, {"tag": "pipeline"}, token=reader.token)) == [post.gid]
    await delete_post(api, author, post)
    assert post_ids(await graphql(api, SEARCH_POSTS, {"tag": "pipeline"}, token=reader.token)) == []  # at once

    async def dropped_from_index() -> bool:
        return (await index.search_posts(PostQuery(hashtag="pipeline"))).hits == []

    assert await _until(dropped_from_index, 2.0) < 2.0


async def test_follower_counts_reach_the_ranking(
    api: httpx.AsyncClient, app: Starlette, pipeline: OutboxRelay
) -> None:
    quiet = await make_user(api, "twin_a", display_name="Twin Name")
    popular = await make_user(api, "twin_b", display_name="Twin Name")
    viewer = await make_user(api, "twin_viewer")
    for i in range(3):
        await follow(api, await make_user(api, f"twin_fan{i}"), popular)

    async def popular_first() -> bool:
        return (await app.state.resources.search.search_users("twin name", 5))[:2] == [popular.id, quiet.id]

    await _until(popular_first, 10)
    body = await graphql(api, SEARCH_USERS, {"q": "twin name"}, token=viewer.token)
    assert [u["username"] for u in body["data"]["searchUsers"]][:2] == [popular.username, quiet.username]


async def test_with_the_index_down_events_wait_and_the_index_catches_up(
    api: httpx.AsyncClient, app: Starlette, settings: Settings, redis: aioredis.Redis, pipeline: OutboxRelay,
    producer: EventProducer, tmp_path: Path, read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:  # fmt: skip
    # given: a second indexer (its own group) whose index directory cannot be created: the backend is down
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("the index cannot live here")
    broken = open_search_index(f"tantivy://{blocker / 'search'}")
    services = app.state.services
    indexer = SearchIndexer(app.state.resources.graph, broken, services.engagement.counters)
    worker = Worker(
        "indexer-outage", WORKER.topics, WORKER.make_handler, make_batch_handler=WORKER.make_batch_handler
    )
    context = SimpleNamespace(search_indexer=indexer)
    config = _config(settings)
    (consumer,) = build_consumers(
        [worker], context, config=config, redis=redis, keys=RedisKeys(settings.redis_prefix), producer=producer
    )
    runner = asyncio.create_task(run_consumers([consumer], config=config))
    try:
        # when: a user registers while it is down
        await make_user(api, "outage_user")
        await asyncio.sleep(4)
        # then: nothing is dead-lettered; once the directory can be made, the index catches up
        for base in WORKER.topics:
            assert await read_topic(Topics.dlq(Topics(settings.topic_suffix).name(base)), idle_ms=300) == []
        blocker.unlink()

        async def caught_up() -> bool:
            try:
                return bool(await broken.search_users("outage_user", 5))
            except SearchUnavailable:
                return False

        await _until(caught_up, 20)
    finally:
        consumer.stop()
        await asyncio.wait_for(runner, timeout=15)
        await broken.close()
