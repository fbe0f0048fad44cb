"""The embedded search backend: Tantivy (the ``tantivy`` package) in process, on disk under ``tantivy://<dir>``.

Layout: ``<dir>/users-v<N>`` and ``<dir>/posts-v<N>``, one Tantivy index each (``N`` is
``tantivy_schema.SCHEMA_VERSION``: a schema change starts empty directories, filled by ``instagraph search
reindex``).

Writers: Tantivy allows ONE ``IndexWriter`` per index directory at a time, across processes (its lock file
``.tantivy-writer.lock``; a second writer fails with ``LockBusy``). ``apply`` takes the writer for one batch
and gives it back after the commit (opening one costs about 1 ms; the commit and its merges, about 10 ms for a
small index), so the indexer worker and ``instagraph search reindex`` can take turns; a writer that stays busy
longer than ``lock_timeout`` seconds is ``SearchUnavailable``. In one process, writes are serialised by an
asyncio lock and run in a thread (commits fsync).

Readers: the API processes never write. Tantivy's reader reloads on its own only when it notices a new commit
(it polls ``meta.json`` about every 500 ms), so every search calls ``Index.reload()`` first (13 µs when
nothing changed, measured), and a commit by the indexer process is visible to the next search.

Geo: a radius is a bounding-box range query on the ``lat``/``lng`` float fast fields, then the exact
haversine distance on the hits (``search.geo``).

Errors: ``SearchUnavailable`` when a directory cannot be created or opened (it is retried on the next call)
or the writer lock stays busy.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tantivy

from search import tantivy_schema as ts
from search.documents import MAX_RANK, PostHit, PostHits, id_rank
from search.errors import SearchUnavailable
from search.geo import bounding_boxes, haversine_km

if TYPE_CHECKING:
    from search.documents import GeoFilter, IndexBatch, PostDocument, PostKey, PostQuery, UserDocument
    from search.index import IndexName

WRITER_HEAP_BYTES = 32_000_000  # Tantivy needs at least 15 MB per indexing thread
USER_CANDIDATES = 1_000  # users ranked by score before the follower-count tie-break
POST_WINDOW = 200  # hits read per round of a newest-first post search


class _Side:
    """One open Tantivy index with its schema."""

    def __init__(self, path: Path, schema: tantivy.Schema) -> None:
        self.path, self.schema = path, schema
        self.index = tantivy.Index(schema, path=str(path), reuse=True)
        self.index.register_tokenizer(ts.NAME_ANALYZER, ts.name_analyzer())
        self.index.register_tokenizer(ts.CAPTION_ANALYZER, ts.caption_analyzer())
        self.lock = asyncio.Lock()

    def searcher(self) -> tantivy.Searcher:
        self.index.reload()
        return self.index.searcher()


class TantivyIndex:
    """A ``SearchIndex`` on two Tantivy indexes under ``root`` (see the module docstring)."""

    backend = "tantivy"

    def __init__(self, root: str | Path, *, lock_timeout: float = 5.0) -> None:
        self.root = Path(root)
        self.lock_timeout = lock_timeout
        self._sides: dict[str, _Side] = {}
        self._names = ts.name_analyzer()
        self._captions = ts.caption_analyzer()

    # -- opening --------------------------------------------------------------------------------------------

    def _side(self, name: IndexName) -> _Side:
        side = self._sides.get(name)
        if side is None:
            path = self.root / f"{name}-v{ts.SCHEMA_VERSION}"
            schema = ts.users_schema() if name == "users" else ts.posts_schema()
            try:
                os.makedirs(path, exist_ok=True)
                side = _Side(path, schema)
            except (OSError, ValueError) as exc:
                raise SearchUnavailable(f"cannot open the Tantivy index at {path}: {exc}") from exc
            self._sides[name] = side
        return side

    async def prepare(self) -> None:
        """Create both index directories if missing."""
        self._side("users")
        self._side("posts")

    async def ping(self) -> None:
        """Open both indexes and read their document counts."""
        for name in ("users", "posts"):
            self._side(name).searcher()  # type: ignore[arg-type]

    async def close(self) -> None:
        """Drop the open indexes (no writer is held between batches)."""
        self._sides.clear()

    # -- writing --------------------------------------------------------------------------------------------

    async def apply(self, batch: IndexBatch) -> None:
        """Deletes then upserts of ``batch``, one commit per index that has work (see the module docstring)."""
        if batch.users or batch.user_deletes:
            docs = [_user_doc(u, batch.indexed_at) for u in batch.users]
            await self._write("users", [u.id for u in batch.users] + batch.user_deletes, docs, None)
        if batch.posts or batch.post_deletes:
            docs = [_post_doc(p, batch.indexed_at) for p in batch.posts]
            await self._write("posts", [p.id for p in batch.posts] + batch.post_deletes, docs, None)

    async def prune(self, index: IndexName, indexed_before: int) -> int:
        """Delete the documents of ``index`` whose ``indexed_at`` is older than ``indexed_before``."""
        side = self._side(index)
        stale = tantivy.Query.range_query(
            side.schema, "indexed_at", tantivy.FieldType.Integer, None, indexed_before, include_upper=False
        )
        before = side.searcher().num_docs
        await self._write(index, [], [], stale)
        return before - side.searcher().num_docs

    async def _write(
        self, name: IndexName, delete_ids: list[str], docs: list[tantivy.Document], delete_query: tantivy.Query | None
    ) -> None:
        side = self._side(name)
        async with side.lock:
            await asyncio.to_thread(self._write_sync, side, delete_ids, docs, delete_query)

    def _write_sync(
        self, side: _Side, delete_ids: list[str], docs: list[tantivy.Document], delete_query: tantivy.Query | None
    ) -> None:
        writer = self._take_writer(side)
        try:
            for doc_id in delete_ids:
                writer.delete_documents_by_term("id", doc_id)
            if delete_query is not None:
                writer.delete_documents_by_query(delete_query)
            for doc in docs:
                writer.add_document(doc)
            writer.commit()
        except (OSError, ValueError) as exc:
            writer.rollback()
            raise SearchUnavailable(f"Tantivy write to {side.path} failed: {exc}") from exc
        finally:
            writer.wait_merging_threads()  # finishes the merges this commit started, then releases the lock

    def _take_writer(self, side: _Side) -> tantivy.IndexWriter:
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                return side.index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise SearchUnavailable(f"cannot open a Tantivy writer on {side.path}: {exc}") from exc
                if time.monotonic() > deadline:
                    raise SearchUnavailable(
                        f"the Tantivy index {side.path} has been locked by another writer for "
                        f"{self.lock_timeout:.0f} s (is another indexer or reindex running?)"
                    ) from exc
            time.sleep(0.02)

    # -- reading --------------------------------------------------------------------------------------------

    async def count(self, index: IndexName) -> int:
        """Documents in ``index`` as of its last commit."""
        return int(self._side(index).searcher().num_docs)

    async def search_users(self, text: str, limit: int) -> list[str]:
        """Best user ids for ``text``: word tiers (``tantivy_schema``), then follower count."""
        side = self._side("users")
        query = ts.users_query(side.schema, text, self._names)
        if query is None or limit < 1:
            return []
        searcher = side.searcher()
        hits = searcher.search(query, max(limit, USER_CANDIDATES), count=False).hits
        followers = searcher.fast_field_values("follower_count", [address for _, address in hits])
        ranked = sorted(
            zip(hits, followers, strict=True),
            key=lambda pair: (-float(pair[0][0]), -int(pair[1] or 0), pair[0][1].segment_ord, pair[0][1].doc),
        )
        return [_stored_id(searcher, address) for (_, address), _ in ranked[:limit]]

    async def search_posts(self, query: PostQuery) -> PostHits:
        """Posts matching ``query`` newest first, strictly before ``query.before`` (see the module docstring)."""
        side = self._side("posts")
        words = self._captions.analyze(query.text)[: ts.MAX_QUERY_WORDS] if query.text else []
        if (query.text and not words) or query.limit < 1:
            return PostHits([], True)
        near = query.near
        boxes = bounding_boxes(near.latitude, near.longitude, near.radius_km) if near else None
        base = ts.posts_filter(side.schema, words, query.hashtag, boxes)
        return _newest_first(side.searcher(), side.schema, base, query)


def _newest_first(
    searcher: tantivy.Searcher, schema: tantivy.Schema, base: tantivy.Query, query: PostQuery
) -> PostHits:
    """Read ``base``'s hits newest first in windows of ``POST_WINDOW`` ordered by ``created_at``. Hits of one
    millisecond are ordered by ``id_rank`` here, so a window's last millisecond, which may be cut, is left
    for the next window; a window that is all one millisecond reads that millisecond whole."""
    cursor: PostKey = query.before if query.before is not None else (2**62, MAX_RANK + 1)
    found: list[tuple[PostKey, tantivy.DocAddress]] = []
    while True:
        upper = cursor[0] if cursor[1] > 0 else cursor[0] - 1  # rank 0: nothing of that ms is before it
        window = searcher.search(
            ts.created_between(schema, base, None, upper), POST_WINDOW, count=False, order_by_field="created_at"
        ).hits
        full = len(window) == POST_WINDOW
        next_cursor = cursor
        if full:
            frontier = int(window[-1][0])
            if int(window[0][0]) == frontier:
                exact = ts.created_between(schema, base, frontier, frontier)
                total = int(searcher.search(exact, 1, count=True).count)  # type: ignore[attr-defined]
                window = searcher.search(exact, max(total, 1), count=False, order_by_field="created_at").hits
                next_cursor = (frontier, 0)
            else:
                window = [hit for hit in window if int(hit[0]) > frontier]
                next_cursor = (frontier, MAX_RANK + 1)
        rows = [row for row in _rows(searcher, window, query.near) if row[0] < cursor]
        rows.sort(key=lambda row: row[0], reverse=True)
        found.extend(rows)
        if len(found) >= query.limit or not full:
            hits = [PostHit(_stored_id(searcher, address), key[0]) for key, address in found[: query.limit]]
            return PostHits(hits, exhausted=not full and len(found) <= query.limit)
        cursor = next_cursor


def _rows(
    searcher: tantivy.Searcher, window: list[Any], near: GeoFilter | None
) -> list[tuple[PostKey, tantivy.DocAddress]]:
    """``(key, address)`` of the window's hits (inside ``near`` when given), from fast fields only."""
    addresses = [address for _, address in window]
    ranks = searcher.fast_field_values("rank", addresses)
    keep = [True] * len(window)
    if near is not None:
        lats = searcher.fast_field_values("lat", addresses)
        lngs = searcher.fast_field_values("lng", addresses)
        keep = [
            lat is not None and lng is not None
            and haversine_km(near.latitude, near.longitude, float(lat), float(lng)) <= near.radius_km
            for lat, lng in zip(lats, lngs, strict=True)
        ]  # fmt: skip
    return [
        ((int(created_at), int(rank or 0)), address)
        for (created_at, address), rank, ok in zip(window, ranks, keep, strict=True)
        if ok
    ]


def _stored_id(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> str:
    return str(searcher.doc(address).get_first("id"))


def _user_doc(user: UserDocument, indexed_at: int) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text("id", user.id)
    doc.add_text("username", user.username)
    doc.add_text("name", user.username)
    if user.display_name:
        doc.add_text("name", user.display_name)
    if user.bio:
        doc.add_text("bio", user.bio)
    doc.add_integer("follower_count", user.follower_count)
    doc.add_boolean("is_private", user.is_private)
    doc.add_integer("indexed_at", indexed_at)
    return doc


def _post_doc(post: PostDocument, indexed_at: int) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text("id", post.id)
    doc.add_text("author_id", post.author_id)
    if post.caption:
        doc.add_text("caption", post.caption)
    for tag in post.hashtags:
        doc.add_text("hashtags", tag)
    if post.lat is not None and post.lng is not None:
        doc.add_float("lat", post.lat)
        doc.add_float("lng", post.lng)
    doc.add_integer("created_at", post.created_at)
    doc.add_integer("rank", id_rank(post.id))
    doc.add_integer("like_count", post.like_count)
    doc.add_integer("indexed_at", indexed_at)
    return doc

