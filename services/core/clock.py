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
