"""Search in GraphQL: ``searchUsers(query:, first:)``, ``searchPosts(query:, hashtag:, near:, first:, after:)``
and ``GeoFilterInput`` (fields delegate to ``resolvers.search``)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import search as search_resolvers
from schema.posts import PostConnection
from schema.users import User
from services.core.locations import NearSpec


@strawberry.input(description="A circle: centre in degrees, radiusKm with 0 < radiusKm <= 500.")
class GeoFilterInput:
    latitude: float
    longitude: float
    radius_km: float


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description=(
            "Users matching `query`: typo-tolerant (one typo from 5 letters, two from 9), prefix-aware, "
            "namesakes by follower count; users who block the viewer are left out. `first` 1..100. "
            "Shares the `search` rate limit (20 a minute) with searchPosts."
        )
    )
    async def search_users(self, info: Info, query: str, first: int | None = 10) -> list[User]:
        return [User.from_record(u) for u in await search_resolvers.search_users(info, query, first)]

    @strawberry.field(
        description=(
            "PUBLISHED posts the viewer may see matching every given criterion (at least one): every word of "
            "`query` (English stemming), `hashtag` (with or without '#', any case), within `near`; newest "
            "first. `first` 1..100. SERVICE_UNAVAILABLE while the search backend is down."
        )
    )
    async def search_posts(
        self,
        info: Info,
        query: str | None = None,
        hashtag: str | None = None,
        near: GeoFilterInput | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> PostConnection:
        circle = None if near is None else NearSpec(near.latitude, near.longitude, near.radius_km)
        page = await search_resolvers.search_posts(info, query, hashtag, circle, first, after)
        return PostConnection.of(page)
