"""Story highlights: ``create_highlight``, ``delete_highlight`` and the reads.

A highlight keeps a title (1..30 characters) and up to ``MAX_STORIES`` of its owner's own stories, ACTIVE or
EXPIRED with their media still there; a highlighted story's media outlive its expiry (``media_state`` KEPT)
and it stays readable, past its time, to whoever may see the highlight and is in the story's audience
(``services.story_reads``). Highlights are visible like posts (private accounts: approved followers only).
Deleting one is soft; its stories that expired and are in no other highlight then have their media deleted
by the stories consumer (``story.highlight_deleted``) or, failing that, the sweep. A highlight whose stories
were all deleted is no longer listed (nor counted against ``MAX_HIGHLIGHTS``); its owner may still delete it.

Errors: ``BadInput("title"|"storyIds"|"storyIds[i]")`` with nothing written; ``Forbidden`` with
``MAX_HIGHLIGHTS`` highlights already, or for someone else's highlight the viewer may see; ``NotFound``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import uuid_utils

from events.envelope import Event
from graph.statements import highlights as stmts
from services.core import clock
from services.core.errors import BadInput, Forbidden, NotFound
from services.core.records import HighlightRecord
from services.story_reads import ACTIVE, EXPIRED, KEPT, LIVE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from graph.store import GraphStore
    from services.story_reads import StoryReader

TITLE_MAX_CHARS = 30
MAX_STORIES = 100  # Instagram: a highlight holds up to 100 stories
MAX_HIGHLIGHTS = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _record(row: dict[str, Any]) -> HighlightRecord:
    h = row["highlight"]
    ordered = sorted(row["stories"], key=lambda s: s["position"] if s["position"] is not None else 1 << 30)
    return HighlightRecord(
        id=h["id"], owner_id=row["owner_id"], title=h["title"], created_at=int(h["created_at"]),
        story_ids=tuple(s["id"] for s in ordered),
    )  # fmt: skip


def _check_title(title: str) -> str:
    text = title.strip()
    if not 1 <= len(text) <= TITLE_MAX_CHARS:
        raise BadInput("title", f"A title has 1 to {TITLE_MAX_CHARS} characters.")
    if _CONTROL.search(text):
        raise BadInput("title", "The title contains a control character.")
    return text


def _check_ids(story_ids: Sequence[str]) -> None:
    if not 1 <= len(story_ids) <= MAX_STORIES:
        raise BadInput("storyIds", f"A highlight has 1 to {MAX_STORIES} stories.")
    if len(set(story_ids)) != len(story_ids):
        raise BadInput("storyIds", "A story appears twice.")


class HighlightService:
    """Highlights over ``graph``; ``reader`` checks the stories with the owner's flags."""

    def __init__(self, graph: GraphStore, reader: StoryReader) -> None:
        self._graph, self._reader = graph, reader

    async def create_highlight(self, viewer_id: str, title: str, story_ids: Sequence[str]) -> HighlightRecord:
        """A highlight of the viewer's ``story_ids`` in that order (see the module docstring for errors)."""
        text = _check_title(title)
        _check_ids(story_ids)
        await self._check_stories(viewer_id, story_ids)
        existing = await self.highlights_of([viewer_id], viewer_id)
        if len(existing[viewer_id]) >= MAX_HIGHLIGHTS:
            raise Forbidden(f"You already have {MAX_HIGHLIGHTS} highlights; delete one first.")
        now, highlight_id = clock.now_ms(), str(uuid_utils.uuid7())
        highlight = {"id": highlight_id, "title": text, "created_at": now, "deleted": False}
        rows = await self._graph.write(
            stmts.CREATE_HIGHLIGHT,
            {"viewer_id": viewer_id, "story_ids": list(story_ids), "highlight": highlight, "now": now,
             "max_highlights": MAX_HIGHLIGHTS},
        )  # fmt: skip
        if not rows:  # a story changed (deleted, its media purged) or a highlight was added meanwhile
            await self._check_stories(viewer_id, story_ids)
            raise Forbidden(f"You already have {MAX_HIGHLIGHTS} highlights; delete one first.")
        return HighlightRecord(highlight_id, viewer_id, text, now, tuple(story_ids))

    async def _check_stories(self, viewer_id: str, story_ids: Sequence[str]) -> None:
        views = await self._reader.views(story_ids, viewer_id)
        for i, view in enumerate(views):
            field = f"storyIds[{i}]"
            if view is None or view.record.author_id != viewer_id or view.record.status not in (ACTIVE, EXPIRED):
                raise BadInput(field, "Only your own active or expired stories can be highlighted.")
            if view.media_state not in (LIVE, KEPT):
                raise BadInput(field, "This story's photo has been deleted.")

    async def delete_highlight(self, viewer_id: str, highlight_id: str) -> HighlightRecord:
        """Soft-delete the viewer's highlight; returns it as it was. Raises ``NotFound`` (absent, deleted or
        hidden), ``Forbidden`` (someone else's the viewer may see)."""
        found = (await self.highlights_by_ids([highlight_id], viewer_id))[0]
        if found is None:
            raise NotFound("Highlight not found.")
        if found.owner_id != viewer_id:
            raise Forbidden("Only the owner may delete this highlight.")
        data = {"highlight_id": highlight_id, "owner_id": viewer_id, "story_ids": list(found.story_ids)}
        event = Event.new("story.highlight_deleted", actor_id=viewer_id, subject_id=highlight_id, data=data)
        rows = await self._graph.write(
            stmts.DELETE_HIGHLIGHT,
            {"viewer_id": viewer_id, "highlight_id": highlight_id, "now": clock.now_ms(),
             "outbox": event.outbox_props()},
        )  # fmt: skip
        if not rows:
            raise NotFound("Highlight not found.")
        return found

    async def highlights_of(self, owner_ids: Sequence[str], viewer_id: str | None) -> dict[str, list[HighlightRecord]]:
        """The live highlights of each owner that ``viewer_id`` may see, newest first (one round trip)."""
        result: dict[str, list[HighlightRecord]] = {o: [] for o in owner_ids}
        if not owner_ids:
            return result
        rows = await self._graph.read(
            stmts.HIGHLIGHTS_OF_USERS, {"owner_ids": list(dict.fromkeys(owner_ids)), "viewer_id": viewer_id or ""}
        )
        for row in rows:
            result[row["owner_id"]].append(_record(row))
        return result

    async def highlights_by_ids(self, ids: Sequence[str], viewer_id: str | None) -> list[HighlightRecord | None]:
        """Highlights ``viewer_id`` may see, in order (``None``: absent, deleted or hidden); one round trip."""
        if not ids:
            return []
        rows = await self._graph.read(
            stmts.HIGHLIGHTS_BY_IDS, {"ids": list(dict.fromkeys(ids)), "viewer_id": viewer_id or ""}
        )
        by_id = {row["highlight"]["id"]: _record(row) for row in rows}
        return [by_id.get(i) for i in ids]
