"""The topic registry: which Kafka topic carries which event type, and physical topic names.

An event type is ``<family>.<verb>`` (``follow.created``). Each family maps to one base topic; all events of
one subject go to one topic and are keyed by the subject id, so Kafka keeps them in order per entity.
The physical name is ``instagraph.<base><suffix>`` (tests give each module its own suffix) and every topic
has a dead-letter topic ``<topic>.dlq``.

Errors: an unknown family raises ``UnknownEventType`` (a ``ValueError``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from events.errors import UnknownEventType

#: event family -> base topic. ``block.*`` shares ``follows`` with ``follow.*``: both change the same edge
#: set and consumers (feed, notifications) must see them in order.
FAMILY_TOPICS: dict[str, str] = {
    "user": "users",
    "follow": "follows",
    "block": "follows",
    "post": "posts",
    "media": "media",
    "like": "engagement",
    "comment": "engagement",
    "story": "stories",
    "notification": "notifications",
}

#: Every base topic, in a stable order.
BASE_TOPICS: tuple[str, ...] = tuple(dict.fromkeys(FAMILY_TOPICS.values()))

_TYPE_RE = re.compile(r"^([a-z][a-z0-9_]*)\.[a-z][a-z0-9_.]*$")
_PREFIX = "instagraph."
_DLQ = ".dlq"


def topic_for(event_type: str) -> str:
    """Base topic of ``event_type``: ``topic_for("follow.created") == "follows"``.

    Raises ``UnknownEventType`` (a ``ValueError``) for a malformed type or an unregistered family.
    """
    match = _TYPE_RE.match(event_type)
    if match is None:
        raise UnknownEventType(f"malformed event type {event_type!r}; expected '<family>.<verb>'")
    try:
        return FAMILY_TOPICS[match.group(1)]
    except KeyError:
        raise UnknownEventType(f"no topic registered for event type {event_type!r}") from None


@dataclass(frozen=True, slots=True)
class Topics:
    """Physical names for one deployment: ``Topics(".t1").name("follows") == "instagraph.follows.t1"``."""

    suffix: str = ""

    def name(self, base: str) -> str:
        """Physical name of a base topic; raises ``ValueError`` for a base not in ``BASE_TOPICS``."""
        if base not in BASE_TOPICS:
            raise ValueError(f"unknown base topic {base!r}; known: {', '.join(BASE_TOPICS)}")
        return f"{_PREFIX}{base}{self.suffix}"

    def for_event(self, event_type: str) -> str:
        """Physical topic of an event type; raises ``UnknownEventType``."""
        return self.name(topic_for(event_type))

    @staticmethod
    def dlq(topic: str) -> str:
        """Dead-letter topic of a physical topic: ``<topic>.dlq``."""
        return f"{topic}{_DLQ}"

    def all(self) -> list[str]:
        """Every physical topic and its DLQ: ``[t1, t1.dlq, t2, t2.dlq, ...]``."""
        return [name for base in BASE_TOPICS for name in (self.name(base), self.dlq(self.name(base)))]


def all_topics(suffix: str = "") -> list[str]:
    """Every physical topic of a deployment with ``suffix``, DLQs included (see ``Topics.all``)."""
    return Topics(suffix).all()
