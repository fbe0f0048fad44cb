"""The outbox relay against real FalkorDB and Tansu: nothing is lost while the broker is down."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from events.admin import ensure_topics
from events.envelope import HEADER_EVENT_ID, Event
from events.outbox import OutboxRelay
from events.producer import EventProducer
from graph.statements.outbox import OUTBOX_APPEND, OUTBOX_PENDING

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
