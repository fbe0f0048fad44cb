"""Glue between worker descriptions and the consumer runtime.

A ``Worker`` names a feature consumer (``fanout``, ``notifications``...), the BASE topics it reads and a
factory that builds its handler from a context object the caller owns (services, clients).
``workers/registry.py`` lists the workers; entry points turn settings into a ``ConsumerConfig`` and call
``run_consumers``, which ensures the topics, runs one ``Consumer`` per worker (each its own consumer group,
``<group_prefix>.<name>``) and optionally the outbox relay, until cancelled or stopped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from events.admin import ensure_topics
from events.consumer import Consumer
from events.topics import BASE_TOPICS, Topics

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from redis.asyncio import Redis

    from cache.keys import RedisKeys
    from events.envelope import Event
    from events.outbox import OutboxRelay
    from events.producer import EventProducer

Ctx = TypeVar("Ctx")


@dataclass(frozen=True, slots=True)
class Worker(Generic[Ctx]):
    """A feature consumer: ``name``, BASE topic names (``("follows",)``), ``make_handler(ctx) -> handler``.

    Optional (see ``events.consumer``): ``make_batch_handler(ctx) -> batch handler`` for a consumer that
    handles a partition's batch at once (``make_handler`` still handles single events when a batch fails).
    """

    name: str
    topics: tuple[str, ...]
    make_handler: Callable[[Ctx], Callable[[Event], Awaitable[None]]]
    make_batch_handler: Callable[[Ctx], Callable[[Sequence[Event]], Awaitable[None]]] | None = None


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """Consumer settings, copied from ``runtime.settings.Settings`` by the entry point (ms units)."""

    bootstrap: str
    topic_suffix: str = ""
    group_prefix: str = "instagraph"
    max_retries: int = 3
    backoff_ms: int = 200
    outage_backoff_max_ms: int = 10_000
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    partitions: int = 3


def build_consumers(
    workers: Sequence[Worker[Ctx]],
    ctx: Ctx,
    *,
    config: ConsumerConfig,
    redis: Redis,
    keys: RedisKeys,
    producer: EventProducer,
) -> list[Consumer]:
    """One unstarted ``Consumer`` per worker, reading the workers' physical topics (suffix applied)."""
    topics = Topics(config.topic_suffix)
    return [
        Consumer(
            w.name,
            [topics.name(base) for base in w.topics],
            w.make_handler(ctx),
            bootstrap=config.bootstrap,
            group_id=f"{config.group_prefix}.{w.name}",
            redis=redis,
            keys=keys,
            producer=producer,
            max_retries=config.max_retries,
            backoff_ms=config.backoff_ms,
            outage_backoff_max_ms=config.outage_backoff_max_ms,
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=config.heartbeat_interval_ms,
            batch_handler=w.make_batch_handler(ctx) if w.make_batch_handler is not None else None,
        )
        for w in workers
    ]


async def run_consumers(
    consumers: Sequence[Consumer],
    *,
    config: ConsumerConfig,
    relay: OutboxRelay | None = None,
) -> None:
    """Ensure every topic (and its DLQ) exists, then run the consumers and ``relay`` concurrently.

    Returns when all of them stopped (``Consumer.stop`` / ``OutboxRelay.stop``); on cancellation every
    consumer leaves its group. Raises ``BrokerUnavailable`` when the topics cannot be ensured.
    """
    names = {t for c in consumers for t in c.topics}
    if relay is not None:
        names.update(relay.topics.name(base) for base in BASE_TOPICS)
    await ensure_topics(
        config.bootstrap, sorted(names | {Topics.dlq(t) for t in names}), partitions=config.partitions
    )
    runners: list[Any] = [c.run() for c in consumers]
    if relay is not None:
        runners.append(relay.run())
    async with asyncio.TaskGroup() as group:
        for runner in runners:
            group.create_task(runner)
