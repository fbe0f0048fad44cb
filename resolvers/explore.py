"""Explore resolver: ``explore(first:, after:)`` through ``services.explore`` (anonymous viewers allowed); the
page's hydration goes to the request's DataLoaders (``resolvers.hydration.prime``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers import hydration
from resolvers.context import context_of

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.core.pagination import Page
    from services.core.records import PostRecord


async def explore(info: Info, first: int | None, after: str | None) -> Page[PostRecord]:
    """``explore(first:, after:)`` (errors: ``services.explore``)."""
    ctx = context_of(info)
    read = await ctx.services.explore.explore(await ctx.viewer_id(), first, after)
    hydration.prime(info, read.hydration)
    return read.page
