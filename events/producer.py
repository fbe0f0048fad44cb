"""The Kafka producer every publisher (the outbox relay, the consumers' DLQ) shares.

``acks="all"``: a publish returns only after the broker acknowledged the record. Idempotence
(``enable_idempotence``) is a setting: on for Apache Kafka, off for Tansu, which answers the idempotent
producer's InitProducerId with UnknownError. Consumers dedupe by event id, so a duplicate from a retried
send is harmless either way.

Errors: ``BrokerUnavailable`` when the broker cannot be reached or does not acknowledge within
``request_timeout_ms``; ``BrokerError`` when it refuses the record.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
)

from events.errors import BrokerError, BrokerUnavailable
from events.topics import Topics

if TYPE_CHECKING:
    from collections.abc import Sequence

    from events.envelope import Event

_UNAVAILABLE = (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
)


class EventProducer:
    """A started/stopped wrapper of ``AIOKafkaProducer``; ``suffix`` is the deployment's topic suffix.

    ``request_timeout_ms`` bounds one publish (the wait for the ack), so a broker outage costs a caller at
    most that long per call. Create one per process (Starlette lifespan / worker start), never per request.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        idempotence: bool,
        suffix: str = "",
        request_timeout_ms: int = 5_000,
        client_id: str = "instagraph",
    ) -> None:
        self.bootstrap = bootstrap
        self.idempotence = idempotence
        self.suffix = suffix
        self.request_timeout_ms = request_timeout_ms
        self.client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    def _new(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            acks="all",
            enable_idempotence=self.idempotence,
            request_timeout_ms=self.request_timeout_ms,
            retry_backoff_ms=100,
            linger_ms=0,
        )

    @property
    def started(self) -> bool:
        """True once ``start`` succeeded and until ``stop``."""
        return self._producer is not None

    async def start(self) -> None:
        """Connect and fetch metadata; raises ``BrokerUnavailable`` (the producer stays stopped)."""
        if self._producer is not None:
            return
        producer = self._new()
        try:
            await producer.start()
        except _UNAVAILABLE as exc:
            await producer.stop()
            raise BrokerUnavailable(f"cannot reach Kafka at {self.bootstrap}: {exc}") from exc
        except KafkaError as exc:
            await producer.stop()
            raise BrokerError(f"producer start failed: {exc}") from exc
        self._producer = producer

    async def stop(self) -> None:
        """Flush pending records and disconnect; safe to call twice."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def publish(
        self,
        topic: str,
        key: str | bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> tuple[int, int]:
        """Send one record to the physical ``topic`` and wait for the broker's ack.

        Returns ``(partition, offset)``. Starts the producer first if needed (so a process that came up
        while the broker was down recovers on its own). Raises ``BrokerUnavailable`` / ``BrokerError``.
        """
        await self.start()
        assert self._producer is not None
        raw_key = key.encode() if isinstance(key, str) else key
        try:
            meta = await self._producer.send_and_wait(topic, value, key=raw_key, headers=list(headers))
        except _UNAVAILABLE as exc:
            raise BrokerUnavailable(f"no ack from Kafka for {topic!r}: {exc!r}") from exc
        except KafkaError as exc:
            raise BrokerError(f"Kafka refused a record for {topic!r}: {exc!r}") from exc
        return meta.partition, meta.offset

    async def publish_many(
        self, records: Sequence[tuple[str, str | bytes | None, bytes, Sequence[tuple[str, bytes]]]]
    ) -> list[tuple[int, int] | BrokerError]:
        """Send ``records`` (``(topic, key, value, headers)``) with all sends in flight at once, then await
        every ack together; returns, per record in order, ``(partition, offset)`` or the ``BrokerError``
        (``BrokerUnavailable`` for an outage) that record got.

        Order: records are handed to the producer in the given order and aiokafka keeps one request in flight
        per broker connection, muting a partition while its batch is out, so records of one partition (one
        key) are appended in order. Once a send cannot even be queued because the broker is unreachable, the
        remaining records are not sent and get that ``BrokerUnavailable``. Raises ``BrokerUnavailable`` only
        when the producer cannot start.
        """
        await self.start()
        assert self._producer is not None
        results: list[tuple[int, int] | BrokerError | None] = [None] * len(records)
        pending: list[tuple[int, asyncio.Future[object]]] = []
        for i, (topic, key, value, headers) in enumerate(records):
            raw_key = key.encode() if isinstance(key, str) else key
            try:
                future = await self._producer.send(topic, value, key=raw_key, headers=list(headers))
            except _UNAVAILABLE as exc:
                down = BrokerUnavailable(f"cannot queue a record for {topic!r}: {exc!r}")
                results[i:] = [down] * (len(records) - i)
                break
            except KafkaError as exc:
                results[i] = BrokerError(f"Kafka refused a record for {topic!r}: {exc!r}")
                continue
            pending.append((i, future))
        acks = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        for (i, _), ack in zip(pending, acks, strict=True):
            if isinstance(ack, _UNAVAILABLE):
                results[i] = BrokerUnavailable(f"no ack from Kafka: {ack!r}")
            elif isinstance(ack, BaseException):
                results[i] = BrokerError(f"Kafka refused a record: {ack!r}")
            else:
                results[i] = (ack.partition, ack.offset)  # type: ignore[attr-defined]
        return [r if r is not None else BrokerError("not sent") for r in results]

    async def publish_event(self, event: Event) -> tuple[int, int]:
        """Publish ``event`` to its topic (suffix applied), keyed by ``subject_id``, with id/type headers.

        For tools and tests; use cases write the outbox instead. Returns ``(partition, offset)``; raises
        ``UnknownEventType``, ``BrokerUnavailable``, ``BrokerError``.
        """
        topic = Topics(self.suffix).for_event(event.type)
        return await self.publish(topic, event.subject_id, event.to_json(), event.headers())
