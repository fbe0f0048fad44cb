"""The close-friends list: ``add_close_friend``, ``remove_close_friend``, the list and the viewer's flags.

A user's list decides who sees their CLOSE_FRIENDS stories (``services.story_reads``). Adding twice is one
entry; removing someone not on it is a no-op. Nobody is told they were added. Across a block (either way)
nobody can be added, and an entry made before the block is left out of every read until it is lifted.

Errors: ``BadInput("userId")`` for oneself or a full list (``MAX_CLOSE_FRIENDS``); ``NotFound`` for an absent
user or one who blocks the viewer; ``Forbidden`` for a user the viewer blocks; ``BadInput("first"|"after")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph.statements import close_friends as stmts
from services.core import clock
from services.core.errors import BadInput, Forbidden, NotFound
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import UserRecord

if TYPE_CHECKING:
    from collections.abc import Sequence

    from graph.store import GraphStore

FIELD = "userId"
MAX_CLOSE_FRIENDS = 10_000
DEFAULT_FIRST = 20
_FIRST_PAGE = 2**62


class CloseFriendService:
    """Close-friends lists over ``graph``; every method is one statement."""

    def __init__(self, graph: GraphStore) -> None:
        self._graph = graph

    async def add_close_friend(self, viewer_id: str, target_id: str) -> UserRecord:
        """Put ``target_id`` on the viewer's list (idempotent); returns that user. Raises as the module says."""
        if viewer_id == target_id:
            raise BadInput(FIELD, "You cannot add yourself to your close friends.")
        rows = await self._graph.write(
            stmts.ADD_CLOSE_FRIEND,
            {"viewer_id": viewer_id, "target_id": target_id, "now": clock.now_ms(), "max_friends": MAX_CLOSE_FRIENDS},
        )
        row = self._found(rows)
        if row["viewer_blocks"]:
            raise Forbidden("Unblock this user before adding them to your close friends.")
        if row["full"]:
            raise BadInput(FIELD, f"Your close friends list holds at most {MAX_CLOSE_FRIENDS:,} people.")
        return UserRecord.from_row(row["user"])

    async def remove_close_friend(self, viewer_id: str, target_id: str) -> UserRecord:
        """Take ``target_id`` off the viewer's list (idempotent); returns that user."""
        if viewer_id == target_id:
            raise BadInput(FIELD, "You are not on your own close friends list.")
        rows = await self._graph.write(stmts.REMOVE_CLOSE_FRIEND, {"viewer_id": viewer_id, "target_id": target_id})
        return UserRecord.from_row(self._found(rows)["user"])

    @staticmethod
    def _found(rows: list[dict[str, Any]]) -> dict[str, Any]:
        if not rows or rows[0]["blocks_viewer"]:
            raise NotFound("User not found.")
        return rows[0]

    async def close_friends(self, viewer_id: str, first: int | None, after: str | None) -> Page[UserRecord]:
        """The viewer's list, most recently added first (keyset ``[added_at, user id]``)."""
        limit = clamp_first(first, DEFAULT_FIRST)
        before_at, before_id = decode_cursor(after, (int, str)) or (_FIRST_PAGE, "")
        rows = await self._graph.read(
            stmts.CLOSE_FRIENDS_PAGE,
            {"viewer_id": viewer_id, "before_at": before_at, "before_id": before_id, "limit": limit + 1},
        )
        users = [(int(r["at"]), UserRecord.from_row(r["user"])) for r in rows]
        return Page(
            items=[(encode_cursor(at, u.id), u) for at, u in users[:limit]],
            has_next=len(users) > limit,
            has_previous=after is not None,
        )

    async def flags(self, viewer_id: str | None, user_ids: Sequence[str]) -> list[bool]:
        """Whether each of ``user_ids`` is on the viewer's list (all False when anonymous). One round trip."""
        if viewer_id is None or not user_ids:
            return [False] * len(user_ids)
        rows = await self._graph.read(stmts.CLOSE_FRIEND_FLAGS, {"viewer_id": viewer_id, "ids": list(user_ids)})
        listed = {r["id"]: bool(r["listed"]) for r in rows}
        return [listed.get(u, False) for u in user_ids]
