"""The whole notification pipeline on the real stack: mutation -> outbox -> relay -> Kafka (Tansu) ->
``notifications`` consumer (its own group) -> delivery (debounce) -> Redis stream + wake-up -> the relay of
ANOTHER API process -> the subscriber's WebSocket.

Two API processes are two ``uvicorn`` children on the same Redis and graph: the subscriber talks to one, the
mutation goes to the other. The consumer, the outbox relay and the ``notification-delivery`` job run in this
process, as ``instagraph worker`` runs them (``workers.consumers`` / ``workers.registry``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import pytest

from events.outbox import OutboxRelay
from events.producer import EventProducer
from events.topics import Topics
from graph.cypher import cypher
from seed.snap_graph import import_snap_graph
from services.core.passwords import Passwords
from tests.support.factories import graphql, make_user
from tests.support.live import Subscriber, api_process, serve_app
from tests.support.notifications import LIKE, notifications, summary
from tests.support.posts import publish_post, publish_seeded_post
from workers.consumers import ConsumerConfig, build_consumers, run_consumers
from workers.notification_delivery import make_step
from workers.notifications import WORKER

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from runtime.settings import Settings

DEBOUNCE_S = 1.0
LIKERS = 1_000
_IDS = cypher(  # a read-only probe: the seeded users' ids
    "tests.notifications.SEEDED_IDS",
    "UNWIND $names AS name MATCH (u:User {username: name}) RETURN u.username AS username, u.id AS id",
)
LOGIN = "mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """The module's settings with a 1 s debounce (what ``INSTAGRAPH_NOTIFICATION_DEBOUNCE=1`` gives)."""
    return settings.model_copy(update={"notification_debounce": DEBOUNCE_S})


@pytest.fixture(scope="module")
async def pipeline(settings: Settings, app: Starlette) -> AsyncIterator[None]:
    """The outbox relay, the ``notifications`` consumer and the delivery job, running for the module."""
    resources, services = app.state.resources, app.state.services
    producer = EventProducer(settings.kafka_bootstrap, idempotence=False)
    config = ConsumerConfig(
        bootstrap=settings.kafka_bootstrap, topic_suffix=settings.topic_suffix,
        group_prefix=settings.consumer_group_prefix, backoff_ms=50, session_timeout_ms=1_000,
        heartbeat_interval_ms=200,
    )  # fmt: skip
    consumers = build_consumers([WORKER], services, config=config, redis=resources.redis, keys=resources.keys,
                                producer=producer)  # fmt: skip
    assert consumers[0].group_id == f"{settings.consumer_group_prefix}.notifications"
    relay = OutboxRelay(resources.graph, producer, Topics(settings.topic_suffix), poll_interval=0.05)
    runner = asyncio.create_task(run_consumers(consumers, config=config, relay=relay))
    step, stop = make_step(services), asyncio.Event()

    async def deliver() -> None:
        while not stop.is_set():
            await step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)

    delivery = asyncio.create_task(deliver())
    try:
        yield
    finally:
        stop.set()
        relay.stop()
        for consumer in consumers:
            consumer.stop()
        await asyncio.wait_for(asyncio.gather(runner, delivery, return_exceptions=True), 30)
        await producer.stop()


async def _subscribed(redis: aioredis.Redis, channel: str) -> None:
    """Wait until some API process subscribed to ``channel`` (PUBSUB NUMSUB), then a moment for its relay
    to read the stream's tail."""
    for _ in range(500):
        numsub = await redis.pubsub_numsub(channel)
        if numsub and numsub[0][1] >= 1:
            await asyncio.sleep(0.3)
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"nobody subscribed to {channel}")


async def test_a_like_made_on_one_api_process_reaches_a_subscriber_of_another(
    api: httpx.AsyncClient, app: Starlette, settings: Settings, redis: aioredis.Redis, pipeline: None
) -> None:
    ana, bob = await make_user(api, "ana_x"), await make_user(api, "bob_x")
    post = await publish_post(api, app, ana)
    async with api_process(settings) as url_a, api_process(settings) as url_b:
        async with Subscriber(url_a, ana.token) as sub:
            await _subscribed(redis, app.state.resources.keys.notify_channel(ana.id))
            http_b = url_b.replace("ws://", "http://")
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(http_b, json={"query": LIKE, "variables": {"input": {"postId": post.gid}}},
                                             headers={"Authorization": f"Bearer {bob.token}"})  # fmt: skip
            assert "errors" not in response.json(), response.text
            got = await sub.next(within=30)
            assert (got["kind"], got["actorCount"], got["post"]["id"]) == ("LIKE", 1, post.gid)
            assert [a["username"] for a in got["actors"]] == [bob.username]


@dataclass(frozen=True, slots=True)
class _Author:
    id: str


async def test_a_thousand_likes_give_one_group_and_a_bounded_number_of_updates(
    api: httpx.AsyncClient, app: Starlette, settings: Settings, redis: aioredis.Redis, pipeline: None,
    tmp_path: Path,
) -> None:
    # given: fb_0 with 1,000 followers (the seed's import of a star graph), one published post
    graph = app.state.resources.graph
    edges = tmp_path / "star.txt"
    edges.write_text("".join(f"0 {i}\n" for i in range(1, LIKERS + 1)))
    await import_snap_graph(graph, edges, await Passwords().hash(settings.seed_password))
    rows = await graph.read(_IDS, {"names": [f"fb_{i}" for i in range(LIKERS + 1)]})
    ids = {r["username"]: r["id"] for r in rows}
    author = _Author(ids["fb_0"])
    post_id = await publish_seeded_post(app, author, "Viral reel #launch", "bench-viral")  # type: ignore[arg-type]
    login = await graphql(api, LOGIN, {"l": "fb_0", "p": settings.seed_password})
    token = login["data"]["login"]["accessToken"]

    async with serve_app(app) as url, Subscriber(url, token) as sub:
        await _subscribed(redis, app.state.resources.keys.notify_channel(author.id))
        # when: 1,000 users like it, ten at a time
        engagement, gate = app.state.services.engagement, asyncio.Semaphore(10)

        async def like(user_id: str) -> None:
            async with gate:
                assert await engagement.like_post(user_id, post_id) is True

        started = time.monotonic()
        await asyncio.gather(*(like(ids[f"fb_{i}"]) for i in range(1, LIKERS + 1)))
        # then: updates arrive until the group counts every liker
        updates: list[dict] = []
        while not updates or updates[-1]["actorCount"] < LIKERS:
            updates.append(await sub.next(within=120))
        span = time.monotonic() - started
        await sub.quiet(2 * DEBOUNCE_S)
    assert {u["id"] for u in updates} == {updates[0]["id"]}
    assert updates[-1]["actorCount"] == LIKERS
    counts = [u["actorCount"] for u in updates]
    assert counts == sorted(counts)
    # at most one update per debounce interval, the first at once: ceil(span / debounce) + 1
    assert len(updates) <= math.ceil(span / DEBOUNCE_S) + 1, (len(updates), span)
    window = settings.notification_group_window
    assert len(updates) <= math.ceil(window / DEBOUNCE_S) + 1
    page = await notifications(api, _token_user(ids["fb_0"], token))
    assert [(k, n) for k, n, _ in summary(page)] == [("LIKE", LIKERS)]


@dataclass(frozen=True, slots=True)
class _TokenUser:
    id: str
    token: str


def _token_user(user_id: str, token: str) -> _TokenUser:
    return _TokenUser(user_id, token)

