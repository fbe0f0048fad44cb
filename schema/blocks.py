"""Blocks in GraphQL: ``block`` and ``unblock`` (they answer the other user)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import blocks as block_resolvers
from schema.users import User, UserIdInput, user_id_of


@strawberry.type
class BlocksMutation:
    @strawberry.mutation(description="Block a user: follows and requests both ways are removed.")
    async def block(self, info: Info, input: UserIdInput) -> User:
        return User.from_record(await block_resolvers.block(info, user_id_of(input)))

    @strawberry.mutation(description="Lift a block (follows are not restored).")
    async def unblock(self, info: Info, input: UserIdInput) -> User:
        return User.from_record(await block_resolvers.unblock(info, user_id_of(input)))
