"""Home feed resolver: thin; the read pipeline lives in ``services.feed``.

``await home_feed(info, first, after) -> Page[PostRecord]``: requires a viewer (``Unauthenticated``), clamps
``first`` to 1..100 (default 10; else ``BadInput("first")``), asks ``services.feed`` for the filtered page
with ``hydrate=True``: the filter's round trip also returns each post, its author and the viewer's like,
which are primed into the request's ``PostsById``, ``UsersById`` and ``ViewerLikesByPostId`` loaders (a page
from the pull, cold-start or degraded path is loaded through ``PostsById`` in one batch instead). When the
selection asks for ``likeCount`` the page's counters are loaded here in one batch too, so that the ``Post``
fields resolve without suspending (``resolvers.loading``). A post that disappeared between the filter and
the hydration (``PostsById`` answers ``None``) is dropped from the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers import engagement as engagement_resolvers
from resolvers import posts as post_resolvers
from resolvers import users as user_resolvers
from resolvers.context import context_of
from services.core.pagination import Page, clamp_first

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.core.records import PostRecord

DEFAULT_FIRST = 10


def _selects(info: Info, field_name: str) -> bool:
    """Whether ``field_name`` is selected anywhere below this field (fragments included)."""
    pending = list(info.selected_fields)
    while pending:
        selection = pending.pop()
        if getattr(selection, "name", None) == field_name:
            return True
        pending.extend(getattr(selection, "selections", None) or ())
    return False


async def home_feed(info: Info, first: int | None, after: str | None) -> Page[PostRecord]:
    """The viewer's home feed page, newest first (see the module docstring for errors)."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    size = clamp_first(first, DEFAULT_FIRST)
    skeleton = await ctx.services.feed.home_feed(viewer_id, size, after, hydrate=True)
    entries = [entry for _, entry in skeleton.items]
    hydrated = [e for e in entries if e.post is not None]
    post_resolvers.prime_posts(info, (e.post for e in hydrated if e.post is not None))
    user_resolvers.prime_users(info, (e.author for e in hydrated if e.author is not None))
    engagement_resolvers.prime_viewer_likes(
        info, {e.post_id: e.viewer_liked for e in hydrated if e.viewer_liked is not None}
    )
    records = await post_resolvers.posts_or_none(info, [e.post_id for e in entries])
    page = Page(
        items=[(cursor, rec) for (cursor, _), rec in zip(skeleton.items, records, strict=True) if rec is not None],
        has_next=skeleton.has_next,
        has_previous=skeleton.has_previous,
    )
    if _selects(info, "likeCount"):
        await engagement_resolvers.prefetch_like_counts(info, (rec for _, rec in page.items))
    return page
