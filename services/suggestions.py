"""Suggested users: friends of friends.

Candidates are the people followed by the people the viewer follows, ranked by ``mutual_count`` — how many
of the viewer's followees follow them (the "mutual friends" signal of people-you-may-know systems) —
then by follower count and id for a stable order. Excluded: the viewer, anyone the viewer already follows or
has requested, and blocks in either direction. One graph round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.statements import suggestions as stmts
from services.core.pagination import clamp_first
from services.core.records import UserRecord

if TYPE_CHECKING:
    from graph.store import GraphStore

DEFAULT_SUGGESTIONS = 10


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A suggested ``user`` with ``mutual_count`` and ``reason`` ("Followed by fb_12 and 4 others")."""

    user: UserRecord
    mutual_count: int
    reason: str


def follow_reason(names: list[str], mutual_count: int) -> str:
    """The suggestion's reason text from up to two followee usernames and the mutual count.

    One -> "Followed by fb_12"; two -> "Followed by fb_12 and fb_40"; more -> "Followed by fb_12 and N
    others" (N = mutual_count - 1). Raises ``ValueError`` when ``names`` is empty.
    """
    if not names:
        raise ValueError("a suggestion needs at least one mutual name")
    if mutual_count <= 1:
        return f"Followed by {names[0]}"
    if mutual_count == 2 and len(names) >= 2:
        return f"Followed by {names[0]} and {names[1]}"
    others = mutual_count - 1
    return f"Followed by {names[0]} and {others} other{'s' if others != 1 else ''}"


class SuggestionService:
    """People-you-may-know for the viewer."""

    def __init__(self, graph: GraphStore) -> None:
        self._graph = graph

    async def suggested_users(self, viewer_id: str, first: int | None) -> list[Suggestion]:
        """Up to ``first`` (1–100, default 10) suggestions, best first. Raises ``BadInput("first")``."""
        size = clamp_first(first, DEFAULT_SUGGESTIONS)
        rows = await self._graph.read(stmts.SUGGESTIONS, {"viewer_id": viewer_id, "limit": size})
        rows.sort(
            key=lambda r: (-int(r["mutual"]), -int(r["user"].get("follower_count") or 0), r["user"]["id"])
        )
        return [
            Suggestion(
                UserRecord.from_row(r["user"]),
                int(r["mutual"]),
                follow_reason(list(r["names"]), int(r["mutual"])),
            )
            for r in rows
        ]
