"""Suggested users: friends of friends.

Candidates are the people followed by the people the viewer follows, ranked by ``mutual_count`` — how many
of the viewer's followees follow them (the "mutual friends" signal of people-you-may-know systems) —
then by follower count and id for a stable order. Excluded: the viewer, anyone the viewer already follows or
has requested, and blocks in either direction. The ranking is cached per viewer (``cache.social``) and its
candidates checked again in the graph on every read. One graph round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache.errors import CacheUnavailable
from graph.statements import suggestions as stmts
from services.core.pagination import clamp_first
from services.core.records import UserRecord

if TYPE_CHECKING:
    from cache.social import SocialCache
    from graph.store import GraphStore, Row

DEFAULT_SUGGESTIONS = 10
CACHED = 100  # candidates ranked and cached per viewer (the most ``first`` can ask for)


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
    """People-you-may-know for the viewer; the ranking is cached per viewer in ``social`` (``cache.social``)."""

    def __init__(self, graph: GraphStore, social: SocialCache | None = None) -> None:
        self._graph = graph
        self._social = social

    async def suggested_users(self, viewer_id: str, first: int | None) -> list[Suggestion]:
        """Up to ``first`` (1–100, default 10) suggestions, best first. Raises ``BadInput("first")``.

        The ranking (the best ``CACHED`` candidate ids) is computed by the two-hop expansion once and cached
        per viewer (dropped when the viewer's follows change, else ``cache.social``'s TTL); every read checks
        its candidates again in the graph (``SUGGESTION_USERS``: not followed, requested or blocked since,
        fresh mutual counts and names), O(candidates x followees) instead of the expansion."""
        size = clamp_first(first, DEFAULT_SUGGESTIONS)
        ranking = await self._cached(viewer_id)
        if ranking is None:
            rows = await self._graph.read(stmts.SUGGESTIONS, {"viewer_id": viewer_id, "limit": CACHED})
            await self._store(viewer_id, _ranked(rows))
        else:
            rows = await self._graph.read(
                stmts.SUGGESTION_USERS, {"viewer_id": viewer_id, "ids": ranking[: size + 10]}
            )
        rows = _ranked(rows)[:size]
        return [
            Suggestion(
                UserRecord.from_row(r["user"]),
                int(r["mutual"]),
                follow_reason(list(r["names"]), int(r["mutual"])),
            )
            for r in rows
        ]

    async def _cached(self, viewer_id: str) -> list[str] | None:
        if self._social is None:
            return None
        try:
            cached = await self._social.suggestions(viewer_id)
        except CacheUnavailable:
            return None
        return None if cached is None else [str(c["id"]) for c in cached]

    async def _store(self, viewer_id: str, rows: list[Row]) -> None:
        if self._social is None:
            return
        try:
            await self._social.store_suggestions(viewer_id, [{"id": r["user"]["id"]} for r in rows])
        except CacheUnavailable:
            pass


def _ranked(rows: list[Row]) -> list[Row]:
    """``rows`` best first: ``(mutual DESC, follower_count DESC, id)``."""
    return sorted(
        rows, key=lambda r: (-int(r["mutual"]), -int(r["user"].get("follower_count") or 0), r["user"]["id"])
    )

