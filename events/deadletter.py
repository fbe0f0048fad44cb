"""Dead-lettering: a record a consumer gave up on goes, unchanged, to ``<topic>.dlq`` with why.

The DLQ record keeps the original value, key and headers and adds:

    x-error              repr of the last exception (at most 1,000 characters)
    x-attempts           handler attempts made ("0" for a record that is not a valid event)
    x-original-topic     the physical topic it was read from
    x-original-partition the partition it was read from
    x-original-offset    its offset there
    x-consumer           the consumer's name

so that, once the cause is fixed, ``instagraph dlq redrive <topic>`` (``events.redrive``) replays it through
the same consumer's handler.
Errors: ``BrokerUnavailable`` / ``BrokerError`` from the producer; the caller must not commit then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from events import metrics
from events.topics import Topics

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord

    from events.producer import EventProducer

log = structlog.get_logger(__name__)

MAX_ERROR_CHARS = 1_000


def dead_letter_headers(
    record: ConsumerRecord, exc: BaseException, *, attempts: int, consumer: str
) -> list[tuple[str, bytes]]:
    """The original headers followed by the ``x-*`` headers above."""
    return [
        *record.headers,
        ("x-error", repr(exc)[:MAX_ERROR_CHARS].encode()),
        ("x-attempts", str(attempts).encode()),
        ("x-original-topic", record.topic.encode()),
        ("x-original-partition", str(record.partition).encode()),
        ("x-original-offset", str(record.offset).encode()),
        ("x-consumer", consumer.encode()),
    ]


async def dead_letter(
    producer: EventProducer, record: ConsumerRecord, exc: BaseException, *, attempts: int, consumer: str
) -> tuple[int, int]:
    """Publish ``record`` to its DLQ and wait for the ack; returns the DLQ ``(partition, offset)``.

    Raises ``BrokerUnavailable`` / ``BrokerError``.
    """
    headers = dead_letter_headers(record, exc, attempts=attempts, consumer=consumer)
    where = await producer.publish(Topics.dlq(record.topic), record.key, record.value or b"", headers)
    metrics.EVENTS_DLQ.labels(consumer=consumer, topic=record.topic).inc()
    log.error(
        "consumer.dead_lettered",
        consumer=consumer,
        topic=record.topic,
        offset=record.offset,
        attempts=attempts,
        error=repr(exc),
    )
    return where
