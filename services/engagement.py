"""Likes and comments: ``like_post``, ``unlike_post``, ``add_comment``, ``delete_comment`` and their reads.

Each write is ONE Cypher statement (``graph/statements/engagement.py``) that checks the post is PUBLISHED
and visible to the viewer (no block either way; a private author followed), makes the change and records its
event in the outbox, so a post deleted or hidden a moment earlier is never liked or commented on:

- ``like_post``: MERGE of ``(:User)-[:LIKED {created_at}]->(:Post)``; liking twice is one edge, one count,
  one ``like.created``. ``unlike_post`` deletes the edge (``like.removed`` when there was one). Redis counters
  move only when the statement reports that the edge changed (``services.like_counts``).
- ``add_comment``: ``(:User)-[:WROTE]->(:Comment {id, text, created_at, deleted: false})-[:ON]->(:Post)``,
  ``comment_count + 1``, ``comment.created``. ``delete_comment`` (the comment's author or the post's
  author): soft delete, ``comment_count - 1`` and ``comment.deleted`` only when it was live. Both comment
  events are keyed by the comment id (per-entity order) and carry the post id in ``data``.

Reads: ``comments`` oldest first and ``likers`` newest first, keyset cursors ``(created_at, id)``. Deleted
comments are never served; comments and likers of users blocked either way with the viewer are left out
(a blocker is ``NOT_FOUND`` to the viewer everywhere, and one does not want to read whom one blocked).

Errors: ``NotFound`` (post absent, not published, deleted or hidden; comment absent or deleted),
``Forbidden`` (deleting someone else's comment on someone else's post), ``BadInput`` (``text``, ``first``,
``after``). Graph errors (``graph.errors.GraphError``) propagate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import uuid_utils

from events.envelope import Event
from graph.statements.engagement import (
    ADD_COMMENT,
    COMMENT_EDGES,
    COMMENT_PAGE_ITEMS,
    COMMENTS_BY_IDS,
    COMMENTS_PAGE,
    DELETE_COMMENT,
    LIKE_POST,
    LIKER_EDGES,
    LIKER_PAGE_USERS,
    LIKERS_PAGE,
    UNLIKE_POST,
    VIEWER_LIKES,
)
from services.core import clock
from services.core.errors import BadInput, Forbidden, NotFound
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import CommentRecord, UserRecord
from services.edge_pages import EdgeKind

if TYPE_CHECKING:
    from graph.store import GraphStore, Row
    from services.edge_pages import EdgePages
    from services.like_counts import LikeCountService

COMMENT_MAX_CHARS = 2_200  # Instagram's limit for captions and comments
COMMENTS_DEFAULT_FIRST = 20
LIKERS_DEFAULT_FIRST = 20


def clean_comment_text(raw: str, *, field: str = "text") -> str:
    """``raw`` stripped; raises ``BadInput(field)`` unless it has 1 to 2,200 characters and no NUL."""
    text = raw.strip()
    if not text:
        raise BadInput(field, "Comment text must not be empty.")
    if len(text) > COMMENT_MAX_CHARS:
        raise BadInput(field, f"Comment text must be at most {COMMENT_MAX_CHARS:,} characters.")
    if "\x00" in text:
        raise BadInput(field, "Comment text contains a NUL character.")
    return text


def _comment(row: Row) -> CommentRecord:
    c = row["comment"]
    return CommentRecord(
        id=c["id"],
        post_id=row["post_id"],
        author_id=row["author_id"],
        text=c["text"],
        created_at=c["created_at"],
    )


def _liker(item: dict[str, Any], _post_id: str) -> UserRecord:
    return UserRecord.from_row(item)


def _indexed_comment(item: dict[str, Any], post_id: str) -> CommentRecord:
    return _comment({**item, "post_id": post_id})


#: The per-post indexes (``cache.edge_index``): likers newest first, comments oldest first, verified per page.
LIKERS = EdgeKind("likers", LIKER_EDGES, LIKER_PAGE_USERS, _liker)
COMMENTS = EdgeKind("comments", COMMENT_EDGES, COMMENT_PAGE_ITEMS, _indexed_comment, ascending=True)


class EngagementService:
    """Likes and comments over ``graph``; like counters through ``counters``."""

    def __init__(self, graph: GraphStore, counters: LikeCountService, index: EdgePages | None = None) -> None:
        self._graph = graph
        self.counters = counters
        self.index = index

    # -- likes ----------------------------------------------------------------------------------------

    async def like_post(self, viewer_id: str, post_id: str) -> bool:
        """Like ``post_id``; returns True when this call created the like (False: already liked).

        Raises ``NotFound`` when the post is absent, not published, deleted or hidden from the viewer.
        """
        event = Event.new("like.created", actor_id=viewer_id, subject_id=post_id,
                          data={"post_id": post_id, "user_id": viewer_id})  # fmt: skip
        now = clock.now_ms()
        rows = await self._graph.write(
            LIKE_POST,
            {"viewer_id": viewer_id, "post_id": post_id, "now": now, "tx": event.id,
             "outbox": event.outbox_props()},
        )  # fmt: skip
        if not rows:
            raise NotFound("Post not found.")
        created = bool(rows[0]["created"])
        if created:
            await self.counters.changed(post_id, +1, int(rows[0]["version"]))
            if self.index is not None:
                await self.index.added(LIKERS, post_id, viewer_id, now)
        return created

    async def unlike_post(self, viewer_id: str, post_id: str) -> bool:
        """Remove the viewer's like; returns True when there was one. Raises ``NotFound`` as ``like_post``."""
        event = Event.new("like.removed", actor_id=viewer_id, subject_id=post_id,
                          data={"post_id": post_id, "user_id": viewer_id})  # fmt: skip
        rows = await self._graph.write(
            UNLIKE_POST, {"viewer_id": viewer_id, "post_id": post_id, "outbox": event.outbox_props()}
        )
        if not rows:
            raise NotFound("Post not found.")
        removed = bool(rows[0]["removed"])
        if removed:
            await self.counters.changed(post_id, -1, int(rows[0]["version"]))
        return removed

    async def like_counts(self, post_ids: list[str]) -> list[int | None]:
        """Like counts in order; ``None`` where unknown (see ``LikeCountService.counts``)."""
        return await self.counters.counts(post_ids)

    async def viewer_likes(self, viewer_id: str, post_ids: list[str]) -> list[bool]:
        """Whether ``viewer_id`` liked each of ``post_ids``, in order (one graph round trip)."""
        if not post_ids:
            return []
        rows = await self._graph.read(VIEWER_LIKES, {"viewer_id": viewer_id, "ids": list(set(post_ids))})
        liked = {row["post_id"] for row in rows}
        return [p in liked for p in post_ids]

    async def likers(
        self, post_id: str, viewer_id: str | None, first: int | None, after: str | None
    ) -> Page[UserRecord]:
        """Users who liked ``post_id``, newest like first; cursor ``[liked_at_ms, user_id]``.

        Raises ``BadInput("first")`` outside 1..100 and ``BadInput("after")`` for a malformed cursor.
        """
        return (await self.likers_pages([post_id], viewer_id, first, after))[post_id]

    async def likers_pages(
        self, post_ids: list[str], viewer_id: str | None, first: int | None, after: str | None
    ) -> dict[str, Page[UserRecord]]:
        """:meth:`likers` of each of ``post_ids`` (same ``first``/``after``), ONE graph round trip for the
        batch (a DataLoader's); every id gets a page. Errors as :meth:`likers`."""
        limit = clamp_first(first, LIKERS_DEFAULT_FIRST)
        cursor = decode_cursor(after, (int, str))
        ids = list(dict.fromkeys(post_ids))
        if ids and self.index is not None:  # O(page) from likers:{post}; None: Redis down, the graph below
            indexed = await self.index.pages(LIKERS, viewer_id, ids, limit, cursor, after is not None)
            if indexed is not None:
                return indexed
        at, after_id = cursor or (None, None)
        rows = await self._graph.read(
            LIKERS_PAGE,
            {"post_ids": ids, "viewer_id": viewer_id, "after_at": at, "after_id": after_id, "limit": limit + 1},
        ) if ids else []  # fmt: skip
        found = {row["post_id"]: row["likers"] for row in rows}
        pages: dict[str, Page[UserRecord]] = {}
        for post_id in ids:
            likers = sorted(found.get(post_id, []), key=lambda r: (r["created_at"], r["user"]["id"]), reverse=True)
            items = [(encode_cursor(r["created_at"], r["user"]["id"]), UserRecord.from_row(r["user"])) for r in likers]
            pages[post_id] = Page(items=items[:limit], has_next=len(items) > limit, has_previous=after is not None)
        return pages

    # -- comments -------------------------------------------------------------------------------------

    async def add_comment(self, viewer_id: str, post_id: str, text: str) -> CommentRecord:
        """Comment on ``post_id``; returns the new comment.

        Raises ``BadInput("text")`` (blank or over 2,200 characters after stripping; nothing written) and
        ``NotFound`` (post absent, not published, deleted or hidden from the viewer).
        """
        body = clean_comment_text(text)
        comment_id = str(uuid_utils.uuid7())
        now = clock.now_ms()
        comment = {"id": comment_id, "text": body, "created_at": now}
        event = Event.new(
            "comment.created", actor_id=viewer_id, subject_id=comment_id,
            data={"comment_id": comment_id, "post_id": post_id, "author_id": viewer_id, "text": body},
        )  # fmt: skip
        rows = await self._graph.write(
            ADD_COMMENT,
            {"viewer_id": viewer_id, "post_id": post_id, "comment": comment, "outbox": event.outbox_props()},
        )
        if not rows:
            raise NotFound("Post not found.")
        if self.index is not None:
            await self.index.added(COMMENTS, post_id, comment_id, now)
        return _comment(rows[0])

    async def delete_comment(self, viewer_id: str, comment_id: str) -> CommentRecord:
        """Soft-delete ``comment_id`` as its author or the post's author; returns the comment as it was.

        Raises ``NotFound`` (absent, already deleted, its post deleted, or hidden from the viewer) and
        ``Forbidden`` (the viewer wrote neither the comment nor the post).
        """
        event = Event.new("comment.deleted", actor_id=viewer_id, subject_id=comment_id,
                          data={"comment_id": comment_id})  # fmt: skip
        rows = await self._graph.write(
            DELETE_COMMENT,
            {
                "viewer_id": viewer_id,
                "comment_id": comment_id,
                "now": clock.now_ms(),
                "outbox": event.outbox_props(),
            },
        )
        if not rows or not rows[0]["was_live"]:
            raise NotFound("Comment not found.")
        row = rows[0]
        if not row["allowed"]:
            if not row["visible"]:
                raise NotFound("Comment not found.")
            raise Forbidden("Only the comment's author or the post's author may delete it.")
        return _comment(row)

    async def comments(
        self, post_id: str, viewer_id: str | None, first: int | None, after: str | None, *, total: int | None
    ) -> Page[CommentRecord]:
        """Live comments of ``post_id``, oldest first; cursor ``[created_at_ms, comment_id]``.

        ``total`` becomes ``Page.total_count`` (the post's ``comment_count``). Raises ``BadInput("first")``
        outside 1..100 and ``BadInput("after")`` for a malformed cursor.
        """
        page = (await self.comments_pages([post_id], viewer_id, first, after))[post_id]
        page.total_count = total
        return page

    async def comments_pages(
        self, post_ids: list[str], viewer_id: str | None, first: int | None, after: str | None
    ) -> dict[str, Page[CommentRecord]]:
        """:meth:`comments` of each of ``post_ids`` (same ``first``/``after``; ``total_count`` unset), ONE
        graph round trip for the batch; every id gets a page. Errors as :meth:`comments`."""
        limit = clamp_first(first, COMMENTS_DEFAULT_FIRST)
        cursor = decode_cursor(after, (int, str))
        ids = list(dict.fromkeys(post_ids))
        if ids and self.index is not None:  # O(page) from comments:{post}; None: Redis down, the graph below
            indexed = await self.index.pages(COMMENTS, viewer_id, ids, limit, cursor, after is not None)
            if indexed is not None:
                for page in indexed.values():
                    page.total_count = None  # the caller's (the post's comment_count)
                return indexed
        at, after_id = cursor or (None, None)
        rows = await self._graph.read(
            COMMENTS_PAGE,
            {"post_ids": ids, "viewer_id": viewer_id, "after_at": at, "after_id": after_id, "limit": limit + 1},
        ) if ids else []  # fmt: skip
        found = {row["post_id"]: row["comments"] for row in rows}
        pages: dict[str, Page[CommentRecord]] = {}
        for post_id in ids:
            entries = sorted(found.get(post_id, []), key=lambda r: (r["comment"]["created_at"], r["comment"]["id"]))
            items = [
                (encode_cursor(r["comment"]["created_at"], r["comment"]["id"]), _comment({**r, "post_id": post_id}))
                for r in entries
            ]
            pages[post_id] = Page(items=items[:limit], has_next=len(items) > limit, has_previous=after is not None)
        return pages

    async def comments_by_ids(
        self, viewer_id: str | None, comment_ids: list[str]
    ) -> list[CommentRecord | None]:
        """Comments in order, ``None`` where absent, deleted or hidden from the viewer (one round trip)."""
        if not comment_ids:
            return []
        rows = await self._graph.read(
            COMMENTS_BY_IDS, {"viewer_id": viewer_id, "ids": list(set(comment_ids))}
        )
        found = {r["comment"]["id"]: _comment(r) for r in rows}
        return [found.get(c) for c in comment_ids]
