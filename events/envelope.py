"""The event envelope: what every Kafka record's value is, and what an Outbox node stores.

Wire format (JSON, UTF-8)::

    {"id": "<UUIDv7>", "type": "follow.created", "version": 1, "occurred_at": 1718000000000,
     "actor_id": "<user id>" | null, "subject_id": "<entity id>", "data": {...}}

``occurred_at`` is epoch milliseconds. The record key is ``subject_id`` so that Kafka keeps one entity's
events in order. Record headers carry the id and type (``HEADER_EVENT_ID``, ``HEADER_EVENT_TYPE``) so a
DLQ reader can see them without parsing the value.

Errors: ``Event.from_json`` raises ``InvalidEvent`` (a ``ValueError``); ``Event.new`` and
``Event.outbox_props`` raise ``UnknownEventType`` for a type with no topic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import uuid_utils

from events.errors import InvalidEvent
from events.topics import topic_for

HEADER_EVENT_ID = "x-event-id"
HEADER_EVENT_TYPE = "x-event-type"

_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "type": (str,),
    "version": (int,),
    "occurred_at": (int,),
    "actor_id": (str, type(None)),
    "subject_id": (str,),
    "data": (dict,),
}


@dataclass(frozen=True, slots=True)
class Event:
    """One domain event. ``id`` is a UUIDv7 string (time-sortable), ``occurred_at`` epoch ms."""

    id: str
    type: str
    version: int
    occurred_at: int
    actor_id: str | None
    subject_id: str
    data: dict[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def new(
        cls,
        type: str,
        *,
        actor_id: str | None,
        subject_id: str,
        data: dict[str, Any] | None = None,
        version: int = 1,
    ) -> Event:
        """A new event with a fresh UUIDv7 id, stamped now (epoch ms).

        Raises ``UnknownEventType`` when ``type`` has no topic, so a typo fails at the write, not in a relay.
        """
        topic_for(type)
        return cls(
            id=str(uuid_utils.uuid7()),
            type=type,
            version=version,
            occurred_at=time.time_ns() // 1_000_000,
            actor_id=actor_id,
            subject_id=subject_id,
            data=dict(data or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """The envelope as a plain dict (the JSON object's fields)."""
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at,
            "actor_id": self.actor_id,
            "subject_id": self.subject_id,
            "data": self.data,
        }

    def to_json(self) -> bytes:
        """The envelope as compact UTF-8 JSON bytes (orjson)."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_json(cls, raw: bytes | str | None) -> Event:
        """Parse an envelope; raises ``InvalidEvent`` on bad JSON, a missing field or a wrong type."""
        if raw is None:
            raise InvalidEvent("empty record value")
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidEvent(f"not JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise InvalidEvent(f"envelope must be a JSON object, got {type(obj).__name__}")
        for name, kinds in _FIELDS.items():
            if name not in obj:
                raise InvalidEvent(f"envelope lacks {name!r}")
            value = obj[name]
            if not isinstance(value, kinds) or (kinds == (int,) and isinstance(value, bool)):
                raise InvalidEvent(f"envelope field {name!r} has type {type(value).__name__}")
        return cls(**{name: obj[name] for name in _FIELDS})

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka record headers for this event: ``[(HEADER_EVENT_ID, id), (HEADER_EVENT_TYPE, type)]``."""
        return [(HEADER_EVENT_ID, self.id.encode()), (HEADER_EVENT_TYPE, self.type.encode())]

    def outbox_props(self) -> dict[str, Any]:
        """Properties of this event's ``(:Outbox)`` node, for ``CREATE (o:Outbox) SET o = $outbox``.

        Shape: ``{id, topic (BASE topic name, the relay adds the suffix), type, key (= subject_id),
        payload (the JSON envelope as a str), created_at (epoch ms)}``. Raises ``UnknownEventType``.
        """
        return {
            "id": self.id,
            "topic": topic_for(self.type),
            "type": self.type,
            "key": self.subject_id,
            "payload": self.to_json().decode(),
            "created_at": self.occurred_at,
        }
