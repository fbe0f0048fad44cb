"""Story highlights in GraphQL: ``Highlight``, ``createHighlight``, ``deleteHighlight`` and their inputs;
``Highlight`` registered for ``node(id:)``. A malformed ID is ``BAD_USER_INPUT`` naming the field
(``highlightId``, ``storyIds[i]``)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import highlights as highlight_resolvers
from schema.base import Node, from_global_id, from_ms, to_global_id
from schema.node import register_node
from schema.posts import Media
from schema.stories import Story
from services.core.records import HighlightRecord


@strawberry.type
class Highlight(Node):
    id: strawberry.ID
    title: str
    created_at: datetime
    record: strawberry.Private[HighlightRecord]

    @classmethod
    def from_record(cls, rec: HighlightRecord) -> Highlight:
        """Map a highlight record."""
        return cls(
            id=to_global_id("Highlight", rec.id),
            title=rec.title,
            created_at=from_ms(rec.created_at),  # type: ignore[arg-type]
            record=rec,
        )

    @strawberry.field(description="The media of its first story the viewer may see.")
    async def cover(self, info: Info) -> Media | None:
        stories = await highlight_resolvers.highlight_stories(info, self.record)
        media = next((s.media for s in stories if s.media is not None), None)
        return None if media is None else Media.from_record(media)

    @strawberry.field(description="Its stories the viewer may see, in the owner's order.")
    async def stories(self, info: Info) -> list[Story]:
        return [Story.from_record(s) for s in await highlight_resolvers.highlight_stories(info, self.record)]


@strawberry.input(
    description="title: 1..30 characters; storyIds: 1..100 of the viewer's own ACTIVE or EXPIRED stories."
)
class CreateHighlightInput:
    title: str
    story_ids: list[strawberry.ID]


@strawberry.input
class HighlightIdInput:
    highlight_id: strawberry.ID


async def _highlight_node(info: Info, raw_id: str) -> Highlight | None:
    record = await highlight_resolvers.highlight_or_none(info, raw_id)
    return None if record is None else Highlight.from_record(record)


register_node("Highlight", _highlight_node)


@strawberry.type
class HighlightsMutation:
    @strawberry.mutation(description="Keep some of the viewer's stories past their expiry, under a title.")
    async def create_highlight(self, info: Info, input: CreateHighlightInput) -> Highlight:
        ids = [
            from_global_id(gid, field=f"storyIds[{i}]", expected="Story")[1] for i, gid in enumerate(input.story_ids)
        ]
        return Highlight.from_record(await highlight_resolvers.create_highlight(info, input.title, ids))

    @strawberry.mutation(description="Delete the viewer's highlight; expired stories in no other one are then deleted.")
    async def delete_highlight(self, info: Info, input: HighlightIdInput) -> Highlight:
        raw = from_global_id(input.highlight_id, field="highlightId", expected="Highlight")[1]
        return Highlight.from_record(await highlight_resolvers.delete_highlight(info, raw))
