"""Keyset pagination shared by every connection: opaque cursors and the ``first`` bound.

A cursor is URL-safe base64 of a JSON array of the sort key, e.g. ``[created_at_ms, id]``; never an offset,
so a page stays stable while rows are inserted before it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson

from services.core.errors import BadInput

T = TypeVar("T")

MAX_PAGE_SIZE = 100


def clamp_first(first: int | None, default: int, *, field_name: str = "first") -> int:
    """Return ``first`` (or ``default``); raises ``BadInput`` unless 1 <= first <= 100."""
    value = default if first is None else first
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise BadInput(field_name, f"{field_name} must be between 1 and {MAX_PAGE_SIZE}.")
    return value


def encode_cursor(*key: str | int | float) -> str:
    """Opaque cursor for a sort key tuple."""
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(
    cursor: str | None, types: tuple[type, ...], *, field_name: str = "after"
) -> tuple[Any, ...] | None:
    """Decode a cursor made by ``encode_cursor`` whose parts have ``types``; ``None`` passes through.

    Raises ``BadInput(field_name)`` for anything malformed or of the wrong shape.
    """
    if cursor is None:
        return None
    if len(cursor) > 512:
        raise BadInput(field_name, "Invalid cursor.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise BadInput(field_name, "Invalid cursor.") from exc
    if (
        not isinstance(parts, list)
        or len(parts) != len(types)
        or not all(isinstance(p, t) and not isinstance(p, bool) for p, t in zip(parts, types, strict=True))
    ):
        raise BadInput(field_name, "Invalid cursor.")
    return tuple(parts)


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of a connection: ``items`` as (cursor, item) pairs in order, plus page flags."""

    items: list[tuple[str, T]] = field(default_factory=list)
    has_next: bool = False
    has_previous: bool = False
    total_count: int | None = None
