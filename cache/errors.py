"""Cache-layer exceptions; redis-py errors are translated into these at the ``cache`` boundary.

    CacheError
    └── CacheUnavailable   Redis refused the connection, dropped it, or timed out

Services decide what an outage means for their use case (fall back to the graph, fail open, or raise
``services.errors.Unavailable``).
"""

from __future__ import annotations

from redis import exceptions as redis_errors


class CacheError(Exception):
    """Base class of every cache-layer error."""


class CacheUnavailable(CacheError):
    """Redis cannot be reached or did not answer in time (``socket_timeout``)."""


#: The redis-py exceptions that mean "Redis is down or unreachable" (``BusyLoadingError`` is a subclass
#: of ``ConnectionError``).
REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    OSError,
)
