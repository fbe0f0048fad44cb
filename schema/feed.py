"""``Query.feed``: the viewer's home feed as a Relay ``PostConnection`` (newest first)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import feed as feed_resolvers
from schema.posts import PostConnection
from schema.rate_limits import Throttled


@strawberry.type
class FeedQuery:
    @strawberry.field(
        description=(
            "The viewer's home feed, newest first: followed accounts' posts (pushed at write time, or merged "
            "at read time for celebrities) and the viewer's own; recent popular posts when following nobody. "
            "Requires authentication; `first` is 1..100."
        ),
        extensions=[Throttled("feed")],
    )
    async def feed(self, info: Info, first: int | None = 10, after: str | None = None) -> PostConnection:
        return PostConnection.of(await feed_resolvers.home_feed(info, first, after))
