"""The outbox relay against real FalkorDB and Tansu: nothing is lost while the broker is down, two relays
publish every row once in per-subject order, a crashed relay's lease expires, bad rows are set aside."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from events.admin import ensure_topics
from events.envelope import HEADER_EVENT_ID, Event
from events.outbox import OutboxRelay
from events.producer import EventProducer
from graph.statements.outbox import (
    OUTBOX_APPEND,
    OUTBOX_APPEND_MANY,
    OUTBOX_CLAIM,
    OUTBOX_DEAD_LETTERS,
    OUTBOX_PENDING,
)
from tests.support.metrics import metric_value

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiokafka.structs import ConsumerRecord

    from devstack.supervisor import EmbeddedStack
    from events.consumer import Consumer
    from events.topics import Topics
    from graph.store import GraphStore
    from runtime.settings import Settings


async def _append(store: GraphStore, event: Event) -> None:
    await store.write(OUTBOX_APPEND, {"outbox": event.outbox_props()})


async def test_relay_delivers_after_broker_was_down(
    stack: EmbeddedStack,
    settings: Settings,
    graph_store: GraphStore,
    topics: Topics,
    make_consumer: Callable[..., Consumer],
) -> None:
    # given: the broker is down when the change (and its Outbox node) is written
    event = Event.new(
        "follow.created", actor_id="u-down-1", subject_id="u-down-2", data={"state": "FOLLOWING"}
    )
    producer = EventProducer(settings.kafka_bootstrap, idempotence=False, request_timeout_ms=1_000)
    relay = OutboxRelay(graph_store, producer, topics, batch_size=10)
    await stack.stop_service("kafka")
    try:
        await _append(graph_store, event)

        # when: the relay runs while the broker is down, then: nothing published, the node is kept
        assert await relay.relay_once() == 0
        assert await relay.backlog() == 1
    finally:
        await stack.start_service("kafka")
    try:
        # when: the broker is back (memory storage: topics are gone) and the relay runs again
        await ensure_topics(settings.kafka_bootstrap, topics.all())
        assert await relay.relay_once() == 1

        # then: the node is gone and a consumer receives exactly that event
        assert await relay.backlog() == 0
        received: list[Event] = []

        async def handler(e: Event) -> None:
            received.append(e)

        consumer = make_consumer("relay-check", [topics.for_event(event.type)], handler)
        assert await consumer.run_until_idle(idle_ms=1_500) == 1
        assert received == [event]
    finally:
        await producer.stop()


async def test_relay_publishes_oldest_first_with_key_and_headers(
    graph_store: GraphStore,
    topics: Topics,
    producer: EventProducer,
    read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:
    # given: three events of one subject in the outbox
    events = [
        Event.new("post.published", actor_id="a", subject_id="post-order", data={"n": n}) for n in range(3)
    ]
    for event in reversed(events):
        await _append(graph_store, event)
    relay = OutboxRelay(graph_store, producer, topics, batch_size=2)

    # when: two relay passes with a batch of 2
    assert await relay.relay_once() == 2
    assert await relay.relay_once() == 1

    # then: published in creation order, keyed by subject, with id/type headers; the outbox is empty
    records = [r for r in await read_topic(topics.name("posts")) if r.key == b"post-order"]
    assert [Event.from_json(r.value) for r in records] == events
    assert [dict(r.headers)[HEADER_EVENT_ID].decode() for r in records] == [e.id for e in events]
    assert await graph_store.read(OUTBOX_PENDING, {"batch": 10}) == []


async def test_run_loop_relays_new_nodes_and_stops(
    graph_store: GraphStore, topics: Topics, producer: EventProducer, make_consumer: Callable[..., Consumer]
) -> None:
    # given: a running relay and a consumer that has joined its group
    relay = OutboxRelay(graph_store, producer, topics, poll_interval=0.05)
    arrived: asyncio.Queue[tuple[Event, float]] = asyncio.Queue()

    async def handler(e: Event) -> None:
        arrived.put_nowait((e, time.monotonic()))

    consumer = make_consumer("run-loop", [topics.name("engagement")], handler)
    await consumer.run_until_idle(idle_ms=300)
    consumer_task = asyncio.create_task(consumer.run())
    relay_task = asyncio.create_task(relay.run())
    try:
        # when: a use case writes an Outbox node
        event = Event.new("like.created", actor_id="u1", subject_id="p-run", data={})
        written = time.monotonic()
        await _append(graph_store, event)

        # then: the consumer gets it, published by the loop
        got, at = await asyncio.wait_for(arrived.get(), timeout=10)
        assert got == event
        print(f"outbox write -> consumer handled: {(at - written) * 1000:.1f} ms")
    finally:
        relay.stop()
        consumer.stop()
        await asyncio.wait_for(asyncio.gather(relay_task, consumer_task), timeout=10)
    assert await relay.backlog() == 0


async def _append_many(store: GraphStore, events: list[Event]) -> None:
    await store.write(OUTBOX_APPEND_MANY, {"rows": [e.outbox_props() for e in events]})


async def test_two_relays_publish_every_row_once_in_per_subject_order(
    graph_store: GraphStore, topics: Topics, producer: EventProducer,
    read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:  # fmt: skip
    # given: 240 events of 24 subjects, interleaved, in the outbox
    events = [
        Event.new("follow.created", actor_id="a", subject_id=f"two-relays-{s}", data={"n": n})
        for n in range(10) for s in range(24)
    ]  # fmt: skip
    await _append_many(graph_store, events)
    relays = [OutboxRelay(graph_store, producer, topics, batch_size=40, owner=name) for name in ("r1", "r2")]

    # when: two relays drain it concurrently
    async def drain(relay: OutboxRelay) -> int:
        total = 0
        while await relay.backlog():
            total += await relay.relay_once()
        return total

    counts = await asyncio.gather(*(drain(r) for r in relays))

    # then: every event published exactly once, each subject's events in creation order
    assert sum(counts) == len(events) and all(counts)  # both relays took part
    records = [r for r in await read_topic(topics.name("follows")) if r.key.startswith(b"two-relays-")]
    assert sorted(dict(r.headers)[HEADER_EVENT_ID].decode() for r in records) == sorted(e.id for e in events)
    by_subject: dict[bytes, list[int]] = {}
    for r in records:  # one subject's records share a partition; read_topic sorts by (partition, offset)
        by_subject.setdefault(r.key, []).append(Event.from_json(r.value).data["n"])
    assert by_subject == {f"two-relays-{s}".encode(): list(range(10)) for s in range(24)}


async def test_a_crashed_relays_rows_are_taken_over_when_its_lease_expires(
    graph_store: GraphStore, topics: Topics, producer: EventProducer,
    read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:  # fmt: skip
    event = Event.new("like.created", actor_id="u", subject_id="lease-takeover")
    await _append(graph_store, event)
    # a relay claimed the row (lease 0.5 s) and died before publishing it
    claimed = await graph_store.write(
        OUTBOX_CLAIM, {"now": int(time.time() * 1000), "owner": "crashed", "lease_ms": 500, "batch": 10, "scan": 20}
    )
    assert [r["id"] for r in claimed] == [event.id]
    survivor = OutboxRelay(graph_store, producer, topics, owner="survivor")

    assert await survivor.relay_once() == 0  # leased by another relay: not touched
    await asyncio.sleep(0.6)
    assert await survivor.relay_once() == 1

    records = [r for r in await read_topic(topics.name("engagement")) if r.key == b"lease-takeover"]
    assert [dict(r.headers)[HEADER_EVENT_ID].decode() for r in records] == [event.id]


async def test_unpublishable_rows_at_the_head_move_to_dead_letters_and_block_nothing(
    graph_store: GraphStore, topics: Topics, producer: EventProducer,
    read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:  # fmt: skip
    # given: 100 rows naming no known topic at the head of the outbox, then 5 good ones
    bad = [Event.new("follow.created", actor_id="a", subject_id=f"bad-{i}") for i in range(100)]
    good = [Event.new("follow.created", actor_id="a", subject_id=f"good-{i}") for i in range(5)]
    bad_rows = [{**e.outbox_props(), "topic": "no-such-topic"} for e in bad]
    await graph_store.write(OUTBOX_APPEND_MANY, {"rows": bad_rows})
    await _append_many(graph_store, good)
    dead_before = metric_value("instagraph_outbox_dead_lettered_total", topic="no-such-topic")
    relay = OutboxRelay(graph_store, producer, topics, batch_size=50, max_attempts=2, retry_after=0.3)

    # when: three passes (each claims 50): the bad head is tried and set aside, the good rows go out
    assert [await relay.relay_once() for _ in range(3)] == [0, 0, 5]
    records = [r for r in await read_topic(topics.name("follows")) if r.key.startswith(b"good-")]
    assert sorted(r.key for r in records) == sorted(f"good-{i}".encode() for i in range(5))
    await asyncio.sleep(0.35)
    assert await relay.relay_once() == 0  # second attempt of the first 50: dead-lettered
    await asyncio.sleep(0.35)
    assert await relay.relay_once() == 0  # ... and of the other 50

    # then: the outbox is empty, the 100 rows are dead-letter records with their error
    assert await relay.backlog() == 0
    dead = await graph_store.read(OUTBOX_DEAD_LETTERS, {"limit": 1_000})
    assert sorted(d["id"] for d in dead) == sorted(e.id for e in bad)
    assert {(d["attempts"], d["topic"]) for d in dead} == {(2, "no-such-topic")}
    assert all("unknown base topic" in d["last_error"] for d in dead)
    assert metric_value("instagraph_outbox_dead_lettered_total", topic="no-such-topic") == dead_before + 100
