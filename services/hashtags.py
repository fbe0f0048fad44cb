"""Hashtag use cases: a tag's page (``hashtag``, ``hashtag_posts``), ``trending`` tags, and the trending
worker's ``record_post``/``forget_post``.

A tag's count and posts come from the graph, for the viewer: PUBLISHED posts they may see, newest first with
keyset cursors ``[created_at_ms, post_id]``. Trending comes from Redis (``cache.hashtags``): distinct authors
per tag over the true sliding windows HOUR, DAY and WEEK, and the ``delta`` against the window before. The
``hashtags`` worker keeps those counters: ``record_post`` on ``post.published`` (reloaded by id: only a post
that is PUBLISHED now is counted, at its publication time), ``forget_post`` on ``post.deleted``; both are
idempotent; ``recount_recent`` counts every PUBLISHED post of the last week again from the graph (a no-op for
those counted already), for the seed and after a Redis loss. Times come from ``clock`` (epoch ms), injectable.

Errors: ``BadInput("name" | "window" | "first" | "after")``; ``Unavailable`` for ``trending`` while Redis is
down (the counters live there); graph errors propagate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache.errors import CacheUnavailable
from cache.hashtags import WINDOWS
from graph.statements import hashtags as stmts
from services.core import clock as wall
from services.core.captions import normalize_hashtag
from services.core.errors import BadInput, Unavailable
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.post_reads import PUBLISHED, HydratedPosts, hydrate_rows

if TYPE_CHECKING:
    from collections.abc import Callable

    from cache.hashtags import TrendCounters
    from graph.store import GraphStore
    from services.like_counts import LikeCountService

POSTS_DEFAULT_FIRST, TRENDING_DEFAULT_FIRST = 20, 10
_FIRST_PAGE_TS = None


@dataclass(frozen=True, slots=True)
class HashtagInfo:
    """A tag and the number of its PUBLISHED posts the viewer may see."""

    name: str
    post_count: int


@dataclass(frozen=True, slots=True)
class TrendingTag:
    """A trending tag: ``post_count`` distinct authors in the window, ``delta`` against the window before."""

    name: str
    post_count: int
    delta: int


def _tag(name: str) -> str:
    tag = normalize_hashtag(name)
    if tag is None:
        raise BadInput("name", "name must be one hashtag, e.g. sunset or #sunset.")
    return tag


class HashtagService:
    """Tags over the ``graph``, trending over ``trends``; like counts of pages from ``counts``. ``clock``
    (epoch ms; default the wall clock, ``services.core.clock.now_ms``) is public: tests move it."""

    def __init__(
        self, graph: GraphStore, trends: TrendCounters, counts: LikeCountService, *,
        clock: Callable[[], int] | None = None,
    ) -> None:  # fmt: skip
        self._graph, self._trends, self._counts = graph, trends, counts
        self.clock: Callable[[], int] = clock or (lambda: wall.now_ms())

    async def hashtag(self, name: str, viewer_id: str | None) -> HashtagInfo | None:
        """The tag ``name`` (``#`` optional, any case) with the viewer's count; ``None`` when no post ever used
        it. Raises ``BadInput("name")`` when ``name`` is not one hashtag."""
        rows = await self._graph.read(stmts.HASHTAG, {"name": _tag(name), "viewer_id": viewer_id or ""})
        return HashtagInfo(rows[0]["name"], int(rows[0]["posts"])) if rows else None

    async def hashtag_posts(
        self, name: str, viewer_id: str | None, first: int | None, after: str | None
    ) -> HydratedPosts:
        """The tag's posts the viewer may see, newest first, ``first`` 1..100 (default 20) after ``after``,
        hydrated (one graph statement, one like-count read)."""
        limit = clamp_first(first, POSTS_DEFAULT_FIRST)
        before_ts, before_id = decode_cursor(after, (int, str)) or (_FIRST_PAGE_TS, "")
        rows = await self._graph.read(stmts.HASHTAG_POSTS, {
            "name": _tag(name), "viewer_id": viewer_id or "", "before_ts": before_ts, "before_id": before_id,
            "limit": limit + 1,
        })  # fmt: skip
        records, hydration = hydrate_rows(rows)
        ordered = sorted(records.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        page = ordered[:limit]
        counts = await self._counts.counts([r.id for r in page])
        hydration.like_counts.update({r.id: n for r, n in zip(page, counts, strict=True) if n is not None})
        return HydratedPosts(
            Page(
                items=[(encode_cursor(r.created_at, r.id), r) for r in page],
                has_next=len(ordered) > limit,
                has_previous=after is not None,
            ),
            hydration,
        )

    async def trending(self, window: str, first: int | None) -> list[TrendingTag]:
        """The tags used by the most distinct authors in ``window`` (``HOUR``, ``DAY`` or ``WEEK``) ending now,
        most first, ``first`` 1..100 (default 10). Raises ``BadInput("window" | "first")``, ``Unavailable``."""
        limit = clamp_first(first, TRENDING_DEFAULT_FIRST)
        spec = WINDOWS.get(window)
        if spec is None:
            raise BadInput("window", f"window must be one of {', '.join(WINDOWS)}.")
        try:
            counts = await self._trends.top(spec, self.clock(), limit)
        except CacheUnavailable as exc:
            raise Unavailable("Trending is unavailable right now; try again shortly.") from exc
        return [TrendingTag(c.name, c.count, c.delta) for c in counts]

    async def record_post(self, post_id: str) -> bool:
        """On ``post.published``: count the post's tags at its publication time, if it is PUBLISHED now;
        True when counted by this call. Raises ``CacheUnavailable`` (the worker retries)."""
        rows = await self._graph.read(stmts.TREND_POST, {"post_id": post_id})
        if not rows or rows[0]["status"] != PUBLISHED:
            return False
        row = rows[0]
        tags = tuple(sorted(set(row["tags"] or ())))
        return await self._trends.add_use(post_id, row["author_id"], int(row["published_at"]), tags)

    async def recount_recent(self, page_size: int = 500) -> int:
        """Count every PUBLISHED, tagged post published within the longest window (a week) that is not
        counted yet; returns how many were counted now. Raises ``CacheUnavailable``."""
        since = self.clock() - max(w.span_ms for w in WINDOWS.values())
        after, counted = "", 0
        while True:
            rows = await self._graph.read(
                stmts.RECENT_TAGGED_POSTS, {"since": since, "after": after, "limit": page_size}
            )
            for row in rows:
                tags = tuple(sorted(set(row["tags"])))
                counted += await self._trends.add_use(row["id"], row["author_id"], int(row["published_at"]), tags)
            if len(rows) < page_size:
                return counted
            after = rows[-1]["id"]

    async def forget_post(self, post_id: str) -> bool:
        """On ``post.deleted``: take the post's uses back out of the counts; True when this call did."""
        rows = await self._graph.read(stmts.TREND_POST, {"post_id": post_id})
        if rows and rows[0]["status"] == PUBLISHED:
            return False  # published again (or the event is stale): it still counts
        return await self._trends.remove_use(post_id)
