"""The one wall clock of the services: epoch milliseconds, the unit of every stored time.

Every ``created_at`` / ``updated_at`` / ``$now`` a service writes to the graph comes from :func:`now_ms`, so
a test or a tool that needs another time passes it explicitly (``now_ms=`` arguments) instead of patching
several private helpers.
"""

from __future__ import annotations

import time


def now_ms() -> int:
    """The current time as integer epoch milliseconds (``time.time_ns() // 1_000_000``)."""
    return time.time_ns() // 1_000_000


class Clock:
    """A wall clock in epoch ms that can be moved forward: :meth:`now_ms` is the real time plus ``offset_ms``.

    Services whose rules compare stored times with now (stories expire) take one, so a test or a tool moves
    their time with :meth:`advance` instead of waiting; production code never moves it.
    """

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        """The current time (epoch ms) plus the offset."""
        return now_ms() + self.offset_ms

    def advance(self, ms: int) -> None:
        """Move this clock forward by ``ms`` milliseconds (negative: back)."""
        self.offset_ms += ms
