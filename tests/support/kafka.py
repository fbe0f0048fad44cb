"""Kafka fixtures (registered for every test by ``tests/conftest.py``): the module's topics (ensured per
test), a producer, a factory of fast consumers, and a reader of a topic from its start; and
:func:`relay_and_consume`, the outbox relay followed by one worker's consumer until it is idle."""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from aiokafka import AIOKafkaConsumer

from cache.keys import RedisKeys
from events.admin import ensure_topics
from events.consumer import Consumer
from events.outbox import OutboxRelay
from events.producer import EventProducer
from events.topics import Topics

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

    import redis.asyncio as aioredis
    from aiokafka.structs import ConsumerRecord

    from events.consumer import Handler
    from events.envelope import Event
    from graph.store import GraphStore
    from runtime.settings import Settings

# Tansu completes a group join in about max(1 s, session_timeout / 2); keep sessions short in tests.
FAST_GROUP = {"session_timeout_ms": 1_000, "heartbeat_interval_ms": 200, "poll_timeout_ms": 200}


@pytest.fixture
async def topics(settings: Settings) -> Topics:
    """The module's ``Topics``; every topic and DLQ is (re-)created first (Tansu forgets them on restart)."""
    result = Topics(settings.topic_suffix)
    await ensure_topics(settings.kafka_bootstrap, result.all())
    return result


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[EventProducer]:
    """A started producer (idempotence off for Tansu) with a short ack timeout, stopped afterwards."""
    result = EventProducer(
        settings.kafka_bootstrap,
        idempotence=settings.kafka_idempotence,
        suffix=settings.topic_suffix,
        request_timeout_ms=1_500,
    )
    await result.start()
    try:
        yield result
    finally:
        await result.stop()


@pytest.fixture
async def make_consumer(
    settings: Settings, redis: aioredis.Redis, producer: EventProducer
) -> AsyncIterator[Callable[..., Consumer]]:
    """Factory ``make(name, topics, handler, group=None, **opts)`` of fast consumers; closes them after."""
    made: list[Consumer] = []

    def make(
        name: str,
        topic_names: list[str],
        handler: Callable[[Event], Awaitable[None]],
        group: str | None = None,
        **opts: Any,
    ) -> Consumer:
        options: dict[str, Any] = {"max_retries": 3, "backoff_ms": 20, **FAST_GROUP, **opts}
        consumer = Consumer(
            name,
            topic_names,
            handler,
            bootstrap=settings.kafka_bootstrap,
            group_id=group or f"{settings.consumer_group_prefix}.{name}.{uuid.uuid4().hex[:8]}",
            redis=redis,
            keys=RedisKeys(settings.redis_prefix),
            producer=producer,
            **options,
        )
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        await consumer.close()


async def _read_topic(bootstrap: str, topic: str, *, idle_ms: int = 1_000) -> list[ConsumerRecord]:
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await reader.start()
    try:
        records: list[ConsumerRecord] = []
        while True:
            batch = await reader.getmany(timeout_ms=idle_ms)
            if not batch:
                return sorted(records, key=lambda r: (r.partition, r.offset))
            for part in batch.values():
                records.extend(part)
    finally:
        await reader.stop()


@pytest.fixture
def read_topic(settings: Settings) -> Callable[..., Awaitable[list[ConsumerRecord]]]:
    """``await read_topic(topic, idle_ms=1000)``: every record of ``topic`` from the start, no consumer group,
    sorted by (partition, offset)."""

    def read(topic: str, *, idle_ms: int = 1_000) -> Awaitable[list[ConsumerRecord]]:
        return _read_topic(settings.kafka_bootstrap, topic, idle_ms=idle_ms)

    return read


async def relay_and_consume(
    settings: Settings, graph: GraphStore, redis: aioredis.Redis, name: str, topic_names: Sequence[str],
    handler: Handler,
) -> None:  # fmt: skip
    """Publish the whole outbox with the real relay, then run worker ``name``'s consumer (``handler`` over
    ``topic_names``, a fresh consumer group) until it has been idle for 1.5 s (at most 60 s)."""
    topics = Topics(settings.topic_suffix)
    await ensure_topics(settings.kafka_bootstrap, topics.all())
    producer = EventProducer(settings.kafka_bootstrap, idempotence=False, suffix=settings.topic_suffix)
    await producer.start()
    consumer = Consumer(
        name, [topics.name(t) for t in topic_names], handler,
        bootstrap=settings.kafka_bootstrap,
        group_id=f"{settings.consumer_group_prefix}.{name}.{secrets.token_hex(3)}",
        redis=redis, keys=RedisKeys(settings.redis_prefix), producer=producer, backoff_ms=20, **FAST_GROUP,
    )  # fmt: skip
    try:
        relay = OutboxRelay(graph, producer, topics, batch_size=500)
        while await relay.relay_once():
            pass
        await consumer.run_until_idle(idle_ms=1_500, timeout_s=60)
    finally:
        await consumer.close()
        await producer.stop()
