"""Follow-graph resolvers.

Contract used by the schema layer (``schema/users.py``, ``schema/follows.py``):
- ``await relationship(info, user_id) -> Relationship`` via the ``RelationshipsByUserId`` DataLoader (one
  round trip per page of users, whatever the number of flag fields asked).
- ``await followers(info, user_id, first, after) -> Page[UserRecord]`` (newest first, keyset cursor; empty
  page when the account is private and the viewer is neither the owner nor an approved follower), batched
  per request level through ``FollowersByUserId`` (``resolvers.pages``).
- ``await following(info, user_id, first, after) -> Page[UserRecord]``.
- ``await mutual_followers(info, user_id, first) -> Page[UserRecord]`` via ``MutualFollowersByUserId``.
- ``follow_requests`` (viewer required) and the mutations ``follow``, ``unfollow``,
  ``approve_follow_request``, ``reject_follow_request``, ``remove_follower`` (-> ``FollowResult``): each
  requires a viewer, calls one service and clears the request's loaders after a write
  (``resolvers.context.viewer_write``). Raw ids in, records out; the schema maps global IDs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from resolvers.context import context_of, viewer_write
from resolvers.pages import load_page

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader
    from strawberry.types import Info

    from services.core.pagination import Page
    from services.core.records import Relationship, UserRecord
    from services.follows import FollowResult

RELATIONSHIPS_BY_USER_ID = "RelationshipsByUserId"
MUTUAL_FOLLOWERS_BY_USER_ID = "MutualFollowersByUserId"
FOLLOWERS_BY_USER_ID = "FollowersByUserId"
FOLLOWING_BY_USER_ID = "FollowingByUserId"



def _relationships(info: Info) -> DataLoader[str, Relationship]:
    ctx = context_of(info)

    async def batch(user_ids: list[str]) -> list[Relationship]:
        found = await ctx.services.follows.relationships(await ctx.viewer_id(), user_ids)
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
            found = await ctx.services.follows.mutual_followers(viewer_id, user_ids, first)
            pages.update({(uid, first): found[uid] for uid in user_ids})
        return [pages[key] for key in keys]

    return ctx.loader(MUTUAL_FOLLOWERS_BY_USER_ID, batch)


async def relationship(info: Info, user_id: str) -> Relationship:
    """The viewer's flags toward ``user_id`` (all False when anonymous or oneself); batched per request."""
    return await _relationships(info).load(user_id)


async def followers(info: Info, user_id: str, first: int | None, after: str | None) -> Page[UserRecord]:
    """``User.followers``: empty when not visible to the viewer; ``BadInput`` for bad ``first``/``after``.
    Batched per request level (``FollowersByUserId``, ``resolvers.pages``)."""
    batch = context_of(info).services.follows.followers_pages
    return await load_page(info, FOLLOWERS_BY_USER_ID, batch, user_id, first, after)


async def following(info: Info, user_id: str, first: int | None, after: str | None) -> Page[UserRecord]:
    """``User.following``: same rules as :func:`followers` (``FollowingByUserId``)."""
    batch = context_of(info).services.follows.following_pages
    return await load_page(info, FOLLOWING_BY_USER_ID, batch, user_id, first, after)


async def mutual_followers(info: Info, user_id: str, first: int | None) -> Page[UserRecord]:
    """``User.mutualFollowers``: people the viewer follows who follow ``user_id`` (empty when anonymous)."""
    return await _mutuals(info).load((user_id, first))


async def follow_requests(info: Info, first: int | None, after: str | None) -> Page[UserRecord]:
    """``followRequests``: pending requests to the viewer, newest first; ``Unauthenticated`` if anonymous."""
    ctx = context_of(info)
    return await ctx.services.follows.follow_requests(await ctx.require_viewer(), first, after)


async def follow(info: Info, user_id: str) -> FollowResult:
    """``follow``: FOLLOWING or REQUESTED (errors: see ``FollowService.follow_user``)."""
    return await viewer_write(info, context_of(info).services.follows.follow_user, user_id)


async def unfollow(info: Info, user_id: str) -> FollowResult:
    """``unfollow``: NOT_FOLLOWING; also withdraws a pending request."""
    return await viewer_write(info, context_of(info).services.follows.unfollow_user, user_id)


async def approve_follow_request(info: Info, user_id: str) -> FollowResult:
    """``approveFollowRequest``: the requester now follows the viewer (FOLLOWING)."""
    return await viewer_write(info, context_of(info).services.follows.approve_follow_request, user_id)


async def reject_follow_request(info: Info, user_id: str) -> FollowResult:
    """``rejectFollowRequest``: the request is gone (NOT_FOLLOWING)."""
    return await viewer_write(info, context_of(info).services.follows.reject_follow_request, user_id)


async def remove_follower(info: Info, user_id: str) -> FollowResult:
    """``removeFollower``: ``user_id`` no longer follows the viewer (NOT_FOLLOWING)."""
    return await viewer_write(info, context_of(info).services.follows.remove_follower, user_id)
