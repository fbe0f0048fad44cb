"""Follow-graph resolvers (owner: social graph).

Contract used by the schema layer (``schema/users.py``, ``schema/social.py``):
- ``await relationship(info, user_id) -> Relationship`` via the ``RelationshipsByUserId`` DataLoader (one
  round trip per page of users, whatever the number of flag fields asked).
- ``await followers(info, user_id, first, after) -> Page[UserRecord]`` (newest first, keyset cursor; empty
  page when the account is private and the viewer is neither the owner nor an approved follower).
- ``await following(info, user_id, first, after) -> Page[UserRecord]``.
- ``await mutual_followers(info, user_id, first) -> Page[UserRecord]`` via ``MutualFollowersByUserId``.
- ``follow_requests``, ``suggested_users`` (queries; viewer required) and the mutations ``follow``,
  ``unfollow``, ``approve_follow_request``, ``reject_follow_request``, ``remove_follower`` (->
  ``FollowResult``), ``block``, ``unblock`` (-> ``UserRecord``): each requires a viewer, calls one service
  and clears the request's loaders after a write. Raw ids in, records out; the schema maps global IDs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, TypeVar

from resolvers.context import context_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from strawberry.dataloader import DataLoader
    from strawberry.types import Info

    from services.core.pagination import Page
    from services.core.records import Relationship, UserRecord
    from services.follows import FollowResult
    from services.suggestions import Suggestion

T = TypeVar("T")

RELATIONSHIPS_BY_USER_ID = "RelationshipsByUserId"
MUTUAL_FOLLOWERS_BY_USER_ID = "MutualFollowersByUserId"



def _relationships(info: Info) -> DataLoader[str, Relationship]:
    ctx = context_of(info)

    async def batch(user_ids: list[str]) -> list[Relationship]:
        found = await ctx.services.connections.relationships(await ctx.viewer_id(), user_ids)
        return [found[uid] for uid in user_ids]

    return ctx.loader(RELATIONSHIPS_BY_USER_ID, batch)


def _mutuals(info: Info) -> DataLoader[tuple[str, int | None], Page[UserRecord]]:
    ctx = context_of(info)

    async def batch(keys: list[tuple[str, int | None]]) -> list[Page[UserRecord]]:
        by_first: dict[int | None, list[str]] = defaultdict(list)
        for user_id, first in keys:
            by_first[first].append(user_id)
        viewer_id = await ctx.viewer_id()
        pages: dict[tuple[str, int | None], Page[UserRecord]] = {}
        for first, user_ids in by_first.items():
            found = await ctx.services.connections.mutual_followers(viewer_id, user_ids, first)
            pages.update({(uid, first): found[uid] for uid in user_ids})
        return [pages[key] for key in keys]

    return ctx.loader(MUTUAL_FOLLOWERS_BY_USER_ID, batch)


async def relationship(info: Info, user_id: str) -> Relationship:
    """The viewer's flags toward ``user_id`` (all False when anonymous or oneself); batched per request."""
    return await _relationships(info).load(user_id)


async def followers(info: Info, user_id: str, first: int | None, after: str | None) -> Page[UserRecord]:
    """``User.followers``: empty when not visible to the viewer; ``BadInput`` for bad ``first``/``after``."""
    ctx = context_of(info)
    return await ctx.services.connections.followers(await ctx.viewer_id(), user_id, first, after)


async def following(info: Info, user_id: str, first: int | None, after: str | None) -> Page[UserRecord]:
    """``User.following``: same rules as :func:`followers`."""
    ctx = context_of(info)
    return await ctx.services.connections.following(await ctx.viewer_id(), user_id, first, after)


async def mutual_followers(info: Info, user_id: str, first: int | None) -> Page[UserRecord]:
    """``User.mutualFollowers``: people the viewer follows who follow ``user_id`` (empty when anonymous)."""
    return await _mutuals(info).load((user_id, first))


async def follow_requests(info: Info, first: int | None, after: str | None) -> Page[UserRecord]:
    """``followRequests``: pending requests to the viewer, newest first; ``Unauthenticated`` if anonymous."""
    ctx = context_of(info)
    return await ctx.services.connections.follow_requests(await ctx.require_viewer(), first, after)


async def suggested_users(info: Info, first: int | None) -> list[Suggestion]:
    """``suggestedUsers``: friends of friends, best first; ``Unauthenticated`` when anonymous."""
    ctx = context_of(info)
    return await ctx.services.suggestions.suggested_users(await ctx.require_viewer(), first)


async def _write(info: Info, use_case: Callable[[str, str], Awaitable[T]], user_id: str) -> T:
    """``await use_case(viewer_id, user_id)`` (``Unauthenticated`` when anonymous), then clear the loaders."""
    ctx = context_of(info)
    result = await use_case(await ctx.require_viewer(), user_id)
    ctx.clear_loaders()
    return result


async def follow(info: Info, user_id: str) -> FollowResult:
    """``follow``: FOLLOWING or REQUESTED (errors: see ``FollowService.follow_user``)."""
    return await _write(info, context_of(info).services.follows.follow_user, user_id)


async def unfollow(info: Info, user_id: str) -> FollowResult:
    """``unfollow``: NOT_FOLLOWING; also withdraws a pending request."""
    return await _write(info, context_of(info).services.follows.unfollow_user, user_id)


async def approve_follow_request(info: Info, user_id: str) -> FollowResult:
    """``approveFollowRequest``: the requester now follows the viewer (FOLLOWING)."""
    return await _write(info, context_of(info).services.follows.approve_follow_request, user_id)


async def reject_follow_request(info: Info, user_id: str) -> FollowResult:
    """``rejectFollowRequest``: the request is gone (NOT_FOLLOWING)."""
    return await _write(info, context_of(info).services.follows.reject_follow_request, user_id)


async def remove_follower(info: Info, user_id: str) -> FollowResult:
    """``removeFollower``: ``user_id`` no longer follows the viewer (NOT_FOLLOWING)."""
    return await _write(info, context_of(info).services.follows.remove_follower, user_id)


async def block(info: Info, user_id: str) -> UserRecord:
    """``block``: the blocked user (follows and requests both ways are gone)."""
    return (await _write(info, context_of(info).services.blocks.block_user, user_id)).user


async def unblock(info: Info, user_id: str) -> UserRecord:
    """``unblock``: the unblocked user."""
    return (await _write(info, context_of(info).services.blocks.unblock_user, user_id)).user
