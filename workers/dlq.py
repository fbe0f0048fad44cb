"""``instagraph dlq list|redrive <topic>``: the dead-letter topics of this deployment, listed and replayed.

``<topic>`` is a base topic (``posts``), its physical name (``instagraph.posts``) or its DLQ's
(``instagraph.posts.dlq``). ``redrive`` replays through the handlers of the registered consumer workers
(``workers.registry.CONSUMERS``), built over this process's services exactly as ``instagraph worker <name>``
builds them, with their dedupe markers; see ``events.redrive`` for what happens to each record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from events.producer import EventProducer
from events.redrive import REDRIVE_GROUP, DeadLetterTopic
from events.topics import BASE_TOPICS, Topics
from runtime.container import build_services
from runtime.resources import open_resources

if TYPE_CHECKING:
    from events.redrive import DeadLetter, RedriveReport
    from runtime.settings import Settings


def dlq_topic(settings: Settings, topic: str) -> str:
    """The physical DLQ topic named by ``topic``; raises ``ValueError`` for an unknown topic."""
    topics = Topics(settings.topic_suffix)
    if topic in BASE_TOPICS:
        return topics.dlq(topics.name(topic))
    known = {topics.name(b): topics.dlq(topics.name(b)) for b in BASE_TOPICS}
    if topic in known:
        return known[topic]
    if topic in known.values():
        return topic
    raise ValueError(f"unknown topic {topic!r}; choose one of {', '.join(BASE_TOPICS)}")


def _dead_letters(settings: Settings, topic: str) -> DeadLetterTopic:
    group = f"{settings.consumer_group_prefix}.{REDRIVE_GROUP}"
    return DeadLetterTopic(settings.kafka_bootstrap, dlq_topic(settings, topic), group_id=group)


async def list_dead_letters(settings: Settings, topic: str, *, limit: int = 1_000) -> list[DeadLetter]:
    """The records of ``topic``'s DLQ not redriven yet, oldest first. Raises ``BrokerUnavailable``."""
    return await _dead_letters(settings, topic).pending(limit=limit)


async def redrive_dead_letters(settings: Settings, topic: str) -> RedriveReport:
    """Replay ``topic``'s DLQ through the consumers' own handlers. Raises ``BrokerUnavailable``."""
    from workers.registry import CONSUMERS, consumer_worker  # the registry imports every worker module

    producer = EventProducer(settings.kafka_bootstrap, idempotence=settings.kafka_idempotence)
    async with open_resources(settings) as resources, build_services(resources) as services:
        handlers = {name: consumer_worker(name).make_handler(services) for name in CONSUMERS}
        try:
            return await _dead_letters(settings, topic).redrive(
                handlers, redis=resources.cache, keys=resources.keys, producer=producer
            )
        finally:
            await producer.stop()
