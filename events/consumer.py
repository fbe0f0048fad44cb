"""The consumer runtime: at-least-once delivery, dedupe by event id, bounded retries, then a DLQ.

For each record of its consumer group's partitions a ``Consumer``:

1. parses the envelope; a record that is not a valid ``Event`` goes straight to the DLQ;
2. skips the event if ``seen:{consumer}:{event_id}`` exists in Redis (a redelivery);
3. calls ``await handler(event)``. Two kinds of failure are told apart:

   - a store is down (the handler raised ``backends.errors.BackendUnavailable``: the graph, Redis or its
     open circuit, S3, Kafka): the event is fine, so it is neither counted as an attempt nor dead-lettered.
     The consumer pauses ALL its partitions (``AIOKafkaConsumer.pause``; it keeps polling the paused
     consumer, so it stays in its group however long the outage lasts: aiokafka leaves the group after
     ``max_poll_interval_ms`` without a poll), waits ``backoff_ms`` doubling up to ``outage_backoff_max_ms``,
     resumes and retries the same event, until the store answers or the partition is revoked. Nothing is
     committed meanwhile;
   - anything else means the event cannot be handled: retried up to ``max_retries`` more times, sleeping
     ``backoff_ms * 2**(attempt-1)`` ms between attempts, then dead-lettered;

4. on success marks the event seen (``SET NX EX 7 d``); on exhaustion publishes the ORIGINAL record (value,
   key, headers, plus ``x-error``, ``x-attempts``, ``x-original-topic``... headers) to ``<topic>.dlq``
   (``events.deadletter``; ``instagraph dlq redrive`` replays it through the same handler later);
5. commits the partition's offset (``enable_auto_commit=False``) once its records are done.

A crash before the commit redelivers; step 2 and idempotent handlers make that harmless. When the DLQ
cannot be written (broker down) nothing is committed: the partition is rewound and retried after a backoff.
Redis failures in step 2/4 are logged and ignored (handlers are idempotent; Redis only saves work).

Batch mode (``batch_handler``, for consumers that write many documents per commit: the search indexer): the
valid, unseen events of one partition's batch are handed over together (``await batch_handler(events)``),
with the same outage wait and the same retries; when the batch still fails, each event is handled alone by
``handler`` (so one poison event ends in the DLQ, not the batch).

Errors: ``start`` raises ``BrokerUnavailable``; ``run`` logs and retries instead of raising.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, ConsumerStoppedError, KafkaConnectionError, KafkaError
from redis.exceptions import RedisError

from backends.errors import BackendUnavailable
from events import metrics
from events.deadletter import dead_letter
from events.envelope import Event
from events.errors import BrokerError, BrokerUnavailable, InvalidEvent

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from aiokafka.structs import ConsumerRecord
    from redis.asyncio import Redis

    from cache.keys import RedisKeys
    from events.producer import EventProducer

    Handler = Callable[[Event], Awaitable[None]]
    BatchHandler = Callable[[Sequence[Event]], Awaitable[None]]

log = structlog.get_logger(__name__)

SEEN_TTL_S = 7 * 24 * 3600


class _Interrupted(Exception):
    """``stop`` was called during a retry backoff, or the partition was revoked during an outage wait:
    leave the record uncommitted for redelivery."""


class Consumer:
    """One named consumer (``fanout``, ``notifications``...) of physical ``topics`` in group ``group_id``.

    ``backoff_ms`` is the first retry delay; ``session_timeout_ms`` / ``heartbeat_interval_ms`` tune group
    membership (Tansu takes about max(1 s, session/2) to complete a join, so tests use ~1 s).
    ``fetch_max_wait_ms`` bounds delivery latency: Tansu does not answer a waiting Fetch when a record
    arrives, it answers when the wait ends, so this is roughly the worst-case publish-to-handler delay.
    ``outage_backoff_max_ms`` caps the pause between retries while a store is down.
    """

    def __init__(
        self,
        name: str,
        topics: Sequence[str],
        handler: Handler,
        *,
        bootstrap: str,
        group_id: str,
        redis: Redis,
        keys: RedisKeys,
        producer: EventProducer,
        max_retries: int = 3,
        backoff_ms: int = 200,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        poll_timeout_ms: int = 500,
        max_records: int = 100,
        fetch_max_wait_ms: int = 100,
        batch_handler: BatchHandler | None = None,
        outage_backoff_max_ms: int = 10_000,
    ) -> None:
        self.name, self.topics, self.handler, self.group_id = name, list(topics), handler, group_id
        self.batch_handler = batch_handler
        self.bootstrap, self.redis, self.keys, self.producer = bootstrap, redis, keys, producer
        self.max_retries, self.backoff_ms = max_retries, backoff_ms
        self.outage_backoff_max_ms = max(outage_backoff_max_ms, backoff_ms)
        self._kafka_opts = {
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
            "fetch_max_wait_ms": fetch_max_wait_ms,
        }
        self.poll_timeout_ms, self.max_records = poll_timeout_ms, max_records
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Join the consumer group; raises ``BrokerUnavailable`` when the broker cannot be reached."""
        if self._consumer is not None:
            return
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            client_id=f"instagraph-{self.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self._kafka_opts,
        )
        try:
            await consumer.start()
        except KafkaConnectionError as exc:
            await consumer.stop()
            raise BrokerUnavailable(f"cannot reach Kafka at {self.bootstrap}: {exc}") from exc
        except BaseException:
            await consumer.stop()  # cancelled while joining the group: leave it now, not at session timeout
            raise
        self._consumer = consumer

    async def close(self) -> None:
        """Leave the group and disconnect; safe to call twice."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    def stop(self) -> None:
        """Ask ``run`` to return after the batch in hand."""
        self._stopping.set()

    async def run(self) -> None:
        """Poll and handle until ``stop``; retries start-up while the broker is down; closes on return."""
        try:
            while not self._stopping.is_set():
                try:
                    await self.start()
                    await self.poll_once()
                except (BrokerError, KafkaError) as exc:
                    log.warning("consumer.broker_error", consumer=self.name, error=repr(exc))
                    await self._sleep(max(self.backoff_ms, 1_000) / 1000)
        finally:
            await self.close()

    async def run_until_idle(self, *, idle_ms: int = 1_000, timeout_s: float = 30.0) -> int:
        """Poll until no record arrived for ``idle_ms`` or ``timeout_s`` passed; return records handled.

        For tests and one-shot tools; starts the consumer (raises ``BrokerUnavailable``), does not close it.
        """
        await self.start()
        handled, deadline = 0, time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and (time.monotonic() - quiet_since) * 1000 < idle_ms:
            count = await self.poll_once()
            if count:
                handled, quiet_since = handled + count, time.monotonic()
        return handled

    async def poll_once(self) -> int:
        """Fetch one batch, handle it, commit; return the number of records handled (any outcome)."""
        consumer = self._consumer
        if consumer is None:
            raise BrokerUnavailable("consumer not started")
        try:
            batch = await consumer.getmany(timeout_ms=self.poll_timeout_ms, max_records=self.max_records)
        except ConsumerStoppedError:
            return 0
        handled = 0
        for tp, records in batch.items():
            done = await self._handle_partition(consumer, tp, records)
            handled += done
        await self._report_lag(consumer)
        return handled

    async def _handle_partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord]
    ) -> int:
        done = 0
        records_left = records
        if self.batch_handler is not None:
            try:
                done = await self._handle_batch(consumer, tp, records)
            except _Interrupted:
                self._rewind(consumer, tp, records[0].offset)
                records_left = []
            else:
                records_left = records[done:]
        for record in records_left:
            try:
                await self._handle_record(consumer, tp, record)
            except BrokerError as exc:
                log.warning("consumer.dlq_unavailable", consumer=self.name, topic=tp.topic, error=repr(exc))
                self._rewind(consumer, tp, record.offset)
                break
            except _Interrupted:
                self._rewind(consumer, tp, record.offset)
                break
            done += 1
        if done:
            try:
                await consumer.commit({tp: records[done - 1].offset + 1})
            except CommitFailedError as exc:  # rebalanced meanwhile: the new owner redelivers, dedupe skips
                log.warning("consumer.commit_failed", consumer=self.name, topic=tp.topic, error=repr(exc))
        if done < len(records) and not self._stopping.is_set():
            await self._sleep(max(self.backoff_ms, 1_000) / 1000)
        return done

    async def _handle_batch(self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord]) -> int:
        """Batch mode: hand the valid unseen events to ``batch_handler`` (a store outage is waited out as in
        :meth:`_handle_record`; other failures retried), DLQ the invalid records, mark the events seen. Returns
        how many records are done: all of them, or 0 when the batch kept failing or the DLQ could not be
        written (the per-event path then takes over). Raises ``_Interrupted`` when ``stop`` came meanwhile."""
        assert self.batch_handler is not None
        events: list[Event] = []
        invalid: list[tuple[ConsumerRecord, InvalidEvent]] = []
        for record in records:
            try:
                events.append(Event.from_json(record.value))
            except InvalidEvent as exc:
                invalid.append((record, exc))
        seen = await self._seen_flags(events)
        unseen = {event.id: event for event, was_seen in zip(events, seen, strict=True) if not was_seen}
        fresh = list(unseen.values())  # a record published twice in one batch is handled once
        attempt, outage_wait_ms = 1, self.backoff_ms
        while fresh:
            try:
                await self.batch_handler(fresh)
                break
            except BackendUnavailable as exc:  # a store is down: not the events' fault, wait it out
                await self._wait_out_outage(consumer, tp, fresh[0], exc, outage_wait_ms)
                outage_wait_ms = min(outage_wait_ms * 2, self.outage_backoff_max_ms)
            # The runtime's boundary: whatever else a handler raises is retried, then handled event by event.
            except Exception as exc:
                log.warning("consumer.batch_failed", consumer=self.name, events=len(fresh), attempt=attempt,
                            error=repr(exc))  # fmt: skip
                if attempt > self.max_retries:
                    return 0
                await self._sleep(self.backoff_ms * 2 ** (attempt - 1) / 1000)
                if self._stopping.is_set():
                    raise _Interrupted(fresh[0].id) from exc
                attempt += 1
        try:
            for record, problem in invalid:
                await dead_letter(self.producer, record, problem, attempts=0, consumer=self.name)
        except BrokerError:
            return 0  # the per-event path retries the DLQ (the batch's effects are idempotent)
        await self._mark_seen(fresh)
        metrics.EVENTS_PROCESSED.labels(consumer=self.name, topic=records[0].topic).inc(len(fresh))
        return len(records)

    async def _seen_flags(self, events: list[Event]) -> list[bool]:
        if not events:
            return []
        try:
            pipe = self.redis.pipeline(transaction=False)
            for event in events:
                pipe.exists(self.keys.seen(self.name, event.id))
            return [bool(flag) for flag in await pipe.execute()]
        except RedisError as exc:
            log.warning("consumer.redis_error", consumer=self.name, error=repr(exc))
            return [False] * len(events)

    async def _mark_seen(self, events: list[Event]) -> None:
        if not events:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for event in events:
                pipe.set(self.keys.seen(self.name, event.id), b"1", nx=True, ex=SEEN_TTL_S)
            await pipe.execute()
        except RedisError as exc:
            log.warning("consumer.redis_error", consumer=self.name, error=repr(exc))

    @staticmethod
    def _rewind(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        if tp in consumer.assignment():  # a revoked partition is redelivered to its new owner anyway
            consumer.seek(tp, offset)

    async def _handle_record(self, consumer: AIOKafkaConsumer, tp: TopicPartition, record: ConsumerRecord) -> None:
        labels = {"consumer": self.name, "topic": record.topic}
        try:
            event = Event.from_json(record.value)
        except InvalidEvent as exc:
            await dead_letter(self.producer, record, exc, attempts=0, consumer=self.name)
            return
        seen_key = self.keys.seen(self.name, event.id)
        if await self._redis_call(self.redis.exists(seen_key)):
            metrics.EVENTS_SKIPPED.labels(**labels).inc()
            log.info("consumer.duplicate_skipped", consumer=self.name, event_id=event.id)
            return
        attempt, outage_wait_ms = 1, self.backoff_ms
        while True:
            try:
                await self.handler(event)
            except BackendUnavailable as exc:  # a store is down: not the event's fault, wait it out
                await self._wait_out_outage(consumer, tp, event, exc, outage_wait_ms)
                outage_wait_ms = min(outage_wait_ms * 2, self.outage_backoff_max_ms)
                continue
            # The runtime's boundary: whatever else a handler raises is retried, then dead-lettered.
            except Exception as exc:
                metrics.EVENTS_FAILED.labels(**labels).inc()
                log.warning(
                    "consumer.handler_failed",
                    consumer=self.name,
                    event_id=event.id,
                    event_type=event.type,
                    attempt=attempt,
                    error=repr(exc),
                )
                if attempt > self.max_retries:
                    await dead_letter(self.producer, record, exc, attempts=attempt, consumer=self.name)
                    return
                await self._sleep(self.backoff_ms * 2 ** (attempt - 1) / 1000)
                if self._stopping.is_set():
                    raise _Interrupted(event.id) from exc
                attempt += 1
            else:
                await self._redis_call(self.redis.set(seen_key, b"1", nx=True, ex=SEEN_TTL_S))
                metrics.EVENTS_PROCESSED.labels(**labels).inc()
                return

    async def _wait_out_outage(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, event: Event, exc: Exception, wait_ms: int
    ) -> None:
        """Pause every assigned partition for ``wait_ms`` while polling (group membership), then resume.

        Raises ``_Interrupted`` when ``stop`` was called or ``tp`` was revoked meanwhile (the record in hand
        is then left uncommitted)."""
        metrics.STORE_WAITS.labels(consumer=self.name).inc()
        metrics.CONSUMER_PAUSED.labels(consumer=self.name).set(1)
        log.warning(
            "consumer.store_unavailable", consumer=self.name, event_id=event.id, event_type=event.type,
            retry_in_ms=wait_ms, error=repr(exc),
        )  # fmt: skip
        paused = list(consumer.assignment())
        consumer.pause(*paused)
        try:
            deadline = time.monotonic() + wait_ms / 1000
            while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
                # Paused partitions return nothing: this only keeps the member alive in its group.
                await consumer.getmany(timeout_ms=max(1, int(min(left, self.poll_timeout_ms / 1000) * 1000)))
        except ConsumerStoppedError:
            raise _Interrupted(event.id) from exc
        finally:
            consumer.resume(*[p for p in paused if p in consumer.assignment()])
            metrics.CONSUMER_PAUSED.labels(consumer=self.name).set(0)
        if self._stopping.is_set() or tp not in consumer.assignment():
            raise _Interrupted(event.id) from exc

    async def _redis_call(self, call: Awaitable[object]) -> object:
        try:
            return await call
        except RedisError as exc:
            log.warning("consumer.redis_error", consumer=self.name, error=repr(exc))
            return None

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            position = await consumer.position(tp)
            metrics.CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(max(high - position, 0))

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass
