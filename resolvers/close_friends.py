"""Close-friends resolvers (owner: stories).

Contract used by the schema layer:
- ``await is_close_friend(info, user_id) -> bool`` via ``CloseFriendsByUserId`` (``User.isCloseFriend``;
  False when anonymous).
- ``await close_friends(info, first, after) -> Page[UserRecord]`` (viewer required).
- mutations ``add_close_friend``, ``remove_close_friend`` -> ``UserRecord`` (viewer required, loaders cleared).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.context import context_of

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader
    from strawberry.types import Info

    from services.core.pagination import Page
    from services.core.records import UserRecord

CLOSE_FRIENDS_BY_USER_ID = "CloseFriendsByUserId"


def _flags(info: Info) -> DataLoader[str, bool]:
    ctx = context_of(info)

    async def batch(user_ids: list[str]) -> list[bool]:
        return await ctx.services.close_friends.flags(await ctx.viewer_id(), user_ids)

    return ctx.loader(CLOSE_FRIENDS_BY_USER_ID, batch)


async def is_close_friend(info: Info, user_id: str) -> bool:
    """Whether the viewer has ``user_id`` on their close-friends list (batched per request)."""
    return await _flags(info).load(user_id)


async def close_friends(info: Info, first: int | None, after: str | None) -> Page[UserRecord]:
    """``closeFriends``: the viewer's list, most recently added first."""
    ctx = context_of(info)
    return await ctx.services.close_friends.close_friends(await ctx.require_viewer(), first, after)


async def add_close_friend(info: Info, user_id: str) -> UserRecord:
    """``addCloseFriend(input:)``: idempotent; returns the user."""
    ctx = context_of(info)
    record = await ctx.services.close_friends.add_close_friend(await ctx.require_viewer(), user_id)
    ctx.clear_loaders()
    return record


async def remove_close_friend(info: Info, user_id: str) -> UserRecord:
    """``removeCloseFriend(input:)``: idempotent; returns the user."""
    ctx = context_of(info)
    record = await ctx.services.close_friends.remove_close_friend(await ctx.require_viewer(), user_id)
    ctx.clear_loaders()
    return record
