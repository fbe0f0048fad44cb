"""Dead-letter topics, read back: list what is waiting in ``<topic>.dlq`` and replay it (``instagraph dlq``).

A record lands in a DLQ when its consumer could not handle it (``events.deadletter``; a store outage never
sends it there). Once the cause is fixed (a bug, bad data), ``redrive`` replays the DLQ through the SAME
handler of the consumer that dead-lettered it (its name is the record's ``x-consumer`` header), with that
consumer's dedupe (``seen:{consumer}:{event_id}``): an event the consumer already handled (redelivered before
it was dead-lettered, or redriven before) is skipped, so its effect happens once.

Progress is the consumer group ``<group_prefix>.dlq-redrive`` on the DLQ topic: ``list`` shows the records
after that group's committed offsets (those not redriven yet) and ``redrive`` commits each record it is done
with. A run stops at the high watermark it saw when it started. Per record:

- handled (or already seen): committed;
- failed again (``max_attempts`` tries): appended again at the DLQ's tail with ``x-attempts`` raised and
  ``x-redriven`` set, then committed, so one bad record never blocks the others (the next run sees it again);
- a store is down (``BackendUnavailable``), or no handler is known for its consumer: the run stops there,
  uncommitted, and says so (run it again later).

Errors: ``BrokerUnavailable`` when the broker cannot be reached.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from redis.exceptions import RedisError

from backends.errors import BackendUnavailable
from events.envelope import HEADER_EVENT_ID, HEADER_EVENT_TYPE, Event
from events.errors import BrokerUnavailable, InvalidEvent

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from aiokafka.structs import ConsumerRecord
    from redis.asyncio import Redis

    from cache.keys import RedisKeys
    from events.producer import EventProducer

    Handler = Callable[[Event], Awaitable[None]]

log = structlog.get_logger(__name__)

SEEN_TTL_S = 7 * 24 * 3600  # as the consumer runtime's dedupe marker
REDRIVE_GROUP = "dlq-redrive"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One DLQ record: where it is, which event, who gave up on it and why."""

    partition: int
    offset: int
    timestamp_ms: int
    event_id: str
    event_type: str
    consumer: str
    attempts: int
    error: str
    original_topic: str


@dataclass(slots=True)
class RedriveReport:
    """What a redrive did: event ids ``handled``, ``skipped`` (already handled), ``failed`` (re-appended to
    the DLQ) and, when it stopped early, ``stopped`` (why) with the record it stopped at."""

    handled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stopped: str = ""


def _header(record: ConsumerRecord, name: str) -> str:
    for key, value in record.headers or ():
        if key == name:
            return value.decode(errors="replace")
    return ""


def dead_letter_of(record: ConsumerRecord) -> DeadLetter:
    """The :class:`DeadLetter` view of a DLQ record (its ``x-*`` headers; ``event_id``/``event_type`` empty
    when the record was not even an event)."""
    attempts = _header(record, "x-attempts")
    return DeadLetter(
        partition=record.partition, offset=record.offset, timestamp_ms=record.timestamp,
        event_id=_header(record, HEADER_EVENT_ID), event_type=_header(record, HEADER_EVENT_TYPE),
        consumer=_header(record, "x-consumer"), attempts=int(attempts) if attempts.isdigit() else 0,
        error=_header(record, "x-error"), original_topic=_header(record, "x-original-topic"),
    )  # fmt: skip


class DeadLetterTopic:
    """One DLQ topic (physical name ``dlq_topic``) on ``bootstrap``; progress in group ``group_id``."""

    def __init__(self, bootstrap: str, dlq_topic: str, *, group_id: str) -> None:
        self.bootstrap, self.topic, self.group_id = bootstrap, dlq_topic, group_id

    async def _open(self) -> tuple[AIOKafkaConsumer, dict[TopicPartition, int]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", fetch_max_wait_ms=100,
        )  # fmt: skip
        try:
            await consumer.start()
            partitions = [TopicPartition(self.topic, p) for p in sorted(await self._partitions(consumer))]
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions) if partitions else {}
            for tp in partitions:
                committed = await consumer.committed(tp)
                consumer.seek(tp, committed if committed is not None else 0)
        except KafkaConnectionError as exc:
            await consumer.stop()
            raise BrokerUnavailable(f"cannot reach Kafka at {self.bootstrap}: {exc}") from exc
        except BaseException:
            await consumer.stop()
            raise
        return consumer, ends

    async def _partitions(self, consumer: AIOKafkaConsumer) -> set[int]:
        for _ in range(20):  # metadata of a topic this client never named yet
            found = consumer.partitions_for_topic(self.topic)
            if found:
                return set(found)
            await consumer._client.force_metadata_update()  # aiokafka offers no public refresh
            await asyncio.sleep(0.05)
        return set()

    async def _records(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> list[ConsumerRecord]:
        """Every record from the committed positions up to ``ends`` (the high watermarks at start)."""
        records: list[ConsumerRecord] = []
        pending = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, rows in batch.items():
                records += [r for r in rows if r.offset < ends[tp]]
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset))

    async def pending(self, *, limit: int = 1_000) -> list[DeadLetter]:
        """The records not redriven yet (after the group's committed offsets), oldest first, at most
        ``limit``. Commits nothing. Raises ``BrokerUnavailable``."""
        consumer, ends = await self._open()
        try:
            return [dead_letter_of(r) for r in (await self._records(consumer, ends))[:limit]]
        finally:
            await consumer.stop()

    async def redrive(
        self,
        handlers: Mapping[str, Handler],
        *,
        redis: Redis,
        keys: RedisKeys,
        producer: EventProducer,
        max_attempts: int = 3,
    ) -> RedriveReport:
        """Replay the pending records through ``handlers`` (consumer name -> handler); see the module
        docstring for what happens to each. Raises ``BrokerUnavailable``."""
        report = RedriveReport()
        consumer, ends = await self._open()
        try:
            for record in await self._records(consumer, ends):
                outcome = await self._replay(record, handlers, redis, keys, producer, max_attempts, report)
                if outcome:
                    report.stopped = f"{outcome} (partition {record.partition}, offset {record.offset})"
                    break
                tp = TopicPartition(record.topic, record.partition)
                await consumer.commit({tp: record.offset + 1})
        finally:
            await consumer.stop()
        return report

    async def _replay(
        self,
        record: ConsumerRecord,
        handlers: Mapping[str, Handler],
        redis: Redis,
        keys: RedisKeys,
        producer: EventProducer,
        max_attempts: int,
        report: RedriveReport,
    ) -> str:
        """Handle one record; returns "" to go on, or why the run must stop here."""
        letter = dead_letter_of(record)
        handler = handlers.get(letter.consumer)
        if handler is None:
            return f"no handler for consumer {letter.consumer!r}"
        try:
            event = Event.from_json(record.value)
        except InvalidEvent as exc:
            await self._append_again(producer, record, exc, letter)
            report.failed.append(letter.event_id or f"{record.partition}:{record.offset}")
            return ""
        seen = keys.seen(letter.consumer, event.id)
        if await _redis_or_none(redis.exists(seen)):
            report.skipped.append(event.id)
            return ""
        for attempt in range(1, max_attempts + 1):
            try:
                await handler(event)
            except BackendUnavailable as exc:
                return f"a store is unavailable: {exc!r}"
            except Exception as exc:  # the handler's failure is the record's: retried, then set aside again
                log.warning("dlq.redrive_failed", event_id=event.id, attempt=attempt, error=repr(exc))
                if attempt == max_attempts:
                    await self._append_again(producer, record, exc, letter)
                    report.failed.append(event.id)
                    return ""
            else:
                await _redis_or_none(redis.set(seen, b"1", nx=True, ex=SEEN_TTL_S))
                report.handled.append(event.id)
                return ""
        return ""

    async def _append_again(
        self, producer: EventProducer, record: ConsumerRecord, exc: BaseException, letter: DeadLetter
    ) -> None:
        replaced = {"x-error", "x-attempts", "x-redriven"}
        headers = [(k, v) for k, v in record.headers or () if k not in replaced]
        headers += [
            ("x-error", f"{type(exc).__name__}: {exc}"[:1000].encode()),
            ("x-attempts", str(letter.attempts + 1).encode()),
            ("x-redriven", b"1"),
        ]
        await producer.publish(self.topic, record.key, record.value or b"", headers)


async def _redis_or_none(call: Awaitable[object]) -> object:
    try:
        return await call
    except (RedisError, OSError) as exc:
        log.warning("dlq.redis_unavailable", error=repr(exc))
        return None
