"""Suggested users in GraphQL: ``suggestedUsers`` and ``UserSuggestion``."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import suggestions as suggestion_resolvers
from schema.users import User


@strawberry.type
class UserSuggestion:
    user: User
    mutual_count: int = strawberry.field(description="How many people the viewer follows follow this user.")
    reason: str = strawberry.field(description='E.g. "Followed by fb_12 and 4 others".')


@strawberry.type
class SuggestionsQuery:
    @strawberry.field(
        description="Friends of friends, ranked by how many people the viewer follows follow them."
    )
    async def suggested_users(self, info: Info, first: int | None = 10) -> list[UserSuggestion]:
        return [
            UserSuggestion(user=User.from_record(s.user), mutual_count=s.mutual_count, reason=s.reason)
            for s in await suggestion_resolvers.suggested_users(info, first)
        ]
