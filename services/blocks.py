"""Block use cases: ``block_user`` and ``unblock_user``.

A block removes follows and pending requests in BOTH directions and adjusts all four counters by exactly
the number of edges deleted, in the same single statement that creates the BLOCKS edge and its
``block.created`` Outbox node (``data``: ``{blocker_id, blocked_id}``; keyed by the blocked user; consumers
drop the pair's feed entries both ways). Afterwards the blocked user cannot follow the blocker
and the blocker is ``NOT_FOUND`` to them, in every mutation too: following, blocking or unblocking one's
blocker answers exactly as for a user who does not exist (nothing is written, so a block cannot be detected
by probing). Unblocking restores nothing and emits no event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from events.envelope import Event
from graph.statements import blocks as stmts
from services.core import clock
from services.core.errors import BadInput, NotFound
from services.core.records import UserRecord

if TYPE_CHECKING:
    from graph.store import GraphStore


@dataclass(frozen=True, slots=True)
class BlockResult:
    """``user``: the blocked/unblocked user after the write; ``changed``: whether anything was written;
    ``unfollowed`` / ``removed_follower``: follows deleted viewer -> user / user -> viewer (0 or 1)."""

    user: UserRecord
    changed: bool
    unfollowed: int = 0
    removed_follower: int = 0


class BlockService:
    """Blocks between users; one graph statement per call."""

    def __init__(self, graph: GraphStore) -> None:
        self._graph = graph

    async def block_user(self, viewer_id: str, target_id: str) -> BlockResult:
        """Block ``target_id``; idempotent (a second block writes nothing and emits nothing).

        Raises ``BadInput("userId")`` for oneself and ``NotFound`` for an unknown user or one who blocks
        the viewer (the same error).
        """
        if viewer_id == target_id:
            raise BadInput("userId", "You cannot block yourself.")
        event = Event.new(
            "block.created",
            actor_id=viewer_id,
            subject_id=target_id,
            data={"blocker_id": viewer_id, "blocked_id": target_id},
        )
        params = {
            "viewer_id": viewer_id,
            "target_id": target_id,
            "now": clock.now_ms(),
            "outbox": event.outbox_props(),
        }
        rows = await self._graph.write(stmts.BLOCK, params)
        if not rows:
            raise NotFound("User not found.")
        row = rows[0]
        return BlockResult(
            user=UserRecord.from_row(row["user"]),
            changed=bool(row["changed"]),
            unfollowed=int(row["unfollowed"]),
            removed_follower=int(row["removed_follower"]),
        )

    async def unblock_user(self, viewer_id: str, target_id: str) -> BlockResult:
        """Lift a block of ``target_id``; idempotent. Raises ``BadInput("userId")`` for oneself and
        ``NotFound`` for an unknown user or one who blocks the viewer (the same error)."""
        if viewer_id == target_id:
            raise BadInput("userId", "You cannot unblock yourself.")
        rows = await self._graph.write(stmts.UNBLOCK, {"viewer_id": viewer_id, "target_id": target_id})
        if not rows:
            raise NotFound("User not found.")
        return BlockResult(user=UserRecord.from_row(rows[0]["user"]), changed=bool(rows[0]["changed"]))
