"""Home feed resolver: maps the arguments to ``services.feed`` and its page to records, nothing more.

``await home_feed(info, first, after) -> Page[PostRecord]``: requires a viewer (``Unauthenticated``), clamps
``first`` to 1..100 (default 10; else ``BadInput("first")``), reads the hydrated page
(``FeedService.read_home_feed``), hands its hydration to the request's DataLoaders
(``resolvers.hydration.prime``) and maps the entries to records through ``PostsById``
(``resolvers.posts.records_page``: the hydrated ones resolve at once, the rest in one batch; a post that
disappeared meanwhile is dropped from the page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers import hydration
from resolvers import posts as post_resolvers
from resolvers.context import context_of
from services.core.pagination import clamp_first

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.core.pagination import Page
    from services.core.records import PostRecord

DEFAULT_FIRST = 10


async def home_feed(info: Info, first: int | None, after: str | None) -> Page[PostRecord]:
    """The viewer's home feed page, newest first (see the module docstring for errors)."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    read = await ctx.services.feed.read_home_feed(viewer_id, clamp_first(first, DEFAULT_FIRST), after)
    hydration.prime(info, read.hydration)
    return await post_resolvers.records_page(info, read.page, lambda entry: entry.post_id)
