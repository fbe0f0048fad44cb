"""Pages of a node's edges in O(page) from the per-node Redis indexes (``cache.edge_index``), the graph
verifying each page and remaining the fallback: followers and following of a user, likers and comments of a
post.

A page: the node's index page after the cursor (Redis, over-fetched by a slack), then ONE graph statement for
every node of the DataLoader batch (the kind's ``hydrate`` statement) that checks, per listed member, that
the edge still exists (a follow, a like, a live comment) and that the viewer may see it
(``graph.statements.visibility``), returning the items with the edge's own time. What the graph drops (a
removal whose index update was lost or is still on its way, a user who blocks the viewer) is skipped and the
page continues from the index (at most ``MAX_ROUNDS`` rounds). When an index of the batch is missing or not
built, the batch is read from the graph's own keyset statement (as without indexes: one round trip) and the
index is asked for (``EdgeIndex.want``); the ``edge-indexes`` job (:meth:`EdgePages.rebuild_wanted`) builds it
from every edge of that node (the kind's ``rebuild`` statement: O(edges) once per index TTL, never on a
request). Writers add new edges at once (:meth:`EdgePages.added`: read-your-writes; a failed add is
remembered and its index dropped on the next successful call, so it is rebuilt rather than missing the edge).
Redis down: :meth:`EdgePages.pages` returns ``None`` and the caller reads the graph's own keyset statement.

Cost of a page on a node with 1,000,000 edges: one ``ZRANGEBYSCORE ... LIMIT`` (O(log n + page)) and one
graph statement over ``page`` id lookups; ``bench/bench_followers.py`` shows it flat from 1x to 100x.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cache.errors import CacheUnavailable
from services.core.pagination import Page, encode_cursor

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from cache.edge_index import EdgeIndex
    from graph.cypher import Statement
    from graph.store import GraphStore

R = TypeVar("R")
MAX_ROUNDS = 3
LOST_MAX = 10_000  # indexes whose update was lost in a Redis outage, remembered to be dropped


@dataclass(frozen=True, slots=True)
class EdgeKind(Generic[R]):
    """One index family: ``name`` (``cache.edge_index`` kind), ``rebuild`` (rows ``{id, created_at}`` of every
    edge of ``$owner_id``), ``hydrate`` (rows ``{id, visible, total, items}`` for ``$pages`` =
    ``[{owner_id, ids}]`` and ``$viewer_id``; each item has ``id`` and ``edge_created_at``) and ``record``
    (an item to the page's record); ``params``: constant parameters of ``hydrate``."""

    name: str
    rebuild: Statement
    hydrate: Statement
    record: Callable[[dict[str, Any], str], R]
    ascending: bool = False
    params: dict[str, Any] = field(default_factory=dict)


class EdgePages:
    """Index-backed pages over ``graph`` and ``index`` (see the module docstring); ``kinds``: the index
    families the ``edge-indexes`` job may be asked to build."""

    def __init__(self, graph: GraphStore, index: EdgeIndex, kinds: Sequence[EdgeKind[Any]]) -> None:
        self.graph, self.index = graph, index
        self.kinds = {kind.name: kind for kind in kinds}
        self.rebuilds = 0  # indexes rebuilt from the graph (tests, benches)
        self._lost: set[tuple[str, str]] = set()

    async def pages(
        self, kind: EdgeKind[R], viewer_id: str | None, owner_ids: Sequence[str], size: int,
        after: tuple[int, str] | None, has_previous: bool,
    ) -> dict[str, Page[R]] | None:  # fmt: skip
        """``owner_id -> Page`` (every owner gets one: empty with ``total_count`` 0 when unknown or hidden),
        ``size`` items per page in the kind's order after the keyset ``after``; ``None`` when Redis is down or
        an index of the batch is not built yet (then it is asked for, and the caller reads the graph)."""
        fetch = size + 1 + max(5, size // 2)
        pages: dict[str, Page[R]] = {oid: Page(total_count=0) for oid in owner_ids}
        kept: dict[str, list[dict[str, Any]]] = {oid: [] for oid in owner_ids}
        cursors = dict.fromkeys(owner_ids, after)
        open_owners = list(owner_ids)
        totals: dict[str, int] = {}
        visible: set[str] = set()
        try:
            await self._drop_lost()
            for _ in range(MAX_ROUNDS):
                pages_read = await asyncio.gather(
                    *(self.index.page(kind.name, o, cursors[o], fetch) for o in open_owners)
                )
                cold = [o for o, p in zip(open_owners, pages_read, strict=True) if not p.built]
                if cold:  # only on the first round: a built key stays built
                    await self.index.want(kind.name, cold)
                    return None  # this batch from the graph; the job builds the indexes
                listed = [p.items for p in pages_read]
                batch = [{"owner_id": o, "ids": [m for m, _ in items]} for o, items in zip(open_owners, listed,
                                                                                       strict=True)]  # fmt: skip
                params = {**kind.params, "viewer_id": viewer_id, "pages": batch}
                for row in await self.graph.read(kind.hydrate, params):
                    totals[row["id"]] = int(row["total"])
                    if row["visible"]:
                        visible.add(row["id"])
                        kept[row["id"]] += [item for item in row["items"] if item is not None]
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
                pages[owner] = _page(kind, owner, kept[owner], size, totals[owner], has_previous,
                                     exhausted=owner not in open_owners)  # fmt: skip
        return pages

    async def added(self, kind: EdgeKind[Any], owner_id: str, member: str, created_at: int) -> None:
        """Record a new edge in the owner's index if it is built (read-your-writes for the writer). Never
        raises for Redis: a lost add is remembered and that index dropped on the next successful call."""
        try:
            await self._drop_lost()
            await self.index.add(kind.name, owner_id, member, created_at)
        except CacheUnavailable:
            if len(self._lost) < LOST_MAX:
                self._lost.add((kind.name, owner_id))

    async def removed(self, kind: EdgeKind[Any], owner_id: str, member: str) -> None:
        """Remove an edge from the owner's index (best effort: every page verifies its edges in the graph)."""
        try:
            await self.index.remove(kind.name, owner_id, [member])
        except CacheUnavailable:
            pass

    async def _drop_lost(self) -> None:
        while self._lost:
            name, owner_id = next(iter(self._lost))
            await self.index.drop(name, owner_id)
            self._lost.discard((name, owner_id))

    async def rebuild(self, kind_name: str, owner_id: str) -> int:
        """Build the ``kind_name`` index of ``owner_id`` from every edge in the graph; returns the edges.
        Raises ``KeyError`` for a kind not in ``kinds``."""
        kind = self.kinds[kind_name]
        rows = await self.graph.read(kind.rebuild, {"owner_id": owner_id})
        await self.index.store(kind.name, owner_id, [(r["id"], int(r["created_at"])) for r in rows])
        self.rebuilds += 1
        return len(rows)

    async def rebuild_wanted(self, limit: int = 100) -> int:
        """The ``edge-indexes`` job's step: build up to ``limit`` indexes that reads found missing; returns
        how many. Raises ``CacheUnavailable``/graph errors (the job retries on its next tick)."""
        wanted = [(k, o) for k, o in await self.index.wanted(limit) if k in self.kinds]
        for kind_name, owner_id in wanted:
            await self.rebuild(kind_name, owner_id)
        return len(wanted)


def _page(
    kind: EdgeKind[R], owner_id: str, items: list[dict[str, Any]], size: int, total: int, has_previous: bool,
    *, exhausted: bool,
) -> Page[R]:  # fmt: skip
    unique = {item["id"]: item for item in items}.values()
    ordered = sorted(unique, key=lambda i: (int(i["edge_created_at"]), i["id"]), reverse=not kind.ascending)
    page: Page[R] = Page(has_next=len(ordered) > size or not exhausted, has_previous=has_previous, total_count=total)
    page.items = [
        (encode_cursor(int(i["edge_created_at"]), i["id"]), kind.record(i, owner_id)) for i in ordered[:size]
    ]
    return page
