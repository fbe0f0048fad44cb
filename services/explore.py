"""Explore: recent posts with high engagement velocity from accounts the viewer does not follow.

Pipeline (seed "Designing Instagram at Scale", Explore: candidates -> re-ranking with diversity -> serve):

1. candidates (shared by every viewer, kept ``POOL_TTL_S`` in Redis): PUBLISHED posts of public accounts from
   the last ``window_ms`` (24 h), scored by engagement velocity decayed by age::

       velocity = (likes + comments) / max(age_h, 1)        score = velocity * 0.5 ** (age_h / halflife_h)

   after Mastodon's ``app/models/trends/statuses.rb`` (its decay ``0.5 ** (age / score_halflife)``, half-life
   2 h); likes are Redis's live counters where known. Ties (no engagement yet) go newest first.
2. per viewer: the viewer's own posts, followed authors and blocks either way removed (``EXPLORE_FILTER``),
   then diversified: in any ``page_span`` consecutive posts at most ``max_per_author`` are by one author
   (greedy: a post that would break that waits for the next place it fits; when none fits, the best waits no
   longer), and frozen as the viewer's snapshot for ``cache_ttl_s`` (per viewer; ``anon`` for anonymous).
3. pages walk the snapshot: the cursor is ``[snapshot id, position]``, a keyset on the frozen order, so pages of
   one session neither repeat nor skip while engagement moves on. Every page is checked against the graph
   again at read time (``EXPLORE_PAGE``: deleted, newly followed or blocked authors drop out) and hydrated in
   that statement. A first page after ``cache_ttl_s`` builds a new snapshot; a cursor whose snapshot is gone
   continues at its position in a new one.

Redis down: the snapshot is built for the request and not kept (pages still work, less stably).
Also the cold-start home feed (``services.feed``) for viewers who follow nobody.

Errors: ``BadInput("first" | "after")``; graph errors propagate.
"""

from __future__ import annotations

import secrets
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from cache.errors import CacheUnavailable
from cache.explore import Snapshot
from graph.statements import explore as stmts
from services.core import clock as wall
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import PostHydration
from services.post_reads import HydratedPosts, hydrate_rows

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from cache.explore import ExploreCache
    from graph.store import GraphStore
    from services.core.records import PostRecord
    from services.like_counts import LikeCountService

log = structlog.get_logger(__name__)

HOUR_MS = 3_600_000
DEFAULT_FIRST = 20
POOL_SIZE = 500  # candidates kept per pool
POOL_TTL_S = 60
HALFLIFE_MS = 2 * HOUR_MS  # Mastodon's Trends::Statuses score_halflife
MAX_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pool entry: the post, its author, publication time (ms) and engagement (likes + comments)."""

    post_id: str
    author_id: str
    published_at: int
    engagement: int


def velocity_score(engagement: int, published_at: int, now: int, halflife_ms: int = HALFLIFE_MS) -> float:
    """``(likes + comments) / max(age_h, 1) * 0.5 ** (age_h / halflife_h)`` (see the module docstring)."""
    age_h = max(now - published_at, 0) / HOUR_MS
    return float(engagement / max(age_h, 1.0) * 0.5 ** (age_h / (halflife_ms / HOUR_MS)))


def rank(candidates: Sequence[Candidate], now: int, halflife_ms: int = HALFLIFE_MS) -> list[Candidate]:
    """Candidates by decayed velocity, then newest first, then id (a total order)."""
    return sorted(
        candidates,
        key=lambda c: (-velocity_score(c.engagement, c.published_at, now, halflife_ms), -c.published_at, c.post_id),
    )


def diversify(items: Sequence[tuple[str, str]], max_per_author: int, span: int) -> list[tuple[str, str]]:
    """Reorder ``(post_id, author_id)`` so that any ``span`` consecutive items hold at most
    ``max_per_author`` of one author, keeping the order otherwise (greedy, see the module docstring)."""
    placed: list[tuple[str, str]] = []
    recent: deque[str] = deque()
    in_span: Counter[str] = Counter()
    waiting: list[tuple[str, str]] = []
    upcoming = deque(items)

    def fits(author: str) -> bool:
        return in_span[author] < max_per_author

    while waiting or upcoming:
        choice = next((i for i, item in enumerate(waiting) if fits(item[1])), None)
        if choice is not None:
            item = waiting.pop(choice)
        else:
            while upcoming and not fits(upcoming[0][1]):
                waiting.append(upcoming.popleft())
            item = upcoming.popleft() if upcoming else waiting.pop(0)
        placed.append(item)
        recent.append(item[1])
        in_span[item[1]] += 1
        if len(recent) > span - 1:  # the next place's span: it and the span - 1 placed before it
            in_span[recent.popleft()] -= 1
    return placed


class ExploreService:
    """Explore over the ``graph`` (truth, filters), the ``cache`` (pool, snapshots) and like ``counts``.

    ``window_ms``: how recent candidates are (24 h); ``halflife_ms``: the score's decay; ``cache_ttl_s``: a
    snapshot's lifetime (``INSTAGRAPH_EXPLORE_CACHE_TTL``); ``max_per_author`` in any ``page_span`` posts
    (``INSTAGRAPH_EXPLORE_MAX_PER_AUTHOR``); ``clock``: epoch ms (default the wall clock,
    ``services.core.clock.now_ms``), public: tests move it.
    """

    def __init__(
        self, graph: GraphStore, cache: ExploreCache, counts: LikeCountService, *,
        clock: Callable[[], int] | None = None, window_ms: int = 24 * HOUR_MS, halflife_ms: int = HALFLIFE_MS,
        cache_ttl_s: int = 300, max_per_author: int = 2, page_span: int = DEFAULT_FIRST, pool_size: int = POOL_SIZE,
    ) -> None:  # fmt: skip
        self._graph, self._cache, self._counts = graph, cache, counts
        self.clock: Callable[[], int] = clock or (lambda: wall.now_ms())
        self.window_ms, self.halflife_ms, self.cache_ttl_s = window_ms, halflife_ms, cache_ttl_s
        self.max_per_author, self.page_span, self.pool_size = max_per_author, page_span, pool_size

    async def explore(self, viewer_id: str | None, first: int | None, after: str | None) -> HydratedPosts:
        """A page of ``viewer_id``'s explore (``None``: anonymous), ``first`` 1..100 (default 20), after the
        cursor ``after``; hydrated (posts, authors, the viewer's likes, like counts)."""
        limit = clamp_first(first, DEFAULT_FIRST)
        cursor = decode_cursor(after, (str, int))
        snapshot = await self._snapshot(viewer_id, None if cursor is None else str(cursor[0]))
        start = 0 if cursor is None else int(cursor[1]) + 1
        kept: list[tuple[int, PostRecord]] = []
        hydration = PostHydration()
        fetch = limit + 1 + max(5, limit // 2)
        position = start
        for _ in range(MAX_ROUNDS):
            chunk = snapshot.items[position : position + fetch]
            if not chunk:
                break
            rows = await self._graph.read(
                stmts.EXPLORE_PAGE, {"ids": [post_id for post_id, _ in chunk], "viewer_id": viewer_id or ""}
            )
            records, found = hydrate_rows(rows)
            hydration.posts.update(found.posts)
            hydration.authors.update(found.authors)
            hydration.viewer_likes.update(found.viewer_likes)
            kept += [(position + i, records[p]) for i, (p, _) in enumerate(chunk) if p in records]
            position += len(chunk)
            if len(kept) > limit:
                break
        page = kept[:limit]
        counts = await self._counts.counts([r.id for _, r in page])
        hydration.like_counts.update({r.id: n for (_, r), n in zip(page, counts, strict=True) if n is not None})
        return HydratedPosts(
            Page(
                items=[(encode_cursor(snapshot.id, at), record) for at, record in page],
                has_next=len(kept) > limit or position < len(snapshot.items),
                has_previous=after is not None,
            ),
            hydration,
        )

    async def _snapshot(self, viewer_id: str | None, continuing: str | None) -> Snapshot:
        viewer = viewer_id or "anon"
        try:
            snapshot = await self._cache.snapshot(viewer, self.cache_ttl_s * 2)
        except CacheUnavailable as exc:
            log.warning("explore.cache_unavailable", error=str(exc))
            return await self._build(viewer_id)
        if snapshot is not None:
            fresh = self.clock() - snapshot.built_at < self.cache_ttl_s * 1000
            if (continuing is None and fresh) or (continuing is not None and snapshot.id == continuing):
                return snapshot
        snapshot = await self._build(viewer_id)
        try:
            await self._cache.store_snapshot(viewer, snapshot, self.cache_ttl_s * 2)
        except CacheUnavailable as exc:
            log.warning("explore.cache_unavailable", error=str(exc))
        return snapshot

    async def _build(self, viewer_id: str | None) -> Snapshot:
        now = self.clock()
        ranked = await self._pool(now)
        rows = await self._graph.read(
            stmts.EXPLORE_FILTER, {"ids": [c.post_id for c in ranked], "viewer_id": viewer_id or ""}
        ) if ranked else []  # fmt: skip
        allowed = {row["id"] for row in rows}
        items = [(c.post_id, c.author_id) for c in ranked if c.post_id in allowed]
        ordered = diversify(items, self.max_per_author, self.page_span)
        return Snapshot(secrets.token_hex(6), now, tuple(ordered))

    async def _pool(self, now: int) -> list[Candidate]:
        """The shared candidates ranked at ``now`` (from Redis while fresh, else from the graph)."""
        try:
            cached = await self._cache.pool()
        except CacheUnavailable:
            cached = None
        if cached is not None and now - cached[0] < POOL_TTL_S * 1000 and cached[0] <= now:
            pool = [Candidate(str(i[0]), str(i[1]), int(i[2]), int(i[3])) for i in cached[1] if len(i) == 4]
        else:
            pool = await self._candidates(now)
            try:
                items: list[list[Any]] = [[c.post_id, c.author_id, c.published_at, c.engagement] for c in pool]
                await self._cache.store_pool(now, items, POOL_TTL_S)
            except CacheUnavailable as exc:
                log.warning("explore.cache_unavailable", error=str(exc))
        return rank([c for c in pool if c.published_at >= now - self.window_ms], now, self.halflife_ms)

    async def _candidates(self, now: int) -> list[Candidate]:
        rows = await self._graph.read(
            stmts.EXPLORE_CANDIDATES, {"since": now - self.window_ms, "limit": self.pool_size}
        )
        likes = await self._counts.counts([row["id"] for row in rows]) if rows else []
        return [
            Candidate(row["id"], row["author_id"], int(row["published_at"]),
                      (n if n is not None else int(row["likes"])) + int(row["comments"]))
            for row, n in zip(rows, likes, strict=True)
        ]  # fmt: skip
