"""Notification use cases of the ``notifications`` worker: events in, the recipient's list changed, delivery.

Event -> notification (DESIGN.md "Notifications"; seed "Component Deep Dive: Notifications"):

| event               | kind            | recipient           | group key (API.md "Aggregation")       |
|---------------------|-----------------|---------------------|----------------------------------------|
| ``like.created``    | LIKE            | post author         | (recipient, post), open for the window  |
| ``comment.created`` | COMMENT         | post author         | (recipient, post), open for the window  |
| ``comment.created`` | MENTION         | each @mentioned     | never grouped                           |
| ``follow.created``  | FOLLOW          | followee            | (recipient), open for the window        |
| ``follow.requested``| FOLLOW_REQUEST  | private followee    | never grouped                           |
| ``follow.accepted`` | FOLLOW_ACCEPTED | the requester       | never grouped                           |
| ``post.published``  | MENTION         | each mentioned user | never grouped                           |

A group stays open ``group_window`` s (``INSTAGRAPH_NOTIFICATION_GROUP_WINDOW``) after its latest event; the
next event after that opens a new group. Each store is ONE statement that re-checks the source (the like,
follow, comment still exists, the post is PUBLISHED), the recipient's preference for the kind and blocks
either way; nothing is stored for a self-action. Undo events take the actor out: ``like.removed``,
``follow.removed`` (unfollow, withdrawn or rejected request, removed follower), ``comment.deleted``; a notification left
without actors is deleted, and ``post.deleted`` / ``block.created`` remove what they make stale.

Redelivery: the consumer runtime skips seen event ids; a redelivery that slips through finds its actor edge
in place (``MERGE``) and changes nothing (``added`` is false), and a stale undo is guarded by the source
check. A change that added an actor is handed to ``NotificationDelivery`` (debounce, do-not-disturb, live and
Web Push).

Errors: ``graph.errors.GraphError`` and ``cache.errors.CacheUnavailable`` propagate (the consumer retries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uuid_utils

from graph.statements import notifications as stmts
from services.core.captions import parse_caption

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from events.envelope import Event
    from graph.cypher import Statement
    from graph.store import GraphStore, Row
    from services.notification_delivery import NotificationDelivery

UNGROUPED_WINDOW_MS = 10 * 365 * 24 * 3600 * 1000  # a never-grouped notification's own key stays "open"


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A notification that gained an actor: ``notification_id`` of ``recipient_id``, new or not, with the
    recipient's do-not-disturb settings read by the same statement."""

    notification_id: str
    recipient_id: str
    created: bool
    dnd_start: str | None
    dnd_end: str | None
    time_zone: str | None


class NotificationService:
    """Turns domain events into the recipients' notifications (graph) and hands changes to ``delivery``."""

    def __init__(self, graph: GraphStore, delivery: NotificationDelivery | None, *, group_window_s: float) -> None:
        self._graph, self._delivery = graph, delivery
        self.group_window_ms = int(group_window_s * 1000)
        self._handlers: dict[str, Callable[[Event], Awaitable[int]]] = {
            "like.created": self.on_like,
            "like.removed": self.on_unlike,
            "comment.created": self.on_comment,
            "comment.deleted": self.on_comment_deleted,
            "follow.created": self.on_follow,
            "follow.requested": self.on_follow_requested,
            "follow.accepted": self.on_follow_accepted,
            "follow.removed": self.on_follow_removed,
            "post.published": self.on_post_published,
            "post.deleted": self.on_post_deleted,
            "block.created": self.on_block,
        }

    async def handle(self, event: Event) -> int:
        """Apply ``event``; returns the number of notifications changed (other event types: 0)."""
        handler = self._handlers.get(event.type)
        return 0 if handler is None else await handler(event)

    # -- adds ------------------------------------------------------------------------------------------------

    async def _add(self, stmt: Statement, event: Event, *, kind: str, grouped: bool, group_key: str = "",
                   **params: Any) -> int:  # fmt: skip
        """Run an add statement (the group key is the statement's own for LIKE and COMMENT: the recipient is
        the post's author, known there)."""
        full = {
            "post_id": "", "comment_id": "", "recipient_id": "", **params,
            "kind": kind, "group_key": group_key, "new_id": str(uuid_utils.uuid7()), "at": event.occurred_at,
            "window": self.group_window_ms if grouped else UNGROUPED_WINDOW_MS,
            "tx": f"{event.id}:{uuid_utils.uuid4()}",
        }  # fmt: skip
        rows = await self._graph.write(stmt, full)
        changed = 0
        for row in rows:
            if row["added"]:
                changed += 1
                await self._changed(row)
        return changed

    async def _changed(self, row: Row) -> None:
        if self._delivery is None:
            return
        await self._delivery.changed(StoredChange(
            notification_id=row["id"], recipient_id=row["recipient_id"], created=bool(row["created"]),
            dnd_start=row.get("dnd_start") or None, dnd_end=row.get("dnd_end") or None,
            time_zone=row.get("time_zone") or None,
        ))  # fmt: skip

    async def on_like(self, event: Event) -> int:
        """``like.created``: the post author's LIKE group gains the liker."""
        actor, post = _actor(event, "user_id"), _data(event, "post_id") or event.subject_id
        if actor is None:
            return 0
        return await self._add(stmts.ADD_LIKE, event, kind="LIKE", grouped=True, actor_id=actor, post_id=post)

    async def on_comment(self, event: Event) -> int:
        """``comment.created``: the post author's COMMENT group, and a MENTION for each @username in the text."""
        actor, post = _actor(event, "author_id"), _data(event, "post_id")
        comment = _data(event, "comment_id") or event.subject_id
        if actor is None or post is None:
            return 0
        changed = await self._add(stmts.ADD_COMMENT, event, kind="COMMENT", grouped=True, actor_id=actor,
                                  post_id=post, comment_id=comment)  # fmt: skip
        names = list(parse_caption(str(event.data.get("text") or "")).mentions)
        if names:
            for row in await self._graph.read(stmts.USERS_BY_USERNAMES, {"usernames": names[:20]}):
                changed += await self._add(
                    stmts.ADD_MENTION, event, kind="MENTION", group_key=f"{row['id']}:MENTION:{comment}",
                    grouped=False, actor_id=actor, recipient_id=row["id"], post_id=post, comment_id=comment,
                )
        return changed

    async def on_follow(self, event: Event) -> int:
        """``follow.created``: the followee's FOLLOW group gains the follower."""
        follower, followee = _pair(event)
        if follower is None or followee is None:
            return 0
        return await self._add(stmts.ADD_FOLLOW, event, kind="FOLLOW", group_key=f"{followee}:FOLLOW", grouped=True,
                               actor_id=follower, recipient_id=followee)  # fmt: skip

    async def on_follow_requested(self, event: Event) -> int:
        """``follow.requested``: a FOLLOW_REQUEST notification for the private followee."""
        follower, followee = _pair(event)
        if follower is None or followee is None:
            return 0
        return await self._add(stmts.ADD_FOLLOW_REQUEST, event, kind="FOLLOW_REQUEST",
                               group_key=f"{followee}:FOLLOW_REQUEST:{event.id}", grouped=False,
                               actor_id=follower, recipient_id=followee)  # fmt: skip

    async def on_follow_accepted(self, event: Event) -> int:
        """``follow.accepted``: FOLLOW_ACCEPTED for the requester; the approver's request notification goes."""
        follower, followee = _pair(event)
        if follower is None or followee is None:
            return 0
        await self._remove("FOLLOW_REQUEST", recipient=followee, actor=follower)
        return await self._add(stmts.ADD_FOLLOW_ACCEPTED, event, kind="FOLLOW_ACCEPTED",
                               group_key=f"{follower}:FOLLOW_ACCEPTED:{event.id}", grouped=False,
                               actor_id=followee, recipient_id=follower)  # fmt: skip

    async def on_post_published(self, event: Event) -> int:
        """``post.published``: a MENTION for every user the caption mentions (who may see the post)."""
        post = _data(event, "post_id") or event.subject_id
        changed = 0
        for row in await self._graph.read(stmts.POST_MENTIONS, {"post_id": post}):
            changed += await self._add(
                stmts.ADD_MENTION, event, kind="MENTION", group_key=f"{row['id']}:MENTION:{post}", grouped=False,
                actor_id=row["author_id"], recipient_id=row["id"], post_id=post,
            )
        return changed

    # -- removals --------------------------------------------------------------------------------------------

    async def _remove(self, kind: str, *, recipient: str, actor: str, post: str = "", still: bool = False) -> int:
        rows = await self._graph.write(
            stmts.REMOVE_ACTOR,
            {"recipient_id": recipient, "kind": kind, "actor_id": actor, "post_id": post, "still": still},
        )
        return int(rows[0]["removed"]) if rows else 0

    async def _state(self, actor: str, recipient: str = "", post: str = "") -> Row:
        rows = await self._graph.read(stmts.SOURCE_STATE, {"actor_id": actor, "recipient_id": recipient,
                                                           "post_id": post})  # fmt: skip
        return rows[0] if rows else {"liked": False, "follows": False, "requested": False}

    async def on_unlike(self, event: Event) -> int:
        """``like.removed``: the liker leaves the author's LIKE groups of the post (unless they liked again)."""
        actor, post = _actor(event, "user_id"), _data(event, "post_id") or event.subject_id
        author = await self._author_of(post) if actor else None
        if actor is None or author is None:
            return 0
        state = await self._state(actor, post=post)
        return await self._remove("LIKE", recipient=author, actor=actor, post=post, still=bool(state["liked"]))

    async def on_follow_removed(self, event: Event) -> int:
        """``follow.removed``: the follower leaves the FOLLOW groups (and a withdrawn request's notification
        goes), unless the follow or request exists again."""
        follower, followee = _pair(event)
        if follower is None or followee is None:
            return 0
        state = await self._state(follower, recipient=followee)
        removed = await self._remove("FOLLOW", recipient=followee, actor=follower, still=bool(state["follows"]))
        return removed + await self._remove(
            "FOLLOW_REQUEST", recipient=followee, actor=follower, still=bool(state["requested"])
        )

    async def on_comment_deleted(self, event: Event) -> int:
        """``comment.deleted``: its author leaves the COMMENT group unless they have another live comment on
        the post; MENTIONs made by the comment are deleted."""
        comment = _data(event, "comment_id") or event.subject_id
        rows = await self._graph.write(stmts.COMMENT_GONE, {"comment_id": comment})
        if not rows:
            return 0
        row = rows[0]
        if row["remaining"]:
            params = {"post_id": row["post_id"], "author_id": row["author_id"], "comment_id": comment,
                      "remaining": row["remaining"]}  # fmt: skip
            await self._graph.write(stmts.REPOINT_COMMENT, params)
            return 1
        author = await self._author_of(row["post_id"])
        if author is None:
            return 0
        return await self._remove("COMMENT", recipient=author, actor=row["author_id"], post=row["post_id"])

    async def on_post_deleted(self, event: Event) -> int:
        """``post.deleted``: every notification about the post is deleted."""
        post = _data(event, "post_id") or event.subject_id
        rows = await self._graph.write(stmts.POST_GONE, {"post_id": post})
        return int(rows[0]["deleted"]) if rows else 0

    async def on_block(self, event: Event) -> int:
        """``block.created``: each user's actor edges leave the other's notifications."""
        blocker, blocked = _actor(event, "blocker_id"), _data(event, "blocked_id") or event.subject_id
        if blocker is None or blocker == blocked:
            return 0
        removed = 0
        for recipient, actor in ((blocker, blocked), (blocked, blocker)):
            rows = await self._graph.write(stmts.BLOCK_GONE, {"recipient_id": recipient, "actor_id": actor})
            removed += int(rows[0]["removed"]) if rows else 0
        return removed

    async def _author_of(self, post_id: str) -> str | None:
        rows = await self._graph.read(stmts.POST_AUTHOR, {"post_id": post_id})
        return rows[0]["author_id"] if rows else None


def _data(event: Event, key: str) -> str | None:
    value = event.data.get(key)
    return value if isinstance(value, str) and value else None


def _actor(event: Event, key: str) -> str | None:
    return _data(event, key) or event.actor_id


def _pair(event: Event) -> tuple[str | None, str | None]:
    return _data(event, "follower_id") or event.actor_id, _data(event, "followee_id") or event.subject_id
