"""User loaders and user/profile resolvers.

Contract used by the schema layer:
- ``await user_by_id(info, user_id) -> UserRecord`` (raises ``NotFound``) via the ``UsersById`` DataLoader,
  which answers as the viewer may see users: one who blocks the viewer is absent (``NotFound``/``None``).
- ``await users_by_ids(info, ids) -> list[UserRecord | None]`` same loader, order kept.
- ``user_by_id_now(info, user_id)``: the record at once when the request holds it, else an awaitable;
  ``prime_users(info, records)`` puts records in front of the loader (the feed reads authors with its posts).
- ``viewer``, ``user``, ``visible_user`` (for ``node(id:)``), and the mutation ``update_profile``: each reads
  its input, calls one ``services.users`` use case and returns a record; the schema layer maps it to a type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resolvers.context import context_of
from resolvers.loading import load_many_behind, settle
from services.core.errors import NotFound

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterable, Mapping

    from strawberry.dataloader import DataLoader
    from strawberry.types import Info

    from services.core.records import UserRecord

USERS_BY_ID = "UsersById"



def _loader(info: Info) -> DataLoader[str, UserRecord | None]:
    ctx = context_of(info)

    async def batch(user_ids: list[str]) -> list[UserRecord | None]:
        return await ctx.services.users.users_by_ids(user_ids, await ctx.viewer_id())

    return ctx.loader(USERS_BY_ID, batch)


async def user_by_id(info: Info, user_id: str) -> UserRecord:
    """The user ``user_id``; raises ``NotFound`` when absent. Batched per request (``UsersById``)."""
    held = context_of(info).hydration.authors.get(user_id)
    return held if held is not None else _found(await _loader(info).load(user_id))


def _found(record: UserRecord | None) -> UserRecord:
    if record is None:
        raise NotFound("User not found.")
    return record


def user_by_id_now(info: Info, user_id: str) -> UserRecord | Awaitable[UserRecord]:
    """:func:`user_by_id` that returns the record at once when ``UsersById`` already holds it (primed or loaded
    before in the request), else an awaitable of it (``resolvers.loading.settle``). ``NotFound`` as there."""
    held = context_of(info).hydration.authors.get(user_id)
    return held if held is not None else settle(_loader(info).load(user_id), _found)


def prime_users(info: Info, records: Iterable[UserRecord]) -> None:
    """Put ``records`` (read by another statement of this request, e.g. the feed's, as the viewer may see
    them) in front of ``UsersById`` (the request's ``Context.hydration``; a user held already is kept)."""
    held = context_of(info).hydration.authors
    for record in records:
        held.setdefault(record.id, record)


async def users_by_ids(info: Info, user_ids: list[str]) -> list[UserRecord | None]:
    """Users for ``user_ids`` in order (``None`` where absent); one batched load for those the request does
    not hold yet."""
    return await load_many_behind(context_of(info).hydration.authors, _loader(info), user_ids)


async def viewer(info: Info) -> UserRecord | None:
    """The signed-in user, ``None`` when anonymous (``Unauthenticated`` for a bad token)."""
    viewer_id = await context_of(info).viewer_id()
    return None if viewer_id is None else await user_by_id(info, viewer_id)


async def user(info: Info, username: str) -> UserRecord:
    """``user(username:)``; ``NotFound`` when absent or when that user blocks the viewer."""
    ctx = context_of(info)
    return await ctx.services.users.user_for_viewer(username, await ctx.viewer_id())


async def visible_user(info: Info, user_id: str) -> UserRecord:
    """``node(id:)`` for a User id, with the same rule as :func:`user`."""
    ctx = context_of(info)
    return await ctx.services.users.user_by_id_for_viewer(user_id, await ctx.viewer_id())


async def update_profile(info: Info, changes: Mapping[str, Any]) -> UserRecord:
    """``updateProfile(input:)``: ``changes`` holds only the input fields the client sent."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    record = await ctx.services.users.update_profile(viewer_id, changes)
    ctx.clear_loaders()
    return record
