"""The consumer runtime's batch mode against real Tansu and Redis.

Batch mode hands one partition's valid, unseen events to a batch handler in one call (the search indexer
writes them in one commit); a batch that keeps failing is handled event by event, so only a poison event ends
in the DLQ; a store outage (``BackendUnavailable``) is waited out, the batch uncommitted, never dead-lettered.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from backends.errors import BackendUnavailable
from cache.keys import RedisKeys
from events.envelope import Event

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    import redis.asyncio as aioredis
    from aiokafka.structs import ConsumerRecord

    from events.consumer import Consumer
    from events.producer import EventProducer
    from events.topics import Topics
    from runtime.settings import Settings


class IndexDown(BackendUnavailable):
    """Stands for a search backend outage raised by a handler."""


async def _publish_all(producer: EventProducer, topic: str, events: list[Event], key: str) -> None:
    for event in events:
        await producer.publish(topic, key, event.to_json(), event.headers())


async def test_one_partition_batch_reaches_the_batch_handler_in_one_call(
    settings: Settings, redis: aioredis.Redis, topics: Topics, producer: EventProducer,
    make_consumer: Callable[..., Consumer],
) -> None:  # fmt: skip
    # given: ten events on one key (one partition), one of them published twice
    topic = topics.name("users")
    events = [Event.new("user.updated", actor_id=f"u{i}", subject_id=f"u{i}") for i in range(10)]
    await _publish_all(producer, topic, [*events, events[3]], key="same-key")
    calls: list[list[str]] = []

    async def batch(items: Sequence[Event]) -> None:
        calls.append([e.id for e in items])

    async def single(e: Event) -> None:
        raise AssertionError("the per-event handler must not run when the batch succeeds")

    # when
    consumer = make_consumer("batcher", [topic], single, batch_handler=batch)
    assert await consumer.run_until_idle() == 11

    # then: the events came in batches (not one by one), each once, and all are marked seen
    assert len(calls[0]) > 1
    assert [event_id for ids in calls for event_id in ids] == [e.id for e in events]
    keys = RedisKeys(settings.redis_prefix)
    assert all([await redis.exists(keys.seen("batcher", e.id)) for e in events])
    again = make_consumer("batcher", [topic], single, batch_handler=batch, group=consumer.group_id)
    assert await again.run_until_idle() == 0


async def test_a_failing_batch_is_retried_then_handled_event_by_event(
    topics: Topics, producer: EventProducer, make_consumer: Callable[..., Consumer],
    read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:  # fmt: skip
    # given: a batch holding one poison event and a record that is no event at all
    topic = topics.name("posts")
    good = [Event.new("post.published", actor_id="a", subject_id=f"p{i}", data={"poison": False}) for i in range(3)]
    poison = Event.new("post.published", actor_id="a", subject_id="px", data={"poison": True})
    await _publish_all(producer, topic, [good[0], poison, good[1]], key="k")
    await producer.publish(topic, "k", b"not json", [])
    await _publish_all(producer, topic, [good[2]], key="k")
    batches: list[int] = []
    handled: list[str] = []

    async def batch(items: Sequence[Event]) -> None:
        batches.append(len(items))
        if any(e.data["poison"] for e in items):
            raise ValueError("poison in the batch")
        handled.extend(e.subject_id for e in items)

    async def single(e: Event) -> None:
        await batch([e])

    # when
    consumer = make_consumer("batchpoison", [topic], single, batch_handler=batch, max_retries=1)
    assert await consumer.run_until_idle() == 5

    # then: the batch was tried twice, then each event alone; the poison and the bad record are dead-lettered
    assert batches[0] == batches[1] > 1
    assert handled == ["p0", "p1", "p2"]
    dead = await read_topic(topics.dlq(topic))
    assert [r.value for r in dead] == [poison.to_json(), b"not json"]


async def test_a_backend_outage_pauses_without_dlq_and_the_events_are_handled_afterwards(
    topics: Topics, producer: EventProducer, make_consumer: Callable[..., Consumer],
    read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:  # fmt: skip
    # given: a backend that is down for the first deliveries
    topic = topics.name("media")
    events = [Event.new("media.uploaded", actor_id="a", subject_id=f"m{i}") for i in range(4)]
    await _publish_all(producer, topic, events, key="m")
    down = {"value": True}
    handled: list[str] = []
    all_handled = asyncio.Event()

    async def batch(items: Sequence[Event]) -> None:
        if down["value"]:
            raise IndexDown("search index unreachable")
        handled.extend(e.subject_id for e in items)
        if len(handled) >= 4:
            all_handled.set()

    async def single(e: Event) -> None:
        await batch([e])

    # when: the consumer runs while the backend is down
    consumer = make_consumer("pauser", [topic], single, batch_handler=batch)
    runner = asyncio.create_task(consumer.run())
    try:
        await asyncio.sleep(3)
        # then: nothing was handled or dead-lettered; once it is back, the same batch is handled
        assert handled == []
        down["value"] = False
        await asyncio.wait_for(all_handled.wait(), timeout=20)
        assert handled == ["m0", "m1", "m2", "m3"]
    finally:
        consumer.stop()
        await asyncio.wait_for(runner, timeout=15)
    assert await read_topic(topics.dlq(topic), idle_ms=500) == []
