"""Users in GraphQL: the ``User`` type and ``UserConnection`` (fields delegate to resolvers; this module maps
records to types), ``viewer``, ``user(username:)``, ``updateProfile`` and ``UserIdInput`` (the input of every
mutation on another user); ``User`` registered for ``node(id:)``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from resolvers import close_friends as close_friend_resolvers
from resolvers import follows as follow_resolvers
from resolvers import highlights as highlight_resolvers
from resolvers import posts as post_resolvers
from resolvers import stories as story_resolvers
from resolvers import users as user_resolvers
from schema.base import Node, PageInfo, from_global_id, from_ms, to_global_id
from schema.node import register_node
from services.core.records import UserRecord

if TYPE_CHECKING:
    from schema.highlights import Highlight
    from schema.posts import PostConnection
    from schema.stories import Story
    from services.core.pagination import Page


@strawberry.type
class User(Node):
    id: strawberry.ID
    username: str
    display_name: str | None
    bio: str | None
    is_private: bool
    is_verified: bool
    follower_count: int
    following_count: int
    post_count: int
    created_at: datetime
    raw_id: strawberry.Private[str]

    @classmethod
    def from_record(cls, rec: UserRecord) -> User:
        """Map a service record to the GraphQL type."""
        return cls(
            id=to_global_id("User", rec.id),
            raw_id=rec.id,
            username=rec.username,
            display_name=rec.display_name,
            bio=rec.bio,
            is_private=rec.is_private,
            is_verified=rec.is_verified,
            follower_count=rec.follower_count,
            following_count=rec.following_count,
            post_count=rec.post_count,
            created_at=from_ms(rec.created_at),  # type: ignore[arg-type]
        )

    @strawberry.field(description="The viewer follows this user.")
    async def viewer_follows(self, info: Info) -> bool:
        return (await follow_resolvers.relationship(info, self.raw_id)).viewer_follows

    @strawberry.field(description="This user follows the viewer.")
    async def follows_viewer(self, info: Info) -> bool:
        return (await follow_resolvers.relationship(info, self.raw_id)).follows_viewer

    @strawberry.field(description="The viewer's follow request to this user is pending.")
    async def viewer_has_requested(self, info: Info) -> bool:
        return (await follow_resolvers.relationship(info, self.raw_id)).viewer_has_requested

    @strawberry.field(description="The viewer blocks this user.")
    async def viewer_blocks(self, info: Info) -> bool:
        return (await follow_resolvers.relationship(info, self.raw_id)).viewer_blocks

    @strawberry.field(description="Followers, newest first; empty when the account is private and not visible.")
    async def followers(self, info: Info, first: int | None = 20, after: str | None = None) -> UserConnection:
        return UserConnection.of(await follow_resolvers.followers(info, self.raw_id, first, after))

    @strawberry.field(description="Followees, newest first; empty when the account is private and not visible.")
    async def following(self, info: Info, first: int | None = 20, after: str | None = None) -> UserConnection:
        return UserConnection.of(await follow_resolvers.following(info, self.raw_id, first, after))

    @strawberry.field(description="People the viewer follows who follow this user.")
    async def mutual_followers(self, info: Info, first: int | None = 3) -> UserConnection:
        return UserConnection.of(await follow_resolvers.mutual_followers(info, self.raw_id, first))

    @strawberry.field(description="Published posts, newest first; empty when private and not visible.")
    async def posts(
        self, info: Info, first: int | None = 12, after: str | None = None
    ) -> Annotated[PostConnection, strawberry.lazy("schema.posts")]:
        from schema.posts import PostConnection

        return PostConnection.of(await post_resolvers.user_posts(info, self.raw_id, first, after))

    @strawberry.field(description="The user's live stories the viewer may see, oldest first.")
    async def stories(self, info: Info) -> list[Annotated[Story, strawberry.lazy("schema.stories")]]:
        from schema.stories import Story

        return [Story.from_record(s) for s in await story_resolvers.user_stories(info, self.raw_id)]

    @strawberry.field(description="Story highlights, newest first; empty when private and not visible.")
    async def highlights(self, info: Info) -> list[Annotated[Highlight, strawberry.lazy("schema.highlights")]]:
        from schema.highlights import Highlight

        return [Highlight.from_record(h) for h in await highlight_resolvers.user_highlights(info, self.raw_id)]

    @strawberry.field(description="The viewer has this user on their close-friends list.")
    async def is_close_friend(self, info: Info) -> bool:
        return await close_friend_resolvers.is_close_friend(info, self.raw_id)


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def of(cls, page: Page[UserRecord]) -> UserConnection:
        """Map a page of user records; ``total_count`` falls back to the page length."""
        return cls(
            edges=[UserEdge(cursor=c, node=User.from_record(r)) for c, r in page.items],
            page_info=PageInfo.of(page),
            total_count=page.total_count if page.total_count is not None else len(page.items),
        )


@strawberry.input
class UserIdInput:
    user_id: strawberry.ID


def user_id_of(value: UserIdInput) -> str:
    """The raw user id of a ``UserIdInput``; raises ``BadInput("userId")`` for a malformed or non-User ID."""
    return from_global_id(value.user_id, field="userId", expected="User")[1]


@strawberry.input(description="Omitted fields are unchanged; null or blank displayName/bio clear them.")
class UpdateProfileInput:
    display_name: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    is_private: bool | None = strawberry.UNSET


async def _user_node(info: Info, raw_id: str) -> User:
    return User.from_record(await user_resolvers.visible_user(info, raw_id))


register_node("User", _user_node)


@strawberry.type
class UsersQuery:
    @strawberry.field(description="The signed-in user; null when anonymous.")
    async def viewer(self, info: Info) -> User | None:
        record = await user_resolvers.viewer(info)
        return None if record is None else User.from_record(record)

    @strawberry.field(description="A user by username (case-insensitive); NOT_FOUND when absent or hidden.")
    async def user(self, info: Info, username: str) -> User | None:
        return User.from_record(await user_resolvers.user(info, username))


@strawberry.type
class UsersMutation:
    @strawberry.mutation(description="Change the viewer's display name, bio or privacy.")
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> User:
        changes = {
            name: value
            for name, value in (
                ("displayName", input.display_name),
                ("bio", input.bio),
                ("isPrivate", input.is_private),
            )
            if value is not strawberry.UNSET
        }
        return User.from_record(await user_resolvers.update_profile(info, changes))
