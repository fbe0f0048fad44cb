"""``Query.explore``: recent posts with high engagement velocity from accounts the viewer does not follow
(delegates to ``resolvers.explore``)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import explore as explore_resolvers
from schema.posts import PostConnection


@strawberry.type
class ExploreQuery:
    @strawberry.field(
        description=(
            "Recent posts (24 h) of public accounts the viewer does not follow, by engagement velocity decayed "
            "by age, at most 2 of one author in any 20; the order is frozen for a few minutes so that pages do "
            "not repeat or skip. `first` 1..100."
        )
    )
    async def explore(self, info: Info, first: int | None = 20, after: str | None = None) -> PostConnection:
        return PostConnection.of(await explore_resolvers.explore(info, first, after))
