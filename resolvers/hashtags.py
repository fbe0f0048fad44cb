"""Hashtag resolvers: ``hashtag(name:)``, ``Hashtag.posts`` and ``trendingHashtags(window:, first:)`` through
``services.hashtags``; anonymous viewers allowed. A tag page's posts come with their hydration, handed to the
request's DataLoaders (``resolvers.hydration.prime``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers import hydration
from resolvers.context import context_of

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.core.pagination import Page
    from services.core.records import PostRecord
    from services.hashtags import HashtagInfo, TrendingTag


async def hashtag(info: Info, name: str) -> HashtagInfo | None:
    """``hashtag(name:)``: the tag with the viewer's post count, ``None`` when never used."""
    ctx = context_of(info)
    return await ctx.services.hashtags.hashtag(name, await ctx.viewer_id())


async def hashtag_posts(info: Info, name: str, first: int | None, after: str | None) -> Page[PostRecord]:
    """``Hashtag.posts(first:, after:)``: newest first, visible ones only."""
    ctx = context_of(info)
    read = await ctx.services.hashtags.hashtag_posts(name, await ctx.viewer_id(), first, after)
    hydration.prime(info, read.hydration)
    return read.page


async def trending_hashtags(info: Info, window: str, first: int | None) -> list[TrendingTag]:
    """``trendingHashtags(window:, first:)``."""
    return await context_of(info).services.hashtags.trending(window, first)
