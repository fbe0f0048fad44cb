"""The recipient's notification list: ``notifications`` (keyset pages by ``updatedAt``), ``unread_count``,
``mark_read``, ``notifications_by_ids`` (the subscription and ``node(id:)``) and ``changed_since`` (replay from
the graph).

Order: ``updated_at`` newest first, ties by id (cursor ``[updated_at_ms, id]``). Only the recipient ever reads
their notifications; actors blocked either way are neither shown nor counted, a notification about a post the
recipient may no longer see is hidden, and so is one with no visible actor left (the statements compose the
visibility fragments). A page scans ``SCAN_FACTOR`` times its size per round trip and goes on while hidden
candidates left it short, at most ``MAX_SCANS`` round trips.

Errors: ``BadInput`` (``first``, ``after``, ``upTo``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph.statements import notifications as stmts
from services.core.errors import BadInput
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import NotificationRecord

if TYPE_CHECKING:
    from graph.store import GraphStore, Row
    from services.rate_limits import RateLimitService

DEFAULT_FIRST = 20
MAX_ACTORS = 25  # actors(first:) bound; the statements return at most this many ids per notification
SCAN_FACTOR = 2
MAX_SCANS = 5


def _record(row: Row) -> NotificationRecord:
    n: dict[str, Any] = row["notification"]
    return NotificationRecord(
        id=n["id"], kind=n["kind"], post_id=n.get("post_id") or None, comment_id=n.get("comment_id") or None,
        created_at=int(n["created_at"]), updated_at=int(n["updated_at"]), read=bool(n.get("read")),
        actor_count=int(row["actor_count"]), actor_ids=tuple(row["actor_ids"] or ()),
    )  # fmt: skip


class NotificationReader:
    """Read use cases of one recipient's notifications over the graph."""

    def __init__(self, graph: GraphStore, rate_limits: RateLimitService | None = None) -> None:
        self._graph = graph
        self._rate_limits = rate_limits

    async def notifications(self, viewer_id: str, first: int | None, after: str | None) -> Page[NotificationRecord]:
        """A page of the viewer's notifications, newest ``updated_at`` first.

        Raises ``BadInput("first")`` outside 1..100 and ``BadInput("after")`` for a malformed cursor.
        """
        limit = clamp_first(first, DEFAULT_FIRST)
        at, after_id = decode_cursor(after, (int, str)) or (None, None)
        items: list[tuple[str, NotificationRecord]] = []
        more = False
        for _ in range(MAX_SCANS):
            scan = (limit + 1) * SCAN_FACTOR
            rows = await self._graph.read(stmts.NOTIFICATIONS_PAGE, {
                "viewer_id": viewer_id, "after_at": at, "after_id": after_id, "scan": scan, "actors": MAX_ACTORS,
            })  # fmt: skip
            for row in rows:
                if row["visible"] and len(items) <= limit:
                    rec = _record(row)
                    items.append((encode_cursor(rec.updated_at, rec.id), rec))
            if len(rows) < scan or len(items) > limit:
                more = len(items) > limit
                break
            last = rows[-1]["notification"]
            at, after_id = int(last["updated_at"]), last["id"]
            more = True
        return Page(items=items[:limit], has_next=more or len(items) > limit, has_previous=after is not None)

    async def notifications_by_ids(self, viewer_id: str, ids: list[str]) -> list[NotificationRecord | None]:
        """The viewer's visible notifications of ``ids`` in order, ``None`` where absent, not theirs or hidden
        (one round trip)."""
        if not ids:
            return []
        rows = await self._graph.read(
            stmts.NOTIFICATIONS_BY_IDS, {"viewer_id": viewer_id, "ids": sorted(set(ids)), "actors": MAX_ACTORS}
        )
        found = {r["notification"]["id"]: _record(r) for r in rows}
        return [found.get(i) for i in ids]

    async def unread_count(self, viewer_id: str) -> int:
        """How many of the viewer's visible notifications are unread."""
        rows = await self._graph.read(stmts.UNREAD_COUNT, {"viewer_id": viewer_id})
        return int(rows[0]["unread"]) if rows else 0

    async def position(self, viewer_id: str, notification_id: str) -> int | None:
        """``updated_at`` (ms) of the viewer's notification, ``None`` when it is not theirs or gone."""
        rows = await self._graph.read(stmts.NOTIFICATION_POSITION, {"viewer_id": viewer_id, "id": notification_id})
        if not rows or not rows[0]["found"]:
            return None
        return int(rows[0]["updated_at"])

    async def mark_read(self, viewer_id: str, up_to: str | None) -> int:
        """Mark read every notification (``up_to`` None) or those at or below ``up_to`` in list order.

        Returns how many changed. Raises ``BadInput("upTo")`` when ``up_to`` is not one of the viewer's,
        ``RateLimited`` over 60 calls a minute.
        """
        if self._rate_limits is not None:
            await self._rate_limits.hit("markNotificationsRead", viewer_id)
        up_at: int | None = None
        if up_to is not None:
            up_at = await self.position(viewer_id, up_to)
            if up_at is None:
                raise BadInput("upTo", "upTo is not one of your notifications.")
        rows = await self._graph.write(stmts.MARK_READ, {"viewer_id": viewer_id, "up_at": up_at, "up_id": up_to})
        return int(rows[0]["marked"]) if rows else 0

    async def changed_since(self, viewer_id: str, since_ms: int, *, limit: int = 500) -> list[str]:
        """Ids of the viewer's visible notifications updated after ``since_ms``, oldest change first."""
        rows = await self._graph.read(stmts.CHANGED_SINCE, {"viewer_id": viewer_id, "since": since_ms, "limit": limit})
        return [r["id"] for r in rows]
