"""Cache-layer exceptions; redis-py errors are translated into these at the ``cache`` boundary
(:func:`redis_call` awaits one Redis round trip and does the translation).

    CacheError
    └── CacheUnavailable   Redis refused the connection, dropped it, or timed out

Services decide what an outage means for their use case (fall back to the graph, fail open, or raise
``services.core.errors.Unavailable``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from redis import exceptions as redis_errors

from backends.errors import BackendUnavailable

if TYPE_CHECKING:
    from collections.abc import Awaitable

T = TypeVar("T")


class CacheError(Exception):
    """Base class of every cache-layer error."""


class CacheUnavailable(CacheError, BackendUnavailable):
    """Redis cannot be reached or did not answer in time (``socket_timeout``)."""


#: The redis-py exceptions that mean "Redis is down or unreachable" (``BusyLoadingError`` is a subclass
#: of ``ConnectionError``); on a Redis Cluster also ``CLUSTERDOWN`` (slots not served: a master failed and no
#: replica took over yet) and a slot map that cannot be had (``SlotNotCoveredError``).
REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ClusterDownError,
    redis_errors.SlotNotCoveredError,
    OSError,
)


async def redis_call(awaitable: Awaitable[T]) -> T:
    """``await awaitable`` (a redis-py command or ``pipeline.execute()``), raising ``CacheUnavailable`` when
    Redis is down (``REDIS_DOWN``); every other error passes unchanged. The one translation of the layer."""
    try:
        return await awaitable
    except REDIS_DOWN as exc:
        raise CacheUnavailable(str(exc)) from exc
