"""Block resolvers: ``block`` and ``unblock``.

Each requires a viewer, calls one ``services.blocks`` use case, clears the request's loaders
(``resolvers.context.viewer_write``) and returns the other user's record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.context import context_of, viewer_write

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.core.records import UserRecord


async def block(info: Info, user_id: str) -> UserRecord:
    """``block``: the blocked user (follows and requests both ways are gone)."""
    return (await viewer_write(info, context_of(info).services.blocks.block_user, user_id)).user


async def unblock(info: Info, user_id: str) -> UserRecord:
    """``unblock``: the unblocked user."""
    return (await viewer_write(info, context_of(info).services.blocks.unblock_user, user_id)).user
