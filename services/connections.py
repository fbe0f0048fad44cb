"""Reads of the follow graph: followers, following, follow requests, viewer flags, mutual followers.

Pages are Relay keyset pages, newest first by ``(edge created_at DESC, user id DESC)``; the cursor is
``encode_cursor(created_at_ms, user_id)``. A private account's followers/following are an empty page
(``total_count`` 0) for anyone but itself and its approved followers, as are the lists of a user blocked
either way (``graph.statements.visibility``). ``total_count`` of a visible page is the maintained counter.
Every method is ONE graph round trip; the batch methods serve DataLoaders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph.statements import social_reads as stmts
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import Relationship, UserRecord

if TYPE_CHECKING:
    from collections.abc import Iterable

    from graph.store import GraphStore

DEFAULT_PAGE = 20
DEFAULT_MUTUALS = 3


def _page(items: list[dict[str, Any]], first: int, total: int, has_previous: bool) -> Page[UserRecord]:
    ordered = sorted(items, key=lambda u: (u["edge_created_at"], u["id"]), reverse=True)
    page: Page[UserRecord] = Page(has_next=len(ordered) > first, has_previous=has_previous, total_count=total)
    page.items = [
        (encode_cursor(u["edge_created_at"], u["id"]), UserRecord.from_row(u)) for u in ordered[:first]
    ]
    return page


class ConnectionService:
    """Follower/following pages, pending requests, viewer flags and mutual followers."""

    def __init__(self, graph: GraphStore) -> None:
        self._graph = graph

    async def followers(
        self, viewer_id: str | None, user_id: str, first: int | None, after: str | None
    ) -> Page[UserRecord]:
        """Who follows ``user_id``, newest first (``first`` 1–100, default 20; ``after`` a cursor).

        Empty page when not visible to the viewer or ``user_id`` is unknown. Raises ``BadInput`` (``first``,
        ``after``) for a bad page size or cursor.
        """
        return await self._connection(stmts.FOLLOWERS_PAGE, viewer_id, user_id, first, after)

    async def following(
        self, viewer_id: str | None, user_id: str, first: int | None, after: str | None
    ) -> Page[UserRecord]:
        """Whom ``user_id`` follows, newest first; same rules and errors as :meth:`followers`."""
        return await self._connection(stmts.FOLLOWING_PAGE, viewer_id, user_id, first, after)

    async def follow_requests(self, viewer_id: str, first: int | None, after: str | None) -> Page[UserRecord]:
        """Pending requests to the viewer's (private) account, newest first; ``total_count`` counts them all.
        Raises ``BadInput`` (``first``, ``after``)."""
        size = clamp_first(first, DEFAULT_PAGE)
        after_at, after_id = decode_cursor(after, (int, str)) or (None, None)
        params = {"viewer_id": viewer_id, "after_at": after_at, "after_id": after_id, "limit": size + 1}
        rows = await self._graph.read(stmts.FOLLOW_REQUESTS_PAGE, params)
        if not rows:
            return Page(total_count=0)
        return _page(rows[0]["users"], size, int(rows[0]["total"]), after is not None)

    async def relationships(self, viewer_id: str | None, user_ids: Iterable[str]) -> dict[str, Relationship]:
        """``user_id -> Relationship`` (viewer flags) for each id, one round trip for the whole batch.

        Anonymous viewers, the viewer themself and unknown ids get the all-False ``Relationship()``.
        """
        ids = list(dict.fromkeys(user_ids))
        result = {uid: Relationship() for uid in ids}
        others = [uid for uid in ids if uid != viewer_id]
        if viewer_id is None or not others:
            return result
        rows = await self._graph.read(stmts.RELATIONSHIPS, {"viewer_id": viewer_id, "ids": others})
        for r in rows:
            result[r["id"]] = Relationship(
                viewer_follows=bool(r["viewer_follows"]),
                follows_viewer=bool(r["follows_viewer"]),
                viewer_has_requested=bool(r["viewer_has_requested"]),
                viewer_blocks=bool(r["viewer_blocks"]),
            )
        return result

    async def mutual_followers(
        self, viewer_id: str | None, user_ids: Iterable[str], first: int | None
    ) -> dict[str, Page[UserRecord]]:
        """``user_id -> Page`` of the people the viewer follows who follow that user, most-followed first
        (at most ``first``, 1–100, default 3; ``total_count`` counts them all). Empty for an anonymous
        viewer. One round trip per batch. Raises ``BadInput("first")``."""
        size = clamp_first(first, DEFAULT_MUTUALS)
        ids = list(dict.fromkeys(user_ids))
        result: dict[str, Page[UserRecord]] = {uid: Page(total_count=0) for uid in ids}
        if viewer_id is None or not ids:
            return result
        rows = await self._graph.read(
            stmts.MUTUAL_FOLLOWERS, {"viewer_id": viewer_id, "ids": ids, "first": size}
        )
        for r in rows:
            users = sorted(r["users"], key=lambda u: (-int(u.get("follower_count") or 0), u["username"]))
            page: Page[UserRecord] = Page(has_next=int(r["total"]) > len(users), total_count=int(r["total"]))
            page.items = [
                (encode_cursor(int(u.get("follower_count") or 0), u["id"]), UserRecord.from_row(u))
                for u in users
            ]
            result[r["id"]] = page
        return result

    async def _connection(
        self, stmt: Any, viewer_id: str | None, user_id: str, first: int | None, after: str | None
    ) -> Page[UserRecord]:
        size = clamp_first(first, DEFAULT_PAGE)
        after_at, after_id = decode_cursor(after, (int, str)) or (None, None)
        params = {
            "viewer_id": viewer_id,
            "user_id": user_id,
            "after_at": after_at,
            "after_id": after_id,
            "limit": size + 1,
        }
        rows = await self._graph.read(stmt, params)
        if not rows or not rows[0]["visible"]:
            return Page(total_count=0)
        return _page(rows[0]["users"], size, int(rows[0]["total"]), after is not None)
