"""Highlight resolvers (owner: stories).

Contract used by the schema layer:
- ``await user_highlights(info, user_id) -> list[HighlightRecord]`` via ``HighlightsByUserId``
  (``User.highlights``); ``await highlight_or_none(info, highlight_id)`` via ``HighlightsById``.
- ``await highlight_stories(info, highlight) -> list[StoryRecord]``: its stories the viewer may see, in the
  owner's order (``StoriesById``).
- mutations ``create_highlight``, ``delete_highlight``: require a viewer, call one use case, clear loaders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers import stories as story_resolvers
from resolvers.context import context_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from strawberry.dataloader import DataLoader
    from strawberry.types import Info

    from services.core.records import HighlightRecord, StoryRecord

HIGHLIGHTS_BY_USER_ID = "HighlightsByUserId"
HIGHLIGHTS_BY_ID = "HighlightsById"


def _by_user(info: Info) -> DataLoader[str, list[HighlightRecord]]:
    ctx = context_of(info)

    async def batch(owner_ids: list[str]) -> list[list[HighlightRecord]]:
        found = await ctx.services.highlights.highlights_of(owner_ids, await ctx.viewer_id())
        return [found[o] for o in owner_ids]

    return ctx.loader(HIGHLIGHTS_BY_USER_ID, batch)


def _by_id(info: Info) -> DataLoader[str, HighlightRecord | None]:
    ctx = context_of(info)

    async def batch(ids: list[str]) -> list[HighlightRecord | None]:
        return await ctx.services.highlights.highlights_by_ids(ids, await ctx.viewer_id())

    return ctx.loader(HIGHLIGHTS_BY_ID, batch)


async def user_highlights(info: Info, user_id: str) -> list[HighlightRecord]:
    """``User.highlights``: newest first; empty when the viewer may not see the user's content."""
    return await _by_user(info).load(user_id)


async def highlight_or_none(info: Info, highlight_id: str) -> HighlightRecord | None:
    """The highlight if the viewer may see it, else ``None`` (``node(id:)``)."""
    return await _by_id(info).load(highlight_id)


async def highlight_stories(info: Info, highlight: HighlightRecord) -> list[StoryRecord]:
    """The highlight's stories the viewer may see, in the owner's order (one batched load per request)."""
    found = await story_resolvers.stories_or_none(info, highlight.story_ids)
    return [s for s in found if s is not None]


async def create_highlight(info: Info, title: str, story_ids: Sequence[str]) -> HighlightRecord:
    """``createHighlight(input:)``."""
    ctx = context_of(info)
    record = await ctx.services.highlights.create_highlight(await ctx.require_viewer(), title, story_ids)
    ctx.clear_loaders()
    return record


async def delete_highlight(info: Info, highlight_id: str) -> HighlightRecord:
    """``deleteHighlight(input:)``: the highlight as it was."""
    ctx = context_of(info)
    record = await ctx.services.highlights.delete_highlight(await ctx.require_viewer(), highlight_id)
    ctx.clear_loaders()
    return record
