"""The close-friends list in GraphQL: ``closeFriends``, ``addCloseFriend``, ``removeCloseFriend``."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import close_friends as close_friend_resolvers
from schema.users import User, UserConnection, UserIdInput, user_id_of


@strawberry.type
class CloseFriendsQuery:
    @strawberry.field(
        description="The viewer's close friends (who see CLOSE_FRIENDS stories), most recently added first."
    )
    async def close_friends(self, info: Info, first: int | None = 20, after: str | None = None) -> UserConnection:
        return UserConnection.of(await close_friend_resolvers.close_friends(info, first, after))


@strawberry.type
class CloseFriendsMutation:
    @strawberry.mutation(description="Put a user on the viewer's close-friends list; idempotent.")
    async def add_close_friend(self, info: Info, input: UserIdInput) -> User:
        return User.from_record(await close_friend_resolvers.add_close_friend(info, user_id_of(input)))

    @strawberry.mutation(description="Take a user off the viewer's close-friends list; idempotent.")
    async def remove_close_friend(self, info: Info, input: UserIdInput) -> User:
        return User.from_record(await close_friend_resolvers.remove_close_friend(info, user_id_of(input)))
