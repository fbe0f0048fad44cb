"""Shared GraphQL building blocks: the ``Node`` interface, global IDs, ``PageInfo`` and times.

Global IDs are opaque: URL-safe base64 of ``"<Type>:<uuid>"``. ``DateTime`` is Strawberry's ISO-8601 scalar;
the graph stores epoch milliseconds and :func:`from_ms` converts.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import strawberry

from services.core.errors import BadInput

if TYPE_CHECKING:
    from services.core.pagination import Page


@strawberry.interface(description="An object with a global ID; `node(id:)` fetches any of them.")
class Node:
    id: strawberry.ID


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        """Page flags and the first/last cursors of ``page``."""
        return cls(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.items[0][0] if page.items else None,
            end_cursor=page.items[-1][0] if page.items else None,
        )


def to_global_id(type_name: str, raw_id: str) -> strawberry.ID:
    """``to_global_id("User", "0190…")`` -> opaque ID."""
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{raw_id}".encode()).decode().rstrip("="))


def from_global_id(global_id: str, *, field: str, expected: str | None = None) -> tuple[str, str]:
    """Decode a global ID into ``(type_name, raw_id)``.

    Raises ``BadInput(field)`` when it is malformed or (with ``expected``) names another type.
    """
    try:
        if len(global_id) > 200:
            raise ValueError
        text = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, raw_id = text.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(field, f"{field} is not a valid ID.") from exc
    if not raw_id or (expected is not None and type_name != expected):
        raise BadInput(field, f"{field} is not a valid {expected or 'node'} ID.")
    return type_name, raw_id


def from_ms(ms: int | None) -> datetime | None:
    """Epoch milliseconds -> aware UTC datetime (``None`` passes through)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)
