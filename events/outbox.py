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

from events import metrics
from events.envelope import HEADER_EVENT_ID, HEADER_EVENT_TYPE
from events.errors import BrokerError
from graph.errors import GraphError
from graph.statements.outbox import OUTBOX_BACKLOG, OUTBOX_DELETE, OUTBOX_PENDING

if TYPE_CHECKING:
    from events.producer import EventProducer
    from events.topics import Topics
    from graph.store import GraphStore, Row

log = structlog.get_logger(__name__)


class OutboxRelay:
    """Relay of one graph's outbox. ``poll_interval`` and ``max_backoff`` are seconds."""

    def __init__(
        self,
        store: GraphStore,
        producer: EventProducer,
        topics: Topics,
        *,
        poll_interval: float = 0.2,
        batch_size: int = 100,
        max_backoff: float = 5.0,
        backlog_every: float = 5.0,
    ) -> None:
        self.store, self.producer, self.topics = store, producer, topics
        self.poll_interval, self.batch_size = poll_interval, batch_size
        self.max_backoff, self.backlog_every = max_backoff, backlog_every
        self._stopping = asyncio.Event()
        self._broker_failed = False

    async def relay_once(self) -> int:
        """Publish up to ``batch_size`` of the oldest Outbox nodes; delete the acknowledged ones.

        Returns how many were published (0 when the broker is down: the nodes stay). Raises ``GraphError``.
        """
        rows = await self.store.read(OUTBOX_PENDING, {"batch": self.batch_size})
        acked: list[str] = []
        self._broker_failed = False
        for row in rows:
            try:
                await self._publish(row)
            except ValueError as exc:  # an Outbox node naming no known topic: keep it, alert, go on
                log.error("outbox.bad_row", outbox_id=row["id"], topic=row["topic"], error=str(exc))
                continue
            except BrokerError as exc:
                self._broker_failed = True
                log.warning("outbox.broker_unavailable", pending=len(rows) - len(acked), error=str(exc))
                break
            acked.append(row["id"])
        if acked:
            await self.store.write(OUTBOX_DELETE, {"ids": acked})
        return len(acked)

    async def _publish(self, row: Row) -> None:
        topic = self.topics.name(row["topic"])
        headers = [(HEADER_EVENT_ID, row["id"].encode()), (HEADER_EVENT_TYPE, row["type"].encode())]
        await self.producer.publish(topic, row["key"], row["payload"].encode(), headers)
        metrics.OUTBOX_PUBLISHED.labels(topic=row["topic"]).inc()

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
