"""User loaders and account/profile resolvers (owner: accounts).

Contract used by the schema layer:
- ``await user_by_id(info, user_id) -> UserRecord`` (raises ``NotFound``) via the ``UsersById`` DataLoader.
- ``await users_by_ids(info, ids) -> list[UserRecord | None]`` same loader, order kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.records import UserRecord


async def user_by_id(info: Info, user_id: str) -> UserRecord:
    raise NotImplementedError


async def users_by_ids(info: Info, user_ids: list[str]) -> list[UserRecord | None]:
    raise NotImplementedError
