"""Reading posts: rows -> ``PostRecord``, who may see which post, batch loads and a user's post grid.

Visibility (the user-level part is ``services.visibility.may_view``, which ``PostView`` applies to the flags
``POST_FIELDS`` returns so that a batch of posts costs one round trip; a user's grid checks it in its own
statement): a DELETED
post is never served; the author sees their own posts in every other status (PENDING_UPLOAD, PROCESSING,
FAILED: the app shows "uploading…/failed" tiles); anyone else sees only PUBLISHED posts, never across a block
(either way), and a private author's posts only as an approved follower.

Errors: ``BadInput("first"|"after")`` for paging arguments; graph errors propagate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from graph.statements import posts as stmts
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import LocationRecord, MediaRecord, PostHydration, PostRecord, UserRecord
from services.edge_pages import EdgeKind
from services.visibility import may_view

if TYPE_CHECKING:
    from collections.abc import Sequence

    from graph.store import GraphStore, Row
    from services.edge_pages import EdgePages

PENDING_UPLOAD, PROCESSING, PUBLISHED, FAILED, DELETED = (
    "PENDING_UPLOAD", "PROCESSING", "PUBLISHED", "FAILED", "DELETED",
)  # fmt: skip
OWN_STATUSES = (PENDING_UPLOAD, PROCESSING, PUBLISHED, FAILED)
USER_POSTS_DEFAULT_FIRST = 12
_FIRST_PAGE_TS = 2**62  # after every epoch-ms timestamp


@dataclass(frozen=True, slots=True)
class PostView:
    """A post with what decides its visibility: ``author_private``, ``viewer_follows``, ``blocked``."""

    record: PostRecord
    author_private: bool
    viewer_follows: bool
    blocked: bool

    def visible_to(self, viewer_id: str | None) -> bool:
        """The module's visibility rule for ``viewer_id`` (``None``: anonymous)."""
        status = self.record.status
        if status == DELETED:
            return False
        own = viewer_id is not None and viewer_id == self.record.author_id
        if not own and status != PUBLISHED:
            return False
        return may_view(
            is_owner=own, owner_private=self.author_private, viewer_follows=self.viewer_follows, blocked=self.blocked
        )


def _variants(raw: Any) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def media_from_row(m: dict[str, Any]) -> MediaRecord:
    """A ``MediaRecord`` from a ``Media`` projection with ``position``."""
    return MediaRecord(
        id=m["id"],
        position=int(m.get("position") or 0),
        key=m["key"],
        content_type=m["content_type"],
        byte_size=int(m["byte_size"]),
        width=m.get("width"),
        height=m.get("height"),
        alt_text=m.get("alt_text"),
        variants=_variants(m.get("variants")),
    )


def record_from_row(row: Row) -> PostRecord:
    """A ``PostRecord`` from a ``graph.statements.posts.POST_CONTENT`` row (lists sorted by position)."""
    p = row["post"]
    media = sorted((media_from_row(m) for m in row["media"]), key=lambda m: m.position)
    tags = sorted(row["hashtags"], key=lambda t: t["position"] if t["position"] is not None else 1 << 30)
    mentions = sorted(row["mentions"], key=lambda m: m["position"] if m["position"] is not None else 1 << 30)
    return PostRecord(
        id=p["id"],
        author_id=row["author_id"],
        caption=p.get("caption"),
        hashtags=tuple(t["name"] for t in tags),
        mention_ids=tuple(m["id"] for m in mentions),
        media=tuple(media),
        status=p["status"],
        failure_reason=p.get("failure_reason"),
        created_at=int(p["created_at"]),
        like_count=int(p.get("like_count") or 0),
        comment_count=int(p.get("comment_count") or 0),
        location=location_from_props(p),
    )


def location_from_props(p: Row) -> LocationRecord | None:
    """A post's ``LocationRecord`` from its ``lat``, ``lng``, ``location_name`` properties (``None``
    when it has none)."""
    lat, lng = p.get("lat"), p.get("lng")
    if lat is None or lng is None:
        return None
    return LocationRecord(float(lat), float(lng), p.get("location_name") or None)


def view_from_row(row: Row) -> PostView:
    """A ``PostView`` from a ``graph.statements.posts.POST_FIELDS`` row."""
    return PostView(
        record=record_from_row(row),
        author_private=bool(row["author_private"]),
        viewer_follows=bool(row["viewer_follows"]),
        blocked=bool(row["blocked"]),
    )


def _authored(item: dict[str, Any], _author_id: str) -> PostRecord:
    return record_from_row(item)


#: A user's posts (the profile grid) from ``authored:{uid}`` (``cache.edge_index``), verified per page.
AUTHORED = EdgeKind(
    "authored", stmts.AUTHORED_EDGES, stmts.AUTHORED_PAGE_POSTS, _authored, params={"own_statuses": list(OWN_STATUSES)}
)


class PostReader:
    """Batch reads of posts over ``graph`` (one round trip per call); a user's posts in O(page) from
    ``index`` (``services.edge_pages``) when given, the graph's keyset statement otherwise or while Redis is
    down."""

    def __init__(self, graph: GraphStore, index: EdgePages | None = None) -> None:
        self._graph = graph
        self.index = index

    async def views(self, post_ids: Sequence[str], viewer_id: str | None) -> list[PostView | None]:
        """Every post of ``post_ids`` whatever its status, in order (``None``: no such post)."""
        if not post_ids:
            return []
        rows = await self._graph.read(
            stmts.POSTS_BY_IDS, {"ids": list(dict.fromkeys(post_ids)), "viewer_id": viewer_id or ""}
        )
        by_id = {row["post"]["id"]: view_from_row(row) for row in rows}
        return [by_id.get(pid) for pid in post_ids]

    async def posts_by_ids(self, post_ids: Sequence[str], viewer_id: str | None) -> list[PostRecord | None]:
        """The posts ``viewer_id`` may see, in order; ``None`` for absent, deleted or hidden ones."""
        views = await self.views(post_ids, viewer_id)
        return [v.record if v is not None and v.visible_to(viewer_id) else None for v in views]

    async def user_posts(
        self, author_id: str, viewer_id: str | None, first: int | None, after: str | None
    ) -> Page[PostRecord]:
        """``author_id``'s posts newest first, keyset cursor ``[created_at_ms, post_id]``.

        Others get PUBLISHED posts only, and an empty page when the author is private and not followed, or
        a block stands either way; the author also gets their pending and failed posts. Raises
        ``BadInput("first")`` outside 1..100 and ``BadInput("after")`` for a malformed cursor.
        """
        return (await self.user_posts_pages([author_id], viewer_id, first, after))[author_id]

    async def user_posts_pages(
        self, author_ids: Sequence[str], viewer_id: str | None, first: int | None, after: str | None
    ) -> dict[str, Page[PostRecord]]:
        """:meth:`user_posts` of each of ``author_ids`` (same ``first``/``after``), ONE graph round trip for
        the batch (a DataLoader's); every id gets a page. Errors as :meth:`user_posts`."""
        limit = clamp_first(first, USER_POSTS_DEFAULT_FIRST)
        cursor = decode_cursor(after, (int, str))
        before_ts, before_id = cursor or (_FIRST_PAGE_TS, "")
        ids = list(dict.fromkeys(author_ids))
        if ids and self.index is not None:  # O(page) from authored:{uid}; None: Redis down, the graph below
            indexed = await self.index.pages(AUTHORED, viewer_id, ids, limit, cursor, after is not None)
            if indexed is not None:
                for page in indexed.values():
                    page.total_count = None
                return indexed
        found: dict[str, list[PostRecord]] = {aid: [] for aid in ids}
        if ids:
            rows = await self._graph.read(
                stmts.USER_POSTS_PAGE,
                {
                    "author_ids": ids,
                    "viewer_id": viewer_id,
                    "own_statuses": list(OWN_STATUSES),
                    "before_ts": before_ts,
                    "before_id": before_id,
                    "limit": limit + 1,
                },
            )
            for row in rows:
                record = record_from_row(row)
                found[record.author_id].append(record)
        pages: dict[str, Page[PostRecord]] = {}
        for author_id, records in found.items():
            records.sort(key=lambda r: (r.created_at, r.id), reverse=True)
            pages[author_id] = Page(
                items=[(encode_cursor(r.created_at, r.id), r) for r in records[:limit]],
                has_next=len(records) > limit,
                has_previous=after is not None,
            )
        return pages


@dataclass(slots=True)
class HydratedPosts:
    """A page of posts already checked against the viewer, with the ``hydration`` read alongside it (for the
    GraphQL layer's DataLoaders): the answer of search, hashtag and explore pages."""

    page: Page[PostRecord]
    hydration: PostHydration = field(default_factory=PostHydration)


def hydrate_rows(rows: Sequence[Row]) -> tuple[dict[str, PostRecord], PostHydration]:
    """Records and hydration from rows of ``graph.statements.search.hydrated_posts``: ``({post_id: record},
    hydration)`` with the posts, their authors and the viewer's likes (like counts are the caller's: Redis)."""
    records: dict[str, PostRecord] = {}
    hydration = PostHydration()
    for row in rows:
        record = record_from_row(row)
        records[record.id] = record
        hydration.posts[record.id] = record
        hydration.authors[record.author_id] = UserRecord.from_row(row["author"])
        hydration.viewer_likes[record.id] = bool(row["viewer_liked"])
    return records, hydration
