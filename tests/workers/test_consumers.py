"""``workers.consumers`` glue: a Worker description runs as a consumer beside the outbox relay."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cache.keys import RedisKeys
from events.envelope import Event
from events.outbox import OutboxRelay
from events.topics import Topics
from graph.statements.outbox import OUTBOX_APPEND
from workers.consumers import ConsumerConfig, Worker, build_consumers, run_consumers

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import redis.asyncio as aioredis

    from events.producer import EventProducer
    from graph.store import GraphStore
    from runtime.settings import Settings


async def test_run_consumers_delivers_outbox_events_to_workers(
    settings: Settings, graph_store: GraphStore, redis: aioredis.Redis, producer: EventProducer
) -> None:
    # given: a worker on the follows topic, built from a context object, and a relay
    got: asyncio.Queue[Event] = asyncio.Queue()

    def make_handler(ctx: asyncio.Queue[Event]) -> Callable[[Event], Awaitable[None]]:
        async def handle(event: Event) -> None:
            ctx.put_nowait(event)

        return handle

    config = ConsumerConfig(
        bootstrap=settings.kafka_bootstrap,
        topic_suffix=settings.topic_suffix,
        group_prefix=settings.consumer_group_prefix,
        backoff_ms=20,
        session_timeout_ms=1_000,
        heartbeat_interval_ms=200,
    )
    consumers = build_consumers(
        [Worker("probe", ("follows",), make_handler)],
        got,
        config=config,
        redis=redis,
        keys=RedisKeys(settings.redis_prefix),
        producer=producer,
    )
    relay = OutboxRelay(graph_store, producer, Topics(settings.topic_suffix), poll_interval=0.05)
    assert consumers[0].group_id == f"{settings.consumer_group_prefix}.probe"
    assert consumers[0].topics == [f"instagraph.follows{settings.topic_suffix}"]
    runner = asyncio.create_task(run_consumers(consumers, config=config, relay=relay))
    try:
        # when: a use case records a follow.created event
        event = Event.new("follow.created", actor_id="a", subject_id="b")
        await graph_store.write(OUTBOX_APPEND, {"outbox": event.outbox_props()})

        # then: the worker's handler receives it
        assert await asyncio.wait_for(got.get(), timeout=15) == event
    finally:
        relay.stop()
        for consumer in consumers:
            consumer.stop()
        await asyncio.wait_for(runner, timeout=10)
