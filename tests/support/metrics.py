"""Reading this process's Prometheus metrics through the client library's public API."""

from __future__ import annotations

from prometheus_client import REGISTRY


def metric_value(sample: str, **labels: str) -> float:
    """The current value of the sample ``sample`` (e.g. ``instagraph_feed_rebuilds_total``) with ``labels``;
    0.0 when it has not been recorded yet."""
    value = REGISTRY.get_sample_value(sample, labels)
    return 0.0 if value is None else value
