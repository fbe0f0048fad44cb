"""The one base class of every backend outage, below all the layers that talk to a backend.

    BackendUnavailable                    a backing service cannot be reached, dropped the connection, timed out
    ├── graph.errors.GraphUnavailable     the graph database
    ├── cache.errors.CacheUnavailable     Redis
    ├── media.errors.StoreUnavailable     S3
    └── events.errors.BrokerUnavailable   Kafka

Each backend layer raises its own subclass (next to the rest of its exception tree); the layers above catch
the base where any outage means the same thing (``services.core.errors`` re-exports it, so the GraphQL layer
answers ``SERVICE_UNAVAILABLE`` for all of them without importing a backend layer).
"""

from __future__ import annotations


class BackendUnavailable(Exception):
    """A backing service is unreachable or did not answer in time; retrying later may succeed."""
