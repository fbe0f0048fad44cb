"""The feed pipeline under faults injected into the real processes (no mock anywhere).

The module runs the API in-process and the outbox relay and the fan-out consumer as real ``instagraph
worker`` child processes on its own settings, then, in order:

1. Kafka blackholed while users post, like and follow: nothing is published meanwhile; once it is back every
   event is published (those whose ack was lost, again: at-least-once), the posts reach every follower's
   feed once, the follow's backfill happens, the like counts are exact.
2. The fan-out worker killed -9 mid-batch (frozen with SIGSTOP at a moment when it had handled events it had
   not committed yet, so the kill loses the commit): its successor gets those records again, skips them
   by their dedupe markers (``consumer.duplicate_skipped`` in its log, exactly as many as were handled and
   not committed) and handles the rest: every post once in every feed.
3. Both Redis roles stopped and restarted while users post: the feed is served from the graph meanwhile,
   the consumer waits (nothing dead-lettered), and afterwards the feeds are right on the cache path.
4. The graph stopped: the API answers SERVICE_UNAVAILABLE at once (not a hang) and ``/readyz`` 503; once
   it is back the same API process serves again, without a restart.

``instagraph dev``'s restart of a dead worker is shown in ``tests/devstack/test_dev_command.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import TYPE_CHECKING, Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from events.envelope import HEADER_EVENT_ID, Event
from events.topics import Topics
from graph.statements.outbox import OUTBOX_BACKLOG
from schema.base import from_global_id, to_global_id
from tests.support.factories import graphql, make_user
from tests.support.fanout import app_keys, follow, open_feeds, outbox_events, publish_post
from tests.support.metrics import metric_value
from tests.support.posts import restart_redis, stop_redis
from tests.support.processes import CliProcess, paused

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    import httpx
    import redis.asyncio as aioredis
    from aiokafka.structs import ConsumerRecord
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from graph.store import GraphStore
    from runtime.settings import Settings
    from tests.support.factories import TestUser

FEED = "{ feed(first: 100) { edges { node { id likeCount } } } }"
LIKE = "mutation($id: ID!) { likePost(input: {postId: $id}) { likeCount } }"
KAFKA_DOWN_S = 6.0  # longer than the producer's 5 s request timeout: nothing in flight survives the outage
SETTLE_S = 60.0  # generous bound for the pipeline to catch up after a fault (seconds; typically 2-10)
BATCH = 40  # posts in flight when the fan-out worker is killed
IN_FLIGHT_S = 0.2  # for requests a frozen process sent to land at their server (seconds; loopback)


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """Short consumer sessions (a killed worker's partitions move in ~2 s) and statement timeouts (3 s)."""
    return settings.model_copy(
        update={"consumer_session_timeout_ms": 2_000, "consumer_heartbeat_interval_ms": 300, "request_timeout": 3.0}
    )


class Workers:
    """The module's worker processes: ``relay`` and ``fanout`` (restartable)."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings, self.logs, self.starts = settings, logs, 0
        self.relay = CliProcess(settings, ["worker", "outbox-relay"], logs / "relay.log")
        self.fanout = self.start_fanout()

    def start_fanout(self) -> CliProcess:
        self.starts += 1
        self.fanout = CliProcess(self.settings, ["worker", "fanout"], self.logs / f"fanout-{self.starts}.log")
        return self.fanout


@pytest.fixture(scope="module")
async def workers(
    settings: Settings, graph_store: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Workers]:
    """The relay and the fan-out worker as child processes; stopped after the module."""
    running = Workers(settings, tmp_path_factory.mktemp("worker_logs"))
    try:
        yield running
    finally:
        await asyncio.gather(running.relay.stop(), running.fanout.stop())


async def _until(check: Callable[[], Awaitable[bool]], what: str, within: float = SETTLE_S) -> float:
    """Poll ``check`` every 50 ms until true; returns the seconds it took; fails after ``within`` s."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within, f"not within {within:.0f} s: {what}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _feed(api: httpx.AsyncClient, user: TestUser) -> list[dict[str, Any]]:
    body = await graphql(api, FEED, token=user.token)
    assert body.get("errors") is None, body
    return [
        {"id": from_global_id(e["node"]["id"], field="id")[1], "likes": e["node"]["likeCount"]}
        for e in body["data"]["feed"]["edges"]
    ]


async def _feed_ids(api: httpx.AsyncClient, user: TestUser) -> list[str]:
    return [p["id"] for p in await _feed(api, user)]


async def _backlog(graph: GraphStore) -> int:
    return int((await graph.read(OUTBOX_BACKLOG))[0]["backlog"])


def _event_ids(records: list[ConsumerRecord]) -> list[str]:
    return [dict(r.headers)[HEADER_EVENT_ID].decode() for r in records if HEADER_EVENT_ID in dict(r.headers)]


async def _seen(cache_redis: aioredis.Redis, settings: Settings, event_ids: list[str]) -> int:
    keys = app_keys(settings)
    return int(await cache_redis.exists(*[keys.seen("fanout", e) for e in event_ids]))


@pytest.fixture(scope="module")
async def world(app: Starlette, api: httpx.AsyncClient, workers: Workers) -> dict[str, TestUser]:
    """An author with two followers whose feeds are live, and a newcomer; the workers consuming."""
    users = {name: await make_user(api, f"ft_{name}") for name in ("author", "fan0", "fan1", "newcomer")}
    for fan in ("fan0", "fan1"):
        await follow(api, users[fan], users["author"])
    await open_feeds(app, *users.values())
    first = await publish_post(app, users["author"])  # the pipeline runs: it reaches the fans' feeds
    await _until(lambda: _has(api, users["fan0"], first), "the workers deliver a first post")
    return users


async def _has(api: httpx.AsyncClient, user: TestUser, *post_ids: str) -> bool:
    ids = await _feed_ids(api, user)
    return all(p in ids for p in post_ids)


async def test_kafka_stopped_while_users_post_like_and_follow_loses_nothing(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, stack: EmbeddedStack, settings: Settings,
    world: dict[str, TestUser], read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:  # fmt: skip
    author, fans, newcomer = world["author"], [world["fan0"], world["fan1"]], world["newcomer"]
    # The broker is blackholed (SIGSTOP: its connections hang, nothing answers), as a partition or a frozen
    # broker looks to clients. (Stopping the process would also lose Tansu's in-memory topics and groups,
    # which Kafka keeps on disk; that restart is covered by tests/events/test_outbox_relay.py.)
    with paused(stack, "kafka"):
        posts = [await publish_post(app, author) for _ in range(3)]
        await follow(api, newcomer, author)
        for post_id in posts[:2]:
            for fan in fans:
                body = await graphql(api, LIKE, {"id": to_global_id("Post", post_id)}, token=fan.token)
                assert body.get("errors") is None, body
        waiting = await outbox_events(graph_store, "post.published") + await outbox_events(
            graph_store, "follow.created"
        )
        await asyncio.sleep(KAFKA_DOWN_S)
        assert await _backlog(graph_store) >= len(posts) + 1 + 4  # nothing could be published

    await _until(lambda: _backlog_is(graph_store, 0), "the relay drains the outbox")
    for user in (*fans, newcomer):  # pushed (the newcomer's after the follow's backfill)
        await _until(lambda u=user: _has(api, u, *posts), f"{user.username} sees the posts")
    feed = {p["id"]: p["likes"] for p in await _feed(api, fans[0])}
    assert [feed[p] for p in posts] == [2, 2, 0]  # each like counted once
    topics = Topics(settings.topic_suffix)
    published = _event_ids([r for b in ("posts", "follows", "engagement") for r in await read_topic(topics.name(b))])
    assert {e.id for e in waiting} <= set(published)  # nothing lost
    # A send whose ack was lost in the outage is published again (at-least-once; Tansu cannot run the
    # idempotent producer): the consumers' dedupe makes each effect happen once, as the feeds show.
    resent = len([e for e in published if e in {w.id for w in waiting}]) - len(waiting)
    for user in (*fans, newcomer):
        ids = await _feed_ids(api, user)
        assert len(ids) == len(set(ids)) and set(posts) <= set(ids)
    print(f"\nKafka blackholed {KAFKA_DOWN_S:.0f} s: {len(waiting)} events waited, {resent} published twice")


async def _backlog_is(graph: GraphStore, n: int) -> bool:
    return await _backlog(graph) == n


async def _committed(settings: Settings, partitions: list[TopicPartition]) -> int:
    group = f"{settings.consumer_group_prefix}.fanout"
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group)
    await reader.start()
    try:
        return sum([(await reader.committed(tp)) or 0 for tp in partitions])
    finally:
        await reader.stop()


async def test_the_fanout_worker_killed_mid_batch_redelivers_without_duplicates(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis,
    settings: Settings, world: dict[str, TestUser], workers: Workers,
) -> None:  # fmt: skip
    author, fans = world["author"], [world["fan0"], world["fan1"]]
    topic = f"instagraph.posts{settings.topic_suffix}"
    partitions = [TopicPartition(topic, p) for p in range(3)]
    # given: the worker is down while BATCH posts are published, so they wait in Kafka as one backlog
    await workers.fanout.stop()
    posts = [await publish_post(app, author) for _ in range(BATCH)]
    await _until(lambda: _backlog_is(graph_store, 0), "the relay publishes the batch")
    event_ids = await _published_ids(settings, posts)
    assert len(event_ids) == BATCH
    committed_before = await _committed(settings, partitions)

    # when: a worker starts on the backlog and is killed -9 while it holds handled, uncommitted records
    victim = workers.start_fanout()
    handled = committed = 0
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        if await _seen(cache_redis, settings, event_ids):
            os.kill(victim.pid, signal.SIGSTOP)  # freeze it: the snapshot below cannot move
            # What it sent before freezing (a seen marker, an offset commit) still lands: let it, then count.
            await asyncio.sleep(IN_FLIGHT_S)
            handled = await _seen(cache_redis, settings, event_ids)
            committed = await _committed(settings, partitions) - committed_before
            if handled > committed or handled == BATCH:
                break
            os.kill(victim.pid, signal.SIGCONT)
        await asyncio.sleep(0.005)
    await victim.kill9()
    assert handled < BATCH, "the worker finished the batch before it could be killed"
    successor = workers.start_fanout()

    # then: the successor handles the rest and skips exactly the handled-but-uncommitted records
    for fan in fans:
        await _until(lambda f=fan: _has(api, f, *posts), f"{fan.username} sees the whole batch")
    assert await _seen(cache_redis, settings, event_ids) == BATCH
    ids = await _feed_ids(api, fans[0])
    assert len(ids) == len(set(ids))
    redelivered = handled - committed
    await _until(lambda: _skips_logged(successor, event_ids, redelivered), "the successor logs its skips", 15)
    print(f"\nkilled with {handled}/{BATCH} handled, {committed} committed: {redelivered} redelivered and skipped")


async def _skips_logged(worker: CliProcess, event_ids: list[str], expected: int) -> bool:
    lines = [line for line in worker.log().splitlines() if "consumer.duplicate_skipped" in line]
    skipped = {e for e in event_ids for line in lines if e in line}
    assert len(skipped) <= expected, f"skipped {len(skipped)}, expected {expected}"
    return len(skipped) == expected


async def test_redis_stopped_and_restarted_keeps_feeds_right(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, stack: EmbeddedStack,
    cache_redis: aioredis.Redis, world: dict[str, TestUser],
    read_topic: Callable[..., Awaitable[list[ConsumerRecord]]], settings: Settings,
) -> None:  # fmt: skip
    author, fan = world["author"], world["fan1"]
    degraded = metric_value("instagraph_feed_degraded_total")
    await stop_redis(stack)
    try:
        posts = [await publish_post(app, author) for _ in range(2)]
        await _until(lambda: _backlog_is(graph_store, 0), "the relay publishes while Redis is down")
        ids = await _feed_ids(api, fan)  # served from the graph, sessions verified from the graph
        assert ids[:2] == posts[::-1]
        assert metric_value("instagraph_feed_degraded_total") > degraded
    finally:
        await restart_redis(stack, cache_redis, app.state.resources.redis, app.state.resources.cache)

    before = metric_value("instagraph_feed_degraded_total")
    ids = await _feed_ids(api, fan)
    assert ids[:2] == posts[::-1] and len(ids) == len(set(ids))
    assert metric_value("instagraph_feed_degraded_total") == before  # the cache path again (rebuilt)
    event_ids = await _published_ids(settings, posts)
    assert len(event_ids) == len(posts)  # the relay published them while Redis was down
    await _until(lambda: _seen_is(cache_redis, settings, event_ids, len(posts)), "the consumer handled them")
    dead = _event_ids(await read_topic(f"instagraph.posts{settings.topic_suffix}.dlq", idle_ms=500))
    assert set(dead).isdisjoint(event_ids)  # waited out, never dead-lettered


async def _seen_is(cache_redis: aioredis.Redis, settings: Settings, event_ids: list[str], n: int) -> bool:
    return await _seen(cache_redis, settings, event_ids) == n


async def _published_ids(settings: Settings, posts: list[str]) -> list[str]:
    """Ids of the ``post.published`` events of ``posts`` in the posts topic."""
    reader = AIOKafkaConsumer(
        f"instagraph.posts{settings.topic_suffix}", bootstrap_servers=settings.kafka_bootstrap,
        group_id=None, auto_offset_reset="earliest",
    )  # fmt: skip
    await reader.start()
    try:
        found: list[str] = []
        while batch := await reader.getmany(timeout_ms=500):
            for rows in batch.values():
                events = [Event.from_json(r.value) for r in rows]
                found += [e.id for e in events if e.type == "post.published" and e.subject_id in posts]
        return found
    finally:
        await reader.stop()


async def test_the_graph_stopped_is_service_unavailable_at_once_and_recovers_without_restart(
    api: httpx.AsyncClient, stack: EmbeddedStack, settings: Settings, world: dict[str, TestUser]
) -> None:
    fan = world["fan0"]
    expected = await _feed_ids(api, fan)
    await stack.stop_service("graph")
    try:
        started = time.monotonic()
        body = await asyncio.wait_for(graphql(api, FEED, token=fan.token), settings.request_timeout + 5)
        took = time.monotonic() - started
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]
        assert "Traceback" not in str(body)
        assert (await api.get("/readyz")).status_code == 503
        print(f"\ngraph down: SERVICE_UNAVAILABLE in {took * 1000:.0f} ms")
        assert took < settings.request_timeout  # refused at once, not after a statement timeout
    finally:
        await stack.start_service("graph")
    assert await _feed_ids(api, fan) == expected  # the same API process, no restart
    await _until(lambda: _ready(api), "/readyz says ready again", 10)  # it caches its answer for 1 s


async def _ready(api: httpx.AsyncClient) -> bool:
    return (await api.get("/readyz")).status_code == 200
