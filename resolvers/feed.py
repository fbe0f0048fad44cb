"""Home feed resolver: thin; the read pipeline lives in ``services.feed``.

``await home_feed(info, first, after) -> Page[PostRecord]``: requires a viewer (``Unauthenticated``), clamps
``first`` to 1..100 (default 10; else ``BadInput("first")``), asks ``services.feed`` for the filtered
skeleton page and hydrates its posts through the request's ``PostsById`` DataLoader (one batched load per
page). Authors, counts and viewer state are hydrated by the ``Post`` type's own loaders. A post that
disappeared between the filter and the hydration (``NotFound``) is dropped from the page.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from resolvers import posts as post_resolvers
from services.errors import NotFound
from services.pagination import Page, clamp_first

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.feed import FeedEntry
    from services.records import PostRecord

DEFAULT_FIRST = 10


async def _hydrate(info: Info, entry: FeedEntry) -> PostRecord | None:
    try:
        return await post_resolvers.post_by_id(info, entry.post_id)
    except NotFound:
        return None


async def home_feed(info: Info, first: int | None, after: str | None) -> Page[PostRecord]:
    """The viewer's home feed page, newest first (see the module docstring for errors)."""
    ctx = info.context
    viewer_id = await ctx.require_viewer()
    size = clamp_first(first, DEFAULT_FIRST)
    skeleton = await ctx.services.feed.home_feed(viewer_id, size, after)
    records = await asyncio.gather(*(_hydrate(info, entry) for _, entry in skeleton.items))
    return Page(
        items=[(cursor, rec) for (cursor, _), rec in zip(skeleton.items, records, strict=True) if rec is not None],
        has_next=skeleton.has_next,
        has_previous=skeleton.has_previous,
    )
