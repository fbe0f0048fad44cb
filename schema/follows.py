"""The follow graph in GraphQL: ``followRequests``, ``suggestedUsers``, ``follow``, ``unfollow``,
``approveFollowRequest``, ``rejectFollowRequest``, ``removeFollower``, ``block``, ``unblock`` and their
types (``FollowStatus``, ``UserIdInput``, ``FollowPayload``, ``UserSuggestion``)."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from resolvers import follows as follow_resolvers
from schema.base import from_global_id
from schema.users import User, UserConnection
from services.follows import FollowResult


@strawberry.enum(description="Where a follower -> followee pair stands.")
class FollowStatus(Enum):
    FOLLOWING = "FOLLOWING"
    REQUESTED = "REQUESTED"
    NOT_FOLLOWING = "NOT_FOLLOWING"


@strawberry.input
class UserIdInput:
    user_id: strawberry.ID


@strawberry.type(
    description="`status` is viewer -> user for follow/unfollow, and user -> viewer for "
    "approveFollowRequest, rejectFollowRequest and removeFollower."
)
class FollowPayload:
    user: User
    status: FollowStatus

    @classmethod
    def of(cls, result: FollowResult) -> FollowPayload:
        """Map a service ``FollowResult``."""
        return cls(user=User.from_record(result.user), status=FollowStatus(result.status.value))


@strawberry.type
class UserSuggestion:
    user: User
    mutual_count: int = strawberry.field(description="How many people the viewer follows follow this user.")
    reason: str = strawberry.field(description='E.g. "Followed by fb_12 and 4 others".')


def _user_id(value: UserIdInput) -> str:
    return from_global_id(value.user_id, field="userId", expected="User")[1]


@strawberry.type
class SocialQuery:
    @strawberry.field(description="Pending follow requests to the viewer's account, newest first.")
    async def follow_requests(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> UserConnection:
        return UserConnection.of(await follow_resolvers.follow_requests(info, first, after))

    @strawberry.field(
        description="Friends of friends, ranked by how many people the viewer follows follow them."
    )
    async def suggested_users(self, info: Info, first: int | None = 10) -> list[UserSuggestion]:
        return [
            UserSuggestion(user=User.from_record(s.user), mutual_count=s.mutual_count, reason=s.reason)
            for s in await follow_resolvers.suggested_users(info, first)
        ]


@strawberry.type
class SocialMutation:
    @strawberry.mutation(description="Follow a user (a request when the account is private); idempotent.")
    async def follow(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.follow(info, _user_id(input)))

    @strawberry.mutation(description="Stop following a user, or withdraw a pending request.")
    async def unfollow(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.unfollow(info, _user_id(input)))

    @strawberry.mutation(description="Accept a pending request to the viewer's private account.")
    async def approve_follow_request(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.approve_follow_request(info, _user_id(input)))

    @strawberry.mutation(description="Decline a pending request to the viewer's private account.")
    async def reject_follow_request(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.reject_follow_request(info, _user_id(input)))

    @strawberry.mutation(description="Make a follower stop following the viewer.")
    async def remove_follower(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.remove_follower(info, _user_id(input)))

    @strawberry.mutation(description="Block a user: follows and requests both ways are removed.")
    async def block(self, info: Info, input: UserIdInput) -> User:
        return User.from_record(await follow_resolvers.block(info, _user_id(input)))

    @strawberry.mutation(description="Lift a block (follows are not restored).")
    async def unblock(self, info: Info, input: UserIdInput) -> User:
        return User.from_record(await follow_resolvers.unblock(info, _user_id(input)))
