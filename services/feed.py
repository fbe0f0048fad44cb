"""The home feed read as a pipeline: skeleton -> hydrate -> filter -> present, with the graph fallbacks.

Hybrid push/pull (DESIGN.md "Feed"; seed "Instagram Feed", ``get_feed``): a page is the viewer's
``feed:{uid}`` (filled by fan-out on write) k-way merged with ``posts:{c}`` of every celebrity ``c`` the
viewer follows (fan-out on read), newest first by ``(created_at ms, post id)``. The cursor is that keyset,
so new posts arriving between requests never shift a later page (no duplicates, no gaps). The stages follow
Bluesky AppView's ``getTimeline`` pipeline (``packages/bsky/src/api/app/bsky/feed/getTimeline.ts``):

1. skeleton (:meth:`FeedService._skeleton`): ids and scores only. Graph ``VIEWER_CONTEXT`` (followee count,
   the followees merged at read: celebrities, and every followee who ever had a post that was not pushed,
   so that an author crossing the celebrity threshold either way loses no post) alongside the Redis page of
   ``feed:{uid}``, then one Redis pipeline of those followees' ``posts:{c}`` pages, k-way merged
   (:func:`merge_sources`, duplicates dropped). Each source is over-fetched (``first + 1 + max(5, first //
   2)``) and only the prefix of the merge certainly in global order is kept.
2. hydrate (:meth:`FeedService._hydrate`): ONE graph statement (``FEED_FILTER_HYDRATED``) returns, per
   candidate, what the filter decides on (status, author, the viewer's follow and block flags) and, for the
   candidates that will fill the page, the post, its author and the viewer's like, as separate maps
   (``services.core.records.PostHydration``); the page's like counts are one Redis ``MGET`` at the end.
3. filter (:func:`in_home_feed`): the one rule: PUBLISHED, by the viewer or a followee, visible
   (``services.visibility.may_view``). What fails it is dropped, and lazily ``ZREM``-ed from the keys it came
   from; when too few survive, another skeleton round continues after the last candidate, fetching twice as
   many (up to ``MAX_FETCH``). After ``MAX_ROUNDS`` rounds a page that holds at least one post is returned
   short (``hasNextPage`` true); a page with none keeps going until the sources are exhausted, so a page is
   never empty while ``hasNextPage`` is true (a Relay client would refetch page one on a null
   ``endCursor``).
4. present (:meth:`FeedService._present`): the Relay page of ``FeedEntry`` with keyset cursors, and the
   hydration for the GraphQL layer to hand to its DataLoaders. An entry that moved up into the page (a
   candidate before it was filtered out) was not hydrated; the GraphQL layer loads it by id.

Scores are publish times (a slow upload lands on top when it is published). A ``feed:{uid}`` without its
rebuilt marker (new user, a user back after ``feed_ttl`` without reads, eviction) is rebuilt from the graph
(``rebuild_home_feed``: the pull of the followees' recent PUBLISHED posts, capped) under a short Redis lock.
When Redis is unreachable (or its circuit is open) the page is pulled from the graph (``HOME_PULL`` with
celebrities, same cursor) and ``instagraph_feed_degraded_total`` counts it. A viewer who follows nobody gets
the cold-start feed: their explore (``services.explore``: recent posts of accounts they do not follow, by
engagement velocity, a frozen per-viewer ordering) and, when explore has nothing (no post in its 24 h), the
popular posts of ``services.feed_cold_start`` (a per-viewer snapshot of recent posts ranked by likes).

Errors: ``BadInput("after")`` for a malformed cursor; graph errors propagate (there is no fallback for the
graph, which holds the truth).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter

from cache.errors import CacheUnavailable
from cache.feed import FeedContext, FeedItem, KeyPage
from graph.statements import feed as stmts
from services.core.errors import BadInput
from services.core.pagination import Page, decode_cursor, encode_cursor
from services.core.records import PostHydration
from services.feed_cold_start import POPULAR_TAG, ColdStartFeed, parse_popular_cursor
from services.feed_filter import FeedPostState, hydrate_candidates, in_home_feed, visible_post
from services.post_content import PostContentCache
from services.post_reads import PUBLISHED

if TYPE_CHECKING:
    from cache.cold_feed import ColdFeedCache
    from cache.feed import FeedCache
    from graph.store import GraphStore
    from services.explore import ExploreService
    from services.like_counts import LikeCountService

__all__ = ["FeedEntry", "FeedPostState", "FeedService", "HomeFeedPage", "in_home_feed", "visible_post"]

log = structlog.get_logger(__name__)

MAX_ROUNDS = 4  # skeleton+filter rounds after which a page holding at least one post is returned short
MAX_FETCH = 512  # candidates per source and round (the fetch doubles each round up to this)
EXPLORE_TAG = "explore"  # a cold-start page from explore (its cursor is explore's own)

DEGRADED = Counter("instagraph_feed_degraded", "Feed pages served from the graph because Redis was unreachable")
REBUILDS = Counter("instagraph_feed_rebuilds", "Home feeds rebuilt from the graph (cold or evicted keys)")


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """A post of a feed page: ``post_id``, ``author_id``, ``score`` (created_at, epoch ms)."""

    post_id: str
    author_id: str
    score: int


@dataclass(slots=True)
class HomeFeedPage:
    """A presented home-feed page: ``page`` of ``FeedEntry`` with keyset cursors, and the ``hydration`` its
    reads produced (posts, authors, like counts, viewer likes of the entries that were hydrated)."""

    page: Page[FeedEntry]
    hydration: PostHydration = field(default_factory=PostHydration)


@dataclass(frozen=True, slots=True)
class Skeleton:
    """Stage 1's output: ``candidates`` newest first (ids and scores), ``exhausted`` when no source holds
    more after them, ``pushed_ids`` the candidates that came from ``feed:{uid}`` (for the lazy removal)."""

    candidates: list[FeedItem]
    exhausted: bool
    pushed_ids: frozenset[str]


def merge_sources(pages: list[KeyPage]) -> tuple[list[FeedItem], bool]:
    """k-way merge (newest first, duplicates dropped) of the part certainly in global order.

    A source that is not exhausted may still hold items older than its last fetched one, so only merged
    items at or above the highest such frontier are kept. Returns ``(candidates, all_exhausted)``.
    """
    frontiers = [p.items[-1].key() for p in pages if not p.exhausted and p.items]
    floor = max(frontiers) if frontiers else None
    merged: list[FeedItem] = []
    seen: set[str] = set()
    for item in heapq.merge(*(p.items for p in pages), key=FeedItem.key, reverse=True):
        if floor is not None and item.key() < floor:
            break
        if item.post_id not in seen:
            seen.add(item.post_id)
            merged.append(item)
    return merged, floor is None


async def load_recent_posts(graph: GraphStore, author_ids: list[str], limit: int) -> dict[str, list[FeedItem]]:
    """The newest ``limit`` PUBLISHED posts of each author from the graph: ``{author_id: [FeedItem]}``,
    newest first (every requested author is a key). One round trip."""
    rows = await graph.read(stmts.AUTHORS_RECENT_POSTS, {"author_ids": author_ids, "limit": limit})
    result: dict[str, list[FeedItem]] = {a: [] for a in author_ids}
    for row in rows:
        result[row["author_id"]].append(FeedItem(row["id"], int(row["score"])))
    for items in result.values():
        items.sort(key=FeedItem.key, reverse=True)
    return result


def _parse_cursor(after: str | None) -> tuple[Any, ...] | None:
    """``(score, id)`` for a home cursor, ``("popular", snapshot, position)`` for a cold-start one,
    ``(EXPLORE_TAG, after)`` for an explore one (``[ordering id, position]``)."""
    if after is None:
        return None
    try:
        return decode_cursor(after, (int, str))
    except BadInput:
        pass
    try:
        decode_cursor(after, (str, int))
        return (EXPLORE_TAG, after)
    except BadInput:
        return (POPULAR_TAG, *parse_popular_cursor(after))


def _slice(items: list[FeedItem], after: tuple[int, str] | None, count: int) -> KeyPage:
    kept = [i for i in items if after is None or i.key() < after][:count]
    return KeyPage(items=kept, built=True, exhausted=len(kept) < count)


class FeedService:
    """Home feed reads over ``graph``, the feed ``cache`` and the like ``counts``.

    ``celebrity_threshold``: followers from which an author is pulled (default 10,000, as in the seed);
    ``max_items``: the cap of a rebuilt feed (``FEED_MAX_ITEMS``); ``cold``: the snapshots of the cold-start
    feed (``cold_start_days``: its window); ``rebuild_wait_s``: how long a request waits for another's
    rebuild lock.
    """

    def __init__(
        self,
        graph: GraphStore,
        cache: FeedCache,
        counts: LikeCountService,
        cold: ColdFeedCache,
        *,
        content: PostContentCache | None = None,
        celebrity_threshold: int = 10_000,
        max_items: int = 500,
        cold_start_days: int = 7,
        rebuild_wait_s: float = 2.0,
        explore: ExploreService | None = None,
    ) -> None:
        self.graph, self.cache, self.counts, self.explore = graph, cache, counts, explore
        self.celebrity_threshold, self.max_items = celebrity_threshold, max_items
        self.rebuild_wait_s = rebuild_wait_s
        self.content = content if content is not None else PostContentCache()
        self.cold_start = ColdStartFeed(graph, cold, self.content, days=cold_start_days, max_items=max_items)

    async def home_feed(self, viewer_id: str, first: int, after: str | None) -> Page[FeedEntry]:
        """One page of ``viewer_id``'s home feed, newest first, ids only (no hydration shipped); ``first``
        already clamped to 1..100. Raises ``BadInput("after")``."""
        return (await self._read(viewer_id, first, after, hydrate=False)).page

    async def read_home_feed(self, viewer_id: str, first: int, after: str | None) -> HomeFeedPage:
        """:meth:`home_feed` with its hydration (the API's path): the page's posts, their authors, like
        counts and the viewer's likes, read in the filter's own round trip plus one ``MGET``. Serves from
        the graph (and counts it) when Redis is unreachable. Raises ``BadInput("after")``."""
        return await self._read(viewer_id, first, after, hydrate=True)

    async def rebuild_home_feed(self, user_id: str) -> int:
        """Rebuild ``feed:{user_id}`` from the graph: the newest ``max_items`` PUBLISHED posts of the user and
        of the non-celebrity users they follow, stored with the rebuilt marker (idempotent; posts pushed
        meanwhile are kept: the key exists, with a placeholder, before the graph is read). Returns the number of
        posts stored. Raises ``CacheUnavailable``."""
        await self.cache.begin_rebuild(user_id)
        rows = await self.graph.read(stmts.HOME_PULL, self._pull_params(user_id, None, self.max_items, False))
        items = [FeedItem(r["id"], int(r["score"])) for r in rows]
        await self.cache.finish_rebuild(user_id, items)
        REBUILDS.inc()
        return len(items)

    async def pull_feed(self, viewer_id: str, first: int, cursor: tuple[int, str] | None) -> Page[FeedEntry]:
        """A page pulled from the graph alone (followees' posts, celebrities included): the degraded path and
        the "social graph traversal at read" baseline of the bench."""
        rows = await self.graph.read(stmts.HOME_PULL, self._pull_params(viewer_id, cursor, first + 1, True))
        entries = [FeedEntry(r["id"], r["author_id"], int(r["score"])) for r in rows]
        return self._entries_page(entries, first, has_more=len(entries) > first, after=cursor)

    # -- the pipeline ---------------------------------------------------------------------------------------

    async def _read(self, viewer_id: str, first: int, after: str | None, *, hydrate: bool) -> HomeFeedPage:
        cursor = _parse_cursor(after)
        if cursor is not None and cursor[0] == POPULAR_TAG:
            return await self._cold_start(viewer_id, first, (cursor[1], cursor[2]), hydrate)
        if cursor is not None and cursor[0] == EXPLORE_TAG:
            explored = await self._explore(viewer_id, first, after)
            return explored if explored is not None else await self._cold_start(viewer_id, first, None, hydrate)
        try:
            return await self._cached_feed(viewer_id, first, cursor, hydrate)
        except CacheUnavailable as exc:
            DEGRADED.inc()
            log.warning("feed.degraded", viewer_id=viewer_id, error=str(exc))
            return HomeFeedPage(await self._degraded_feed(viewer_id, first, cursor))

    async def _cached_feed(
        self, viewer_id: str, first: int, cursor: tuple[int, str] | None, hydrate: bool
    ) -> HomeFeedPage:
        fetch = first + 1 + max(5, first // 2)
        own, context, epoch = await self.cache.feed_page_and_context(viewer_id, cursor, fetch)
        if context is None:
            context = await self._viewer_context(viewer_id, epoch)
            if context is None:  # the viewer is gone
                return HomeFeedPage(Page())
        if not own.built:  # also for a viewer on the cold-start feed: a reader's feed is live for pushes
            await self.cache.rebuild_once(
                viewer_id,
                lambda: self.cache.is_feed_built(viewer_id),
                lambda: self.rebuild_home_feed(viewer_id),
                wait_s=self.rebuild_wait_s,
            )
            own = await self.cache.feed_page(viewer_id, cursor, fetch)
        if context.following == 0 and cursor is None:
            return await self._cold_start(viewer_id, first, None, hydrate)
        pulled = context.pulled
        kept: list[FeedEntry] = []
        hydration = PostHydration()
        round_cursor, rounds = cursor, 0
        while True:
            rounds += 1
            skeleton = await self._skeleton(own, pulled, round_cursor, fetch)
            ship = max(first - len(kept), 0) if hydrate else 0  # the candidates that will fill the page
            states = await self._hydrate(viewer_id, skeleton.candidates, ship, hydration)
            kept += await self._filter(viewer_id, skeleton, states)
            if len(kept) > first:
                has_more = True
                break
            if skeleton.exhausted or not skeleton.candidates:
                has_more = False
                break
            if kept and rounds >= MAX_ROUNDS:
                has_more = True  # a short page, never an empty one
                break
            round_cursor = skeleton.candidates[-1].key()
            fetch = min(fetch * 2, MAX_FETCH)
            own = await self.cache.feed_page(viewer_id, round_cursor, fetch)
        return await self._present(kept, first, has_more=has_more, after=cursor, hydration=hydration)

    async def _viewer_context(self, viewer_id: str, epoch: int) -> FeedContext | None:
        """``VIEWER_CONTEXT`` from the graph, cached for the next reads (``None``: no such viewer)."""
        rows = await self.graph.read(
            stmts.VIEWER_CONTEXT, {"viewer_id": viewer_id, "threshold": self.celebrity_threshold}
        )
        if not rows:
            return None
        context = FeedContext(int(rows[0]["following"]), [str(p) for p in rows[0]["pulled"] or []], epoch)
        await self.cache.store_context(viewer_id, context)
        return context

    async def _skeleton(
        self, own: KeyPage, pulled: list[str], cursor: tuple[int, str] | None, fetch: int
    ) -> Skeleton:
        """Stage 1: the viewer's pushed page ``own`` merged with the pulled authors' pages after ``cursor``."""
        pages = [own]
        if pulled:
            celeb_pages = await self.cache.posts_pages(pulled, cursor, fetch)
            missing = [c for c, page in celeb_pages.items() if not page.built]
            if missing:
                loaded = await load_recent_posts(self.graph, missing, self.max_items)
                for author_id, items in loaded.items():
                    await self.cache.store_posts(author_id, items)
                    celeb_pages[author_id] = _slice(items, cursor, fetch)
            pages += celeb_pages.values()
        candidates, exhausted = merge_sources(pages)
        return Skeleton(candidates, exhausted, frozenset(i.post_id for i in own.items))

    async def _hydrate(
        self, viewer_id: str, candidates: list[FeedItem], ship: int, hydration: PostHydration
    ) -> dict[str, FeedPostState]:
        """Stage 2 (:func:`hydrate_candidates` with the home feed's rule)."""
        ids = [i.post_id for i in candidates]
        return await hydrate_candidates(self.graph, viewer_id, ids, ship, hydration, in_home_feed, self.content)

    async def _filter(
        self, viewer_id: str, skeleton: Skeleton, states: dict[str, FeedPostState]
    ) -> list[FeedEntry]:
        """Stage 3: the candidates that pass :func:`in_home_feed`, in order; the rest is removed from the
        Redis keys it came from (best effort: skipped while Redis is down)."""
        kept: list[FeedEntry] = []
        stale_feed: list[str] = []
        stale_posts: dict[str, list[str]] = {}
        for item in skeleton.candidates:
            state = states.get(item.post_id)
            if state is not None and in_home_feed(state):
                kept.append(FeedEntry(item.post_id, state.author_id, item.score))
                continue
            if item.post_id in skeleton.pushed_ids:
                stale_feed.append(item.post_id)
            if state is not None and state.status != PUBLISHED:
                stale_posts.setdefault(state.author_id, []).append(item.post_id)
        await self._remove_stale(viewer_id, stale_feed, stale_posts)
        return kept

    async def _present(
        self,
        entries: list[FeedEntry],
        first: int,
        *,
        has_more: bool,
        after: tuple[int, str] | None,
        hydration: PostHydration,
    ) -> HomeFeedPage:
        """Stage 4: the page of the first ``first`` entries with their cursors; the like counts of the
        hydrated posts among them join ``hydration`` (one ``MGET``; none when nothing was hydrated)."""
        page = self._entries_page(entries, first, has_more=has_more, after=after)
        return await self._with_counts(page, hydration)

    async def _with_counts(self, page: Page[FeedEntry], hydration: PostHydration) -> HomeFeedPage:
        ids = [e.post_id for _, e in page.items if e.post_id in hydration.posts and e.post_id not in
               hydration.like_counts]  # fmt: skip
        if ids:
            counts = await self.counts.counts(ids)
            hydration.like_counts.update({pid: n for pid, n in zip(ids, counts, strict=True) if n is not None})
        return HomeFeedPage(page, hydration)

    async def _remove_stale(self, viewer_id: str, feed_ids: list[str], posts: dict[str, list[str]]) -> None:
        try:
            await self.cache.remove_from_feeds(feed_ids, [viewer_id])
            for author_id, ids in posts.items():
                await self.cache.remove_posts(author_id, ids)
        except CacheUnavailable:
            log.info("feed.lazy_removal_skipped", viewer_id=viewer_id)

    async def _explore(self, viewer_id: str, first: int, after: str | None) -> HomeFeedPage | None:
        """The viewer's explore page as feed entries (``None`` without an explore service, or when its first
        page is empty: the caller falls back to the popular posts)."""
        if self.explore is None:
            return None
        read = await self.explore.explore(viewer_id, first, after)
        if not read.page.items and after is None:
            return None
        items = [(c, FeedEntry(r.id, r.author_id, r.created_at)) for c, r in read.page.items]
        page = Page(items=items, has_next=read.page.has_next, has_previous=read.page.has_previous)
        return HomeFeedPage(page, read.hydration)

    async def _cold_start(
        self, viewer_id: str, first: int, cursor: tuple[str, int] | None, hydrate: bool
    ) -> HomeFeedPage:
        if cursor is None and (explored := await self._explore(viewer_id, first, None)) is not None:
            return explored
        page, hydration = await self.cold_start.page(viewer_id, first, cursor, hydrate=hydrate)
        entries = Page(
            items=[(c, FeedEntry(r.post_id, r.author_id, r.score)) for c, r in page.items],
            has_next=page.has_next, has_previous=page.has_previous,
        )  # fmt: skip
        return await self._with_counts(entries, hydration)

    # -- the graph path -------------------------------------------------------------------------------------

    async def _degraded_feed(self, viewer_id: str, first: int, cursor: tuple[int, str] | None) -> Page[FeedEntry]:
        if cursor is None:
            context = await self.graph.read(
                stmts.VIEWER_CONTEXT, {"viewer_id": viewer_id, "threshold": self.celebrity_threshold}
            )
            if not context:
                return Page()
            if int(context[0]["following"]) == 0:
                return (await self._cold_start(viewer_id, first, None, False)).page
        return await self.pull_feed(viewer_id, first, cursor)

    def _pull_params(
        self, viewer_id: str, cursor: tuple[int, str] | None, limit: int, include_celebrities: bool
    ) -> dict[str, object]:
        before_ts, before_id = cursor if cursor is not None else (stmts.FIRST_PAGE_TS, "")
        return {
            "viewer_id": viewer_id,
            "before_ts": before_ts,
            "before_id": before_id,
            "limit": limit,
            "threshold": self.celebrity_threshold,
            "include_celebrities": include_celebrities,
        }

    @staticmethod
    def _entries_page(
        entries: list[FeedEntry], first: int, *, has_more: bool, after: tuple[int, str] | None
    ) -> Page[FeedEntry]:
        return Page(
            items=[(encode_cursor(e.score, e.post_id), e) for e in entries[:first]],
            has_next=has_more,
            has_previous=after is not None,
        )
