"""The outbox relay: publishes ``(:Outbox)`` nodes to Kafka and deletes each one after the broker's ack.

Writes never talk to Kafka: a use case's one Cypher statement records its event as an Outbox node
(``graph.statements.outbox``). The relay reads the oldest nodes (``ORDER BY created_at, id``), publishes
each to its topic (the deployment suffix applied), keyed by the subject id, and deletes the acknowledged
ones. Guarantees: at-least-once. A crash between publish and delete re-publishes (consumers dedupe by
event id); a broker outage keeps the nodes and the relay retries with exponential backoff
(``poll_interval`` doubling up to ``max_backoff``), so nothing is lost. Order is kept per run: the batch
stops at the first failure, so a later event of one subject is never published before an earlier one.

Errors: ``relay_once`` absorbs broker errors (logged; returns what it published) and raises
``graph.errors.GraphError`` when the graph fails; ``run`` logs both and keeps going.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import structlog
import uuid_utils

from events import metrics
from events.admin import ensure_topics
from events.envelope import HEADER_EVENT_ID, HEADER_EVENT_TYPE
from events.errors import BrokerError, BrokerUnavailable
from graph.errors import GraphError
from graph.statements.outbox import (
    OUTBOX_BACKLOG,
    OUTBOX_CLAIM,
    OUTBOX_DEAD_LETTER,
    OUTBOX_DELETE,
    OUTBOX_FAILED,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from events.producer import EventProducer
    from events.topics import Topics
    from graph.store import GraphStore, Row

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 5.0  # s a row that failed on its own account waits before its next attempt


def _now_ms() -> int:
    return int(time.time() * 1000)


class OutboxRelay:
    """Relay of one graph's outbox. ``poll_interval``, ``max_backoff``, ``lease``, ``retry_after`` (the wait
    of a row that failed on its own account) are seconds; ``owner`` names this relay in its leases (default:
    a fresh UUIDv7 per process)."""

    def __init__(
        self,
        store: GraphStore,
        producer: EventProducer,
        topics: Topics,
        *,
        poll_interval: float = 0.2,
        batch_size: int = 500,
        max_backoff: float = 5.0,
        backlog_every: float = 5.0,
        lease: float = 30.0,
        max_attempts: int = 5,
        retry_after: float = RETRY_AFTER_S,
        owner: str | None = None,
    ) -> None:
        self.store, self.producer, self.topics = store, producer, topics
        self.poll_interval, self.batch_size = poll_interval, batch_size
        self.max_backoff, self.backlog_every = max_backoff, backlog_every
        self.lease, self.max_attempts, self.retry_after = lease, max_attempts, retry_after
        self.owner = owner or str(uuid_utils.uuid7())
        self._stopping = asyncio.Event()
        self._broker_failed = False
        self._ensure_topics = False

    async def relay_once(self) -> int:
        """Claim up to ``batch_size`` rows, publish them all at once, delete the acknowledged ones.

        Returns how many were published (0 when the broker is down: the rows stay). Raises ``GraphError``.
        """
        now = _now_ms()
        rows = await self.store.write(
            OUTBOX_CLAIM,
            {"now": now, "owner": self.owner, "lease_ms": int(self.lease * 1000), "batch": self.batch_size,
             "scan": self.batch_size * 2},
        )  # fmt: skip
        self._broker_failed = False
        if not rows:
            return 0
        if self._ensure_topics:
            await self._recreate_topics()
        acked, failed, unavailable = await self._publish(rows)
        if acked:
            await self.store.write(OUTBOX_DELETE, {"ids": acked})
        if failed:
            await self._record_failures(failed, now)
        if unavailable:
            self._broker_failed = self._ensure_topics = True
            log.warning("outbox.broker_unavailable", pending=unavailable, published=len(acked))
        return len(acked)

    async def _publish(self, rows: Sequence[Row]) -> tuple[list[str], list[dict[str, str]], int]:
        """Publish ``rows``; returns (acknowledged ids, ``{id, error, topic}`` of rows that failed on their own
        account, number of rows not published because the broker is down)."""
        records: list[tuple[str, str | bytes | None, bytes, list[tuple[str, bytes]]]] = []
        sendable: list[Row] = []
        failed: list[dict[str, str]] = []
        for row in rows:
            try:
                topic = self.topics.name(row["topic"])
            except ValueError as exc:  # an Outbox node naming no known topic: never publishable as it is
                failed.append({"id": row["id"], "error": str(exc), "topic": str(row["topic"])})
                continue
            headers = [(HEADER_EVENT_ID, row["id"].encode()), (HEADER_EVENT_TYPE, row["type"].encode())]
            records.append((topic, row["key"], row["payload"].encode(), headers))
            sendable.append(row)
        acked: list[str] = []
        unavailable = 0
        try:
            results = await self.producer.publish_many(records) if records else []
        except BrokerUnavailable as exc:  # the producer cannot even start
            results = [exc] * len(records)
        for row, result in zip(sendable, results, strict=True):
            if isinstance(result, BrokerUnavailable):
                unavailable += 1
            elif isinstance(result, BrokerError):
                failed.append({"id": row["id"], "error": str(result)[:1000], "topic": str(row["topic"])})
            else:
                acked.append(row["id"])
                metrics.OUTBOX_PUBLISHED.labels(topic=row["topic"]).inc()
        return acked, failed, unavailable

    async def _record_failures(self, failed: list[dict[str, str]], now: int) -> None:
        for row in failed:
            log.error("outbox.bad_row", outbox_id=row["id"], topic=row["topic"], error=row["error"])
        recorded = await self.store.write(
            OUTBOX_FAILED,
            {"rows": [{"id": r["id"], "error": r["error"]} for r in failed],
             "retry_at": now + int(self.retry_after * 1000)},
        )  # fmt: skip
        spent = [r["id"] for r in recorded if int(r["attempts"]) >= self.max_attempts]
        moved = await self.store.write(OUTBOX_DEAD_LETTER, {"ids": spent, "now": now}) if spent else []
        for row in moved:
            metrics.OUTBOX_DEAD.labels(topic=str(row["topic"])).inc()
            log.error("outbox.dead_lettered", outbox_id=row["id"], topic=row["topic"])

    async def _recreate_topics(self) -> None:
        try:
            await ensure_topics(self.producer.bootstrap, self.topics.all())
            self._ensure_topics = False
        except BrokerError as exc:
            log.warning("outbox.ensure_topics_failed", error=str(exc))

    async def backlog(self) -> int:
        """Outbox nodes waiting; sets the ``instagraph_outbox_backlog`` gauge. Raises ``GraphError``."""
        rows = await self.store.read(OUTBOX_BACKLOG)
        count = int(rows[0]["backlog"]) if rows else 0
        metrics.OUTBOX_BACKLOG.set(count)
        return count

    def stop(self) -> None:
        """Ask ``run`` to return after the batch in hand."""
        self._stopping.set()

    async def run(self) -> None:
        """Relay until ``stop``: poll every ``poll_interval`` s, back off exponentially while failing."""
        delay, last_backlog = self.poll_interval, 0.0
        while not self._stopping.is_set():
            failed, published = False, 0
            try:
                published = await self.relay_once()
                failed = self._broker_failed
                if time.monotonic() - last_backlog >= self.backlog_every:
                    await self.backlog()
                    last_backlog = time.monotonic()
            except GraphError as exc:
                failed = True
                log.warning("outbox.graph_error", error=str(exc))
            delay = min(delay * 2, self.max_backoff) if failed else self.poll_interval
            if failed or published < self.batch_size:
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                except TimeoutError:
                    pass
