"""Event-layer exceptions; aiokafka errors are translated into these at the boundary.

EventError
├── InvalidEvent          bytes that are not a valid event envelope (also a ValueError)
├── UnknownEventType      an event type with no topic in the registry (also a ValueError)
└── BrokerError           the broker refused or failed a request
    └── BrokerUnavailable the broker cannot be reached, or did not acknowledge in time
"""

from __future__ import annotations

from backends.errors import BackendUnavailable


class EventError(Exception):
    """Base class of every event-layer error."""


class InvalidEvent(EventError, ValueError):
    """A record's value is not a JSON event envelope with the required fields and types."""


class UnknownEventType(EventError, ValueError):
    """The event type's family (``follow`` in ``follow.created``) has no topic."""


class BrokerError(EventError):
    """The broker answered with an error (e.g. a topic could not be created)."""


class BrokerUnavailable(BrokerError, BackendUnavailable):
    """The broker is unreachable or did not acknowledge before the request timeout."""
