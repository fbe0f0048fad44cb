"""Prometheus metrics of the event pipeline (prometheus_client, default registry).

Metric objects are module-level (they are values, not clients). ``_metric`` returns the collector already
registered under a name instead of failing, so a re-import (tests, reloads) does not raise
"Duplicated timeseries in CollectorRegistry".

    instagraph_consumer_lag{consumer,topic,partition}        gauge   records behind the high watermark
    instagraph_events_processed_total{consumer,topic}        counter handled successfully
    instagraph_events_skipped_total{consumer,topic}          counter duplicates (already seen)
    instagraph_events_failed_total{consumer,topic}           counter handler attempts that raised
    instagraph_events_dlq_total{consumer,topic}              counter records sent to the DLQ
    instagraph_consumer_store_waits_total{consumer}          counter pauses because a store was down
    instagraph_consumer_paused{consumer}                     gauge   1 while paused for a store outage
    instagraph_outbox_backlog                                gauge   Outbox nodes waiting to be published
    instagraph_outbox_published_total{topic}                 counter Outbox events published
    instagraph_outbox_dead_lettered_total{topic}             counter unpublishable Outbox rows set aside
"""

from __future__ import annotations

from typing import Any, TypeVar

from prometheus_client import REGISTRY, Counter, Gauge

_M = TypeVar("_M", Counter, Gauge)


def _metric(kind: type[_M], name: str, doc: str, labels: tuple[str, ...] = ()) -> _M:
    existing: Any = REGISTRY._names_to_collectors.get(name)  # the registry offers no public lookup
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    return kind(name, doc, labels)


CONSUMER_LAG = _metric(
    Gauge, "instagraph_consumer_lag", "Records behind the high watermark", ("consumer", "topic", "partition")
)
EVENTS_PROCESSED = _metric(
    Counter, "instagraph_events_processed", "Events handled successfully", ("consumer", "topic")
)
EVENTS_SKIPPED = _metric(
    Counter, "instagraph_events_skipped", "Redelivered events skipped by dedupe", ("consumer", "topic")
)
EVENTS_FAILED = _metric(
    Counter, "instagraph_events_failed", "Handler attempts that raised", ("consumer", "topic")
)
EVENTS_DLQ = _metric(Counter, "instagraph_events_dlq", "Records sent to the DLQ", ("consumer", "topic"))
STORE_WAITS = _metric(
    Counter, "instagraph_consumer_store_waits", "Consumer pauses because a store was down", ("consumer",)
)
CONSUMER_PAUSED = _metric(Gauge, "instagraph_consumer_paused", "1 while paused for a store outage", ("consumer",))
OUTBOX_DEAD = _metric(
    Counter, "instagraph_outbox_dead_lettered", "Unpublishable Outbox rows moved to a dead-letter record", ("topic",)
)
OUTBOX_BACKLOG = _metric(Gauge, "instagraph_outbox_backlog", "Outbox nodes waiting to be published")
OUTBOX_PUBLISHED = _metric(Counter, "instagraph_outbox_published", "Outbox events published", ("topic",))
