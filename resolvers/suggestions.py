"""Suggested-users resolver: ``suggestedUsers`` (friends of friends; viewer required)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.context import context_of

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.suggestions import Suggestion


async def suggested_users(info: Info, first: int | None) -> list[Suggestion]:
    """``suggestedUsers``: friends of friends, best first; ``Unauthenticated`` when anonymous."""
    ctx = context_of(info)
    return await ctx.services.suggestions.suggested_users(await ctx.require_viewer(), first)
