"""The follow graph in GraphQL: ``followRequests``, ``follow``, ``unfollow``, ``approveFollowRequest``,
``rejectFollowRequest``, ``removeFollower`` and their types (``FollowStatus``, ``FollowPayload``)."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from resolvers import follows as follow_resolvers
from schema.rate_limits import Throttled
from schema.users import User, UserConnection, UserIdInput, user_id_of
from services.follows import FollowResult


@strawberry.enum(description="Where a follower -> followee pair stands.")
class FollowStatus(Enum):
    FOLLOWING = "FOLLOWING"
    REQUESTED = "REQUESTED"
    NOT_FOLLOWING = "NOT_FOLLOWING"


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
class FollowsQuery:
    @strawberry.field(description="Pending follow requests to the viewer's account, newest first.")
    async def follow_requests(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> UserConnection:
        return UserConnection.of(await follow_resolvers.follow_requests(info, first, after))


@strawberry.type
class FollowsMutation:
    @strawberry.mutation(description="Follow a user (a request when the account is private); idempotent.")
    async def follow(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.follow(info, user_id_of(input)))

    @strawberry.mutation(
        description="Stop following a user, or withdraw a pending request (counts against `follow`).",
        extensions=[Throttled("follow")],
    )
    async def unfollow(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.unfollow(info, user_id_of(input)))

    @strawberry.mutation(description="Accept a pending request to the viewer's private account.")
    async def approve_follow_request(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.approve_follow_request(info, user_id_of(input)))

    @strawberry.mutation(description="Decline a pending request to the viewer's private account.")
    async def reject_follow_request(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.reject_follow_request(info, user_id_of(input)))

    @strawberry.mutation(description="Make a follower stop following the viewer.")
    async def remove_follower(self, info: Info, input: UserIdInput) -> FollowPayload:
        return FollowPayload.of(await follow_resolvers.remove_follower(info, user_id_of(input)))
