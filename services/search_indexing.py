"""Keeping the search indexes in step with the graph: the ``indexer`` worker's use case and the full rebuild.

``index_events(events)`` (one call per Kafka batch): the ids the events name are RELOADED from the graph and
written as they are now, in one ``SearchIndex.apply`` (one commit per index), so the events' own data is never
trusted, order and redelivery do not matter, and what is gone is dropped:

- ``user.registered``/``user.created``/``user.updated``: the user (username, display name, bio, privacy);
- ``follow.created``/``follow.accepted``/``follow.removed``: the followee (its follower count ranks search);
  ``block.created``: both users (a block removes their follows);
- ``post.published``/``post.deleted``: the post, indexed while PUBLISHED and deleted from the index otherwise;
- ``like.created``/``like.removed``: the post (its like count, from Redis where the counter is known).

``reindex()`` (``instagraph search reindex``, also run by ``instagraph seed``) rewrites every user and every
PUBLISHED post, in pages of ``page_size`` by id, then prunes the documents it did not rewrite (written before
it started: deleted posts whose event was lost, an index restored from an old copy). The indexer may run
meanwhile: what it writes during the rebuild is newer than the rebuild's start and survives the prune.

Errors: ``search.errors.SearchUnavailable`` and graph errors propagate (the worker leaves the events
uncommitted and retries).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graph.statements import search as stmts
from search.documents import IndexBatch, PostDocument, UserDocument
from services.core.clock import now_ms
from services.post_reads import PUBLISHED

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from events.envelope import Event
    from graph.store import GraphStore, Row
    from search.index import SearchIndex
    from services.like_counts import LikeCountService

USER_EVENTS = frozenset({"user.registered", "user.created", "user.updated"})
FOLLOW_EVENTS = frozenset({"follow.created", "follow.accepted", "follow.removed"})
POST_EVENTS = frozenset({"post.published", "post.deleted", "like.created", "like.removed"})
REINDEX_PAGE = 1_000

#: ``on_progress(index, done, total)`` during a rebuild: ``index`` is ``"users"`` or ``"posts"``.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class IndexChanges:
    """What one ``apply`` wrote: documents upserted and deleted per index."""

    users: int = 0
    users_deleted: int = 0
    posts: int = 0
    posts_deleted: int = 0


@dataclass(frozen=True, slots=True)
class ReindexResult:
    """A rebuild: ``users`` and ``posts`` written, ``pruned_users``/``pruned_posts`` stale documents removed
    (-1 when the backend does not count), ``seconds`` wall time."""

    users: int
    posts: int
    pruned_users: int
    pruned_posts: int
    seconds: float


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def event_targets(events: Iterable[Event]) -> tuple[set[str], set[str]]:
    """The ``(user_ids, post_ids)`` that ``events`` ask to reindex (see the module docstring)."""
    users: set[str] = set()
    posts: set[str] = set()
    for event in events:
        data = event.data
        if event.type in USER_EVENTS:
            users.add(event.subject_id)
        elif event.type in FOLLOW_EVENTS:
            users.add(_str(data.get("followee_id")) or event.subject_id)
        elif event.type == "block.created":
            users.update(u for u in (_str(data.get("blocker_id")) or event.actor_id,
                                     _str(data.get("blocked_id")) or event.subject_id) if u)  # fmt: skip
        elif event.type in POST_EVENTS:
            posts.add(_str(data.get("post_id")) or event.subject_id)
    return users, posts


def user_document(row: Row) -> UserDocument:
    """A ``UserDocument`` from a ``USERS_FOR_INDEX``/``USERS_PAGE`` row."""
    return UserDocument(
        id=row["id"], username=row["username"], display_name=row.get("display_name") or None,
        bio=row.get("bio") or None, follower_count=int(row["follower_count"] or 0),
        is_private=bool(row["is_private"]),
    )  # fmt: skip


def post_document(row: Row, like_count: int | None) -> PostDocument:
    """A ``PostDocument`` from a ``POSTS_FOR_INDEX``/``POSTS_PAGE`` row; ``like_count`` overrides the
    graph's written-back copy when known."""
    lat, lng = row.get("lat"), row.get("lng")
    place = (float(lat), float(lng)) if lat is not None and lng is not None else (None, None)
    return PostDocument(
        id=row["id"], author_id=row["author_id"], caption=row.get("caption"),
        hashtags=tuple(sorted(set(row.get("hashtags") or ()))), created_at=int(row["created_at"]),
        like_count=like_count if like_count is not None else int(row.get("like_count") or 0),
        lat=place[0], lng=place[1],
    )  # fmt: skip


class SearchIndexer:
    """Writes the ``index`` from the ``graph`` (like counts from ``counts``); ``clock`` gives epoch ms."""

    def __init__(
        self, graph: GraphStore, index: SearchIndex, counts: LikeCountService, *,
        clock: Callable[[], int] = now_ms, page_size: int = REINDEX_PAGE,
    ) -> None:  # fmt: skip
        self._graph, self._index, self._counts = graph, index, counts
        self._clock, self._page_size = clock, page_size

    async def index_events(self, events: Sequence[Event]) -> IndexChanges:
        """Reindex what ``events`` name, in one write (see the module docstring)."""
        users, posts = event_targets(events)
        return await self.index_ids(sorted(users), sorted(posts))

    async def index_ids(self, user_ids: Sequence[str], post_ids: Sequence[str]) -> IndexChanges:
        """Reload ``user_ids`` and ``post_ids`` from the graph and write them (absent or not PUBLISHED:
        deleted from the index), in one ``apply``."""
        batch = IndexBatch(indexed_at=self._clock())
        if user_ids:
            rows = await self._graph.read(stmts.USERS_FOR_INDEX, {"ids": list(user_ids)})
            batch.users = [user_document(row) for row in rows]
            found = {doc.id for doc in batch.users}
            batch.user_deletes = [u for u in user_ids if u not in found]
        if post_ids:
            rows = await self._graph.read(stmts.POSTS_FOR_INDEX, {"ids": list(post_ids)})
            live = [row for row in rows if row["status"] == PUBLISHED]
            batch.posts = await self._post_documents(live)
            kept = {doc.id for doc in batch.posts}
            batch.post_deletes = [p for p in post_ids if p not in kept]
        if len(batch):
            await self._index.apply(batch)
        return IndexChanges(len(batch.users), len(batch.user_deletes), len(batch.posts), len(batch.post_deletes))

    async def _post_documents(self, rows: list[Row]) -> list[PostDocument]:
        if not rows:
            return []
        counts = await self._counts.counts([row["id"] for row in rows])
        return [post_document(row, count) for row, count in zip(rows, counts, strict=True)]

    async def reindex(self, on_progress: Progress | None = None) -> ReindexResult:
        """Rebuild both indexes from the graph and prune what was not rewritten (see the module docstring)."""
        started, clock_start = time.monotonic(), self._clock()
        totals = (await self._graph.read(stmts.INDEX_TOTALS))[0]
        users = await self._rewrite("users", stmts.USERS_PAGE, int(totals["users"]), on_progress)
        posts = await self._rewrite("posts", stmts.POSTS_PAGE, int(totals["posts"]), on_progress)
        pruned_users = await self._index.prune("users", clock_start)
        pruned_posts = await self._index.prune("posts", clock_start)
        return ReindexResult(users, posts, pruned_users, pruned_posts, time.monotonic() - started)

    async def _rewrite(self, name: str, page: Any, total: int, on_progress: Progress | None) -> int:
        after, done = "", 0
        if on_progress is not None:
            on_progress(name, 0, total)
        while True:
            rows = await self._graph.read(page, {"after": after, "limit": self._page_size})
            if not rows:
                return done
            batch = IndexBatch(indexed_at=self._clock())
            if name == "users":
                batch.users = [user_document(row) for row in rows]
            else:
                batch.posts = await self._post_documents(rows)
            await self._index.apply(batch)
            done += len(rows)
            after = rows[-1]["id"]
            if on_progress is not None:
                on_progress(name, done, max(total, done))
            if len(rows) < self._page_size:
                return done
