"""The authenticated caller of a request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user: ``user_id``, ``session_id`` (refresh-token family) and ``session_version``."""

    user_id: str
    session_id: str
    session_version: int
