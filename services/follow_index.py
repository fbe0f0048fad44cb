"""Followers and following pages in O(page) from the per-user edge indexes (``cache.edge_index``), the graph
verifying each page and remaining the fallback.

A page: the owner's index page after the cursor (Redis, over-fetched by ``slack``), then ONE graph statement
for every owner of the DataLoader batch (``FOLLOWER_PAGE_USERS``/``FOLLOWEE_PAGE_USERS``) that checks, per
listed user, that the FOLLOWS edge still exists and that the viewer may see the user and the owner's list
(``graph.statements.visibility``), returning the users with the edge's own time. What the graph drops (an
unfollow whose event is still on its way, a user who blocks the viewer) is skipped and the page continues
from the index (at most ``MAX_ROUNDS`` rounds). An index that is missing or not built is rebuilt from the
graph once (every edge of that node: ``FOLLOWER_EDGES``; O(edges) once per ``INSTAGRAPH`` index TTL, not per
page). Redis down: ``None``, and the caller reads the graph's own keyset statement (O(edges)).

Cost of a page on a node with 1,000,000 edges: one ``ZREVRANGEBYSCORE ... LIMIT`` (O(log n + page)) and one
graph statement over ``page`` id lookups; see ``bench/bench_followers.py``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from cache.errors import CacheUnavailable
from graph.statements import follows as stmts
from services.core.pagination import Page, encode_cursor
from services.core.records import UserRecord

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cache.edge_index import EdgeIndex
    from graph.store import GraphStore

MAX_ROUNDS = 3
_EDGES = {"followers": stmts.FOLLOWER_EDGES, "following": stmts.FOLLOWEE_EDGES}
_USERS = {"followers": stmts.FOLLOWER_PAGE_USERS, "following": stmts.FOLLOWEE_PAGE_USERS}


class FollowIndexReader:
    """Index-backed pages of ``followers``/``following`` over ``graph`` and ``index``."""

    def __init__(self, graph: GraphStore, index: EdgeIndex) -> None:
        self.graph, self.index = graph, index
        self.rebuilds = 0  # indexes rebuilt from the graph (tests, benches)

    async def pages(
        self, kind: str, viewer_id: str | None, owner_ids: Sequence[str], size: int,
        after: tuple[int, str] | None, has_previous: bool,
    ) -> dict[str, Page[UserRecord]] | None:  # fmt: skip
        """``owner_id -> Page`` (every owner gets one: empty with ``total_count`` 0 when unknown or hidden),
        ``size`` users per page newest first, after the keyset ``after``; ``None`` when Redis is down."""
        fetch = size + 1 + max(5, size // 2)
        pages: dict[str, Page[UserRecord]] = {oid: Page(total_count=0) for oid in owner_ids}
        kept: dict[str, list[dict[str, Any]]] = {oid: [] for oid in owner_ids}
        cursors = dict.fromkeys(owner_ids, after)
        open_owners = list(owner_ids)
        totals: dict[str, int] = {}
        visible: set[str] = set()
        try:
            for _ in range(MAX_ROUNDS):
                listed = await asyncio.gather(*(self._index_page(kind, o, cursors[o], fetch) for o in open_owners))
                rows = await self.graph.read(
                    _USERS[kind],
                    {"viewer_id": viewer_id,
                     "pages": [{"owner_id": o, "ids": [m for m, _ in items]} for o, items in zip(open_owners, listed,
                                                                                              strict=True)]},
                )  # fmt: skip
                for row in rows:
                    totals[row["id"]] = int(row["total"])
                    if row["visible"]:
                        visible.add(row["id"])
                        kept[row["id"]] += [u for u in row["users"] if u is not None]
                still_open = []
                for owner, items in zip(open_owners, listed, strict=True):
                    if owner in visible and len(items) == fetch and len(kept[owner]) <= size:
                        cursors[owner] = (items[-1][1], items[-1][0])
                        still_open.append(owner)
                open_owners = still_open
                if not open_owners:
                    break
        except CacheUnavailable:
            return None
        for owner in owner_ids:
            if owner in visible:
                pages[owner] = _page(kept[owner], size, totals[owner], has_previous, exhausted=owner not in open_owners)
        return pages

    async def added(self, follower_id: str, followee_id: str, created_at: int) -> None:
        """Record a new FOLLOWS edge in both built indexes at once (read-your-writes for the writer; the
        fan-out worker does the same from the event, idempotently). Best effort: skipped while Redis is down
        (the key then misses the edge until its rebuild or the event)."""
        try:
            await self.index.add("followers", followee_id, follower_id, created_at)
            await self.index.add("following", follower_id, followee_id, created_at)
        except CacheUnavailable:
            pass

    async def _index_page(
        self, kind: str, owner_id: str, after: tuple[int, str] | None, count: int
    ) -> list[tuple[str, int]]:
        page = await self.index.page(kind, owner_id, after, count)
        if not page.built:
            rows = await self.graph.read(_EDGES[kind], {"owner_id": owner_id})
            await self.index.store(kind, owner_id, [(r["id"], int(r["created_at"])) for r in rows])
            self.rebuilds += 1
            page = await self.index.page(kind, owner_id, after, count)
        return page.items


def _page(
    users: list[dict[str, Any]], size: int, total: int, has_previous: bool, *, exhausted: bool
) -> Page[UserRecord]:
    ordered = sorted({u["id"]: u for u in users}.values(), key=lambda u: (u["edge_created_at"], u["id"]),
                     reverse=True)  # fmt: skip
    page: Page[UserRecord] = Page(
        has_next=len(ordered) > size or not exhausted, has_previous=has_previous, total_count=total
    )
    page.items = [(encode_cursor(int(u["edge_created_at"]), u["id"]), UserRecord.from_row(u)) for u in ordered[:size]]
    return page
