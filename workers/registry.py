"""Every worker process by name: ``instagraph worker NAME`` runs one; ``instagraph dev`` runs them all.

- ``outbox-relay``: publishes Outbox nodes to Kafka (events/outbox.py).
- consumers (``workers/<name>.py`` exports ``WORKER``; a ``-`` in the name is a ``_`` in the module's):
  ``fanout``, ``media``, ``notifications``, ``stories-expiry`` (expired and deleted stories' media), ``indexer``
  (search indexes), ``hashtags`` (trending counters).
- periodic jobs (``workers/<name>.py`` exports ``JOB``): ``counters`` (like-count write-back),
  ``sweeper`` (posts stuck in PENDING_UPLOAD or PROCESSING), ``notification-delivery`` (held notification
  updates and Web Push; module ``workers/notification_delivery.py``, interval from the settings),
  ``stories-sweeper`` (the story expiry schedule, view-count write-back and the reconciliation sweep;
  interval from the settings), ``edge-indexes`` (builds the followers/following/likers/comments/grid indexes
  that reads found missing; module ``workers/edge_indexes.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import signal
from typing import TYPE_CHECKING

from events.outbox import OutboxRelay
from events.producer import EventProducer
from events.topics import Topics
from runtime.container import build_services
from runtime.resources import open_resources
from workers.consumers import ConsumerConfig, Worker, build_consumers, run_consumers
from workers.periodic import PeriodicJob, run_periodic

if TYPE_CHECKING:
    from runtime.settings import Settings

CONSUMERS: tuple[str, ...] = ("fanout", "media", "notifications", "stories-expiry", "indexer", "hashtags")
PERIODIC: tuple[str, ...] = ("counters", "sweeper", "notification-delivery", "stories-sweeper", "edge-indexes")
#: Periodic jobs whose interval is a setting: job name -> the ``Settings`` field (seconds).
INTERVAL_SETTINGS: dict[str, str] = {
    "notification-delivery": "notification_delivery_interval",
    "stories-sweeper": "story_expiry_poll_interval",
}
WORKER_NAMES: tuple[str, ...] = ("outbox-relay", *CONSUMERS, *PERIODIC)


def consumer_config(settings: Settings) -> ConsumerConfig:
    """Consumer settings from the process settings."""
    return ConsumerConfig(
        bootstrap=settings.kafka_bootstrap,
        topic_suffix=settings.topic_suffix,
        group_prefix=settings.consumer_group_prefix,
        max_retries=settings.consumer_max_retries,
        backoff_ms=settings.consumer_retry_backoff_ms,
        outage_backoff_max_ms=settings.consumer_outage_backoff_max_ms,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
    )


def consumer_worker(name: str) -> Worker:
    """The ``WORKER`` exported by ``workers/<name>.py`` (``-`` in the name is ``_`` in the module)."""
    return importlib.import_module(f"workers.{name.replace('-', '_')}").WORKER


def periodic_job(name: str, settings: Settings | None = None) -> PeriodicJob:
    """The ``JOB`` exported by ``workers/<name>.py`` (``-`` in the name is ``_`` in the module), with the
    interval the settings give it where they do."""
    job: PeriodicJob = importlib.import_module(f"workers.{name.replace('-', '_')}").JOB
    field = INTERVAL_SETTINGS.get(name)
    if field is not None and settings is not None:
        job = dataclasses.replace(job, interval=float(getattr(settings, field)))
    return job


def _stop_on_signals(stop: asyncio.Event, tasks: list[asyncio.Task]) -> None:
    loop = asyncio.get_running_loop()

    def handle() -> None:
        stop.set()
        for task in tasks:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handle)


async def run_worker(name: str, settings: Settings) -> None:
    """Run worker ``name`` until SIGINT/SIGTERM; raises ``ValueError`` for an unknown name."""
    if name not in WORKER_NAMES:
        raise ValueError(f"unknown worker {name!r}; choose one of {', '.join(WORKER_NAMES)}")
    config = consumer_config(settings)
    producer = EventProducer(settings.kafka_bootstrap, idempotence=settings.kafka_idempotence)
    stop = asyncio.Event()
    async with open_resources(settings) as resources, build_services(resources) as services:
        try:  # the producer starts on first publish, so a worker outlives a broker outage at start-up
            if name == "outbox-relay":
                relay = OutboxRelay(
                    resources.graph, producer, Topics(settings.topic_suffix),
                    poll_interval=settings.outbox_poll_interval, batch_size=settings.outbox_batch_size,
                    lease=settings.outbox_lease, max_attempts=settings.outbox_max_attempts,
                )
                runner = run_consumers([], config=config, relay=relay)
            elif name in CONSUMERS:
                consumers = build_consumers(
                    [consumer_worker(name)], services, config=config,
                    redis=resources.cache, keys=resources.keys, producer=producer,
                )
                runner = run_consumers(consumers, config=config)
            else:
                runner = run_periodic(periodic_job(name, settings), services, stop)
            task = asyncio.ensure_future(runner)
            _stop_on_signals(stop, [task])
            try:
                await task
            except asyncio.CancelledError:
                pass
        finally:
            await producer.stop()
