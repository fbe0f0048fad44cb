"""Search resolvers: map the arguments to ``services.search`` and its answers to records, nothing more.

- ``await search_users(info, query, first) -> list[UserRecord]``: anonymous allowed; the users are primed into
  ``UsersById``.
- ``await search_posts(info, query, hashtag, near, first, after) -> Page[PostRecord]``: the page's posts,
  authors, like counts and the viewer's likes were read with it and are handed to the request's DataLoaders
  (``resolvers.hydration.prime``), so the ``Post`` fields of the page cost no further round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers import hydration
from resolvers import users as user_resolvers
from resolvers.context import context_of

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.core.locations import NearSpec
    from services.core.pagination import Page
    from services.core.records import PostRecord, UserRecord


async def search_users(info: Info, query: str, first: int | None) -> list[UserRecord]:
    """``searchUsers(query:, first:)`` (errors: ``services.search``)."""
    ctx = context_of(info)
    users = await ctx.services.search.search_users(await ctx.viewer_id(), query, first, client_ip=ctx.client_ip)
    user_resolvers.prime_users(info, users)
    return users


async def search_posts(
    info: Info, query: str | None, hashtag: str | None, near: NearSpec | None, first: int | None, after: str | None
) -> Page[PostRecord]:
    """``searchPosts(query:, hashtag:, near:, first:, after:)`` (errors: ``services.search``)."""
    ctx = context_of(info)
    read = await ctx.services.search.search_posts(
        await ctx.viewer_id(), query=query, hashtag=hashtag, near=near, first=first, after=after,
        client_ip=ctx.client_ip,
    )  # fmt: skip
    hydration.prime(info, read.hydration)
    return read.page
