"""Follow-graph resolvers (owner: social graph).

Contract used by the schema layer (``schema/user.py``):
- ``await relationship(info, user_id) -> Relationship`` via a DataLoader (one round trip per page of users).
- ``await followers(info, user_id, first, after) -> Page[UserRecord]`` (newest first, keyset cursor; empty page
  when the account is private and the viewer is neither the owner nor an approved follower).
- ``await following(info, user_id, first, after) -> Page[UserRecord]``.
- ``await mutual_followers(info, user_id, first) -> Page[UserRecord]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.pagination import Page
    from services.records import Relationship, UserRecord


async def relationship(info: Info, user_id: str) -> Relationship:
    raise NotImplementedError


async def followers(info: Info, user_id: str, first: int | None, after: str | None) -> Page[UserRecord]:
    raise NotImplementedError


async def following(info: Info, user_id: str, first: int | None, after: str | None) -> Page[UserRecord]:
    raise NotImplementedError


async def mutual_followers(info: Info, user_id: str, first: int | None) -> Page[UserRecord]:
    raise NotImplementedError
