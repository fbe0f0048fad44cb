"""Resolving a field from a DataLoader without suspending when the value is already there.

A field resolver declared ``async def`` always costs a coroutine, and graphql-core gathers a parent's
awaitable fields with one ``asyncio`` task each: for a feed page of 10 posts with ``author``, ``likeCount``
and ``viewerHasLiked`` that was 30+ tasks and their event-loop turns per request, though the feed had
already primed every loader (pyinstrument on ``bench/bench_feed.py``'s query). Such fields are plain ``def``
resolvers returning :func:`settle`: the value at once when the request's loader holds it (primed, or loaded
earlier in the request), else an awaitable that graphql-core awaits as before (one batched load per page).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")


def settle(value: V | Awaitable[V], then: Callable[[V], R]) -> R | Awaitable[R]:
    """``then(value)`` now when ``value`` is a plain value or a future that already holds its result, else an
    awaitable of ``then(await value)``. Exceptions of ``then`` (e.g. ``NotFound``) are raised at once in the
    first case and when awaited in the second; a failed future fails when awaited."""
    if isinstance(value, asyncio.Future):
        if value.done() and not value.cancelled() and value.exception() is None:
            return then(value.result())
    elif not inspect.isawaitable(value):
        return then(cast("V", value))
    pending = cast("Awaitable[V]", value)

    async def later() -> R:
        return then(await pending)

    return later()


async def load_many_behind(held: Mapping[K, V], loader: DataLoader[K, V], keys: Sequence[K]) -> list[V]:
    """The values of ``keys`` in order: from ``held`` (the request's hydration) where it has them, the rest in
    one batched load of ``loader``."""
    missing = [key for key in keys if key not in held]
    loaded = dict(zip(missing, await loader.load_many(missing), strict=True)) if missing else {}
    return [held[key] if key in held else loaded[key] for key in keys]


async def resolve(value: V | Awaitable[V]) -> V:
    """``await`` ``value`` when it is awaitable (for callers that need the plain value in a coroutine)."""
    if inspect.isawaitable(value):
        return await cast("Awaitable[V]", value)
    return cast("V", value)
