"""Hashtags in GraphQL: ``hashtag(name:)`` (``Hashtag`` with its posts) and ``trendingHashtags(window:, first:)``
(fields delegate to ``resolvers.hashtags``)."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from resolvers import hashtags as hashtag_resolvers
from schema.posts import PostConnection
from services.hashtags import HashtagInfo, TrendingTag


@strawberry.enum(description="HOUR: the last 60 min (5-min steps); DAY: 24 h (hourly); WEEK: 7 days (6-hourly).")
class TrendWindow(Enum):
    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"


@strawberry.type(description="A hashtag: its PUBLISHED posts the viewer may see.")
class Hashtag:
    name: str
    post_count: int

    @classmethod
    def of(cls, info: HashtagInfo) -> Hashtag:
        """Map a tag."""
        return cls(name=info.name, post_count=info.post_count)

    @strawberry.field(description="The tag's posts the viewer may see, newest first; `first` 1..100.")
    async def posts(self, info: Info, first: int | None = 20, after: str | None = None) -> PostConnection:
        return PostConnection.of(await hashtag_resolvers.hashtag_posts(info, self.name, first, after))


@strawberry.type(description="postCount: distinct authors who used the tag in the window; delta: vs the window before.")
class TrendingHashtag:
    name: str
    post_count: int
    delta: int

    @classmethod
    def of(cls, tag: TrendingTag) -> TrendingHashtag:
        """Map a trending tag."""
        return cls(name=tag.name, post_count=tag.post_count, delta=tag.delta)


@strawberry.type
class HashtagsQuery:
    @strawberry.field(description="A hashtag by name ('#' optional, any case); null when no post ever used it.")
    async def hashtag(self, info: Info, name: str) -> Hashtag | None:
        found = await hashtag_resolvers.hashtag(info, name)
        return None if found is None else Hashtag.of(found)

    @strawberry.field(
        description="Tags by distinct authors in a true sliding window, most used first; `first` 1..100."
    )
    async def trending_hashtags(
        self, info: Info, window: TrendWindow = TrendWindow.HOUR, first: int | None = 10
    ) -> list[TrendingHashtag]:
        return [TrendingHashtag.of(t) for t in await hashtag_resolvers.trending_hashtags(info, window.value, first)]
