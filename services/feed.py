"""The home feed read: skeleton -> filter -> (hydrate and present in the resolver), with the graph fallback.

Hybrid push/pull (DESIGN.md "Feed"; seed "Instagram Feed", ``get_feed``): a page is the viewer's
``feed:{uid}`` (filled by fan-out on write) k-way merged with ``posts:{c}`` of every celebrity ``c`` the
viewer follows (fan-out on read), newest first by ``(created_at ms, post id)``. The cursor is that keyset,
so new posts arriving between requests never shift a later page (no duplicates, no gaps).

Pipeline per page, in a fixed number of round trips when nothing is filtered out:
1. skeleton: graph ``VIEWER_CONTEXT`` (followee count, followed celebrities) alongside the Redis page of
   ``feed:{uid}``; then one Redis pipeline of the celebrities' ``posts:{c}`` pages. Each source is read
   over-fetched (``first + 1 + max(5, first // 2)``) and only the prefix of the merge that is certainly in
   global order is kept.
2. filter: graph ``FEED_FILTER`` on the candidates: deleted/unpublished posts, authors no longer followed and
   blocks either way are dropped (and lazily ``ZREM``-ed from the keys they came from); when too few survive,
   another round continues from the last candidate (at most ``MAX_ROUNDS``).
3. hydrate/present: with ``hydrate`` (the API) the filter statement also returns each post's content, its
   author and the viewer's like (``FEED_FILTER_HYDRATED``), which the resolver primes into the request's
   loaders; pages from the other paths are loaded through ``PostsById`` and the Post type's loaders.

A ``feed:{uid}`` without its rebuilt marker (new or returning user, eviction) is rebuilt from the graph
(``rebuild_home_feed``: the pull of the followees' recent PUBLISHED posts, capped) under a short Redis lock.
When Redis is unreachable the page is pulled from the graph (``HOME_PULL`` with celebrities, same cursor)
and ``instagraph_feed_degraded_total`` counts it. A viewer who follows nobody gets the cold-start feed:
PUBLISHED posts of public authors from the last ``cold_start_days`` days by like count, then recency.

Errors: ``BadInput("after")`` for a malformed cursor; graph errors propagate (there is no fallback for the
graph, which holds the truth).
"""

from __future__ import annotations

import asyncio
import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import REGISTRY, Counter

from cache.errors import CacheUnavailable
from cache.feed import FeedItem, KeyPage
from graph.statements import feed as stmts
from services.core.clock import now_ms
from services.core.errors import BadInput
from services.core.pagination import Page, decode_cursor, encode_cursor
from services.core.records import UserRecord
from services.post_reads import record_from_row

if TYPE_CHECKING:
    from cache.feed import FeedCache
    from graph.store import GraphStore
    from services.core.records import PostRecord

log = structlog.get_logger(__name__)

MAX_ROUNDS = 4  # skeleton+filter rounds per page before returning a short page with has_next
POPULAR_TAG = "popular"
DAY_MS = 86_400_000


def _counter(name: str, doc: str) -> Counter:
    existing = REGISTRY._names_to_collectors.get(name)
    return existing if existing is not None else Counter(name, doc)  # type: ignore[return-value]


DEGRADED = _counter("instagraph_feed_degraded", "Feed pages served from the graph because Redis was unreachable")
REBUILDS = _counter("instagraph_feed_rebuilds", "Home feeds rebuilt from the graph (cold or evicted keys)")


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """A post that passed the filter: ``post_id``, ``author_id``, ``score`` (created_at, epoch ms).

    A hydrated page (``home_feed(..., hydrate=True)`` on the cached path) also carries the ``post`` record,
    its ``author`` and ``viewer_liked`` (whether the viewer likes it), read in the filter's own round trip;
    other pages (pull, cold start, degraded), and an entry that moved up into the page because a candidate
    before it was filtered out, leave them ``None`` for the caller to load.
    """

    post_id: str
    author_id: str
    score: int
    post: PostRecord | None = None
    author: UserRecord | None = None
    viewer_liked: bool | None = None


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
    """``(score, id)`` for a home cursor, ``("popular", likes, score, id)`` for a cold-start one."""
    if after is None:
        return None
    try:
        return decode_cursor(after, (int, str))
    except BadInput:
        parts = decode_cursor(after, (str, int, int, str))
        if parts is None or parts[0] != POPULAR_TAG:
            raise BadInput("after", "Invalid cursor.") from None
        return parts


def _slice(items: list[FeedItem], after: tuple[int, str] | None, count: int) -> KeyPage:
    kept = [i for i in items if after is None or i.key() < after][:count]
    return KeyPage(items=kept, built=True, exhausted=len(kept) < count)


class FeedService:
    """Home feed reads over ``graph`` and ``cache``.

    ``celebrity_threshold``: followers from which an author is pulled (default 10,000, as in the seed);
    ``max_items``: the cap of a rebuilt feed (``FEED_MAX_ITEMS``); ``cold_start_days``: window of the
    popular-posts feed; ``rebuild_wait_s``: how long a request waits for another's rebuild lock.
    """

    def __init__(
        self,
        graph: GraphStore,
        cache: FeedCache,
        *,
        celebrity_threshold: int = 10_000,
        max_items: int = 500,
        cold_start_days: int = 7,
        rebuild_wait_s: float = 2.0,
    ) -> None:
        self.graph, self.cache = graph, cache
        self.celebrity_threshold, self.max_items = celebrity_threshold, max_items
        self.cold_start_ms, self.rebuild_wait_s = cold_start_days * DAY_MS, rebuild_wait_s

    async def home_feed(
        self, viewer_id: str, first: int, after: str | None, *, hydrate: bool = False
    ) -> Page[FeedEntry]:
        """One page of ``viewer_id``'s home feed, newest first; ``first`` already clamped to 1..100.

        ``hydrate``: the filter (``FEED_FILTER_HYDRATED``) also returns each entry's post, author and the
        viewer's like in the same round trip (the API's path); without it the entries are the skeleton only.
        Raises ``BadInput("after")``; serves from the graph (and counts it) when Redis is unreachable.
        """
        cursor = _parse_cursor(after)
        if cursor is not None and cursor[0] == POPULAR_TAG:
            return await self.popular_feed(viewer_id, first, cursor[1:])
        try:
            return await self._cached_feed(viewer_id, first, cursor, hydrate)
        except CacheUnavailable as exc:
            DEGRADED.inc()
            log.warning("feed.degraded", viewer_id=viewer_id, error=str(exc))
            return await self._degraded_feed(viewer_id, first, cursor)

    async def rebuild_home_feed(self, user_id: str) -> int:
        """Rebuild ``feed:{user_id}`` from the graph: the newest ``max_items`` PUBLISHED posts of the user and
        of the non-celebrity users they follow, stored with the rebuilt marker (idempotent; posts pushed
        meanwhile are kept). Returns the number of posts stored. Raises ``CacheUnavailable``."""
        rows = await self.graph.read(stmts.HOME_PULL, self._pull_params(user_id, None, self.max_items, False))
        items = [FeedItem(r["id"], int(r["score"])) for r in rows]
        await self.cache.add_to_feed(user_id, items, built=True)
        REBUILDS.inc()
        return len(items)

    async def pull_feed(self, viewer_id: str, first: int, cursor: tuple[int, str] | None) -> Page[FeedEntry]:
        """A page pulled from the graph alone (followees' posts, celebrities included): the degraded path and
        the "social graph traversal at read" baseline of the bench."""
        rows = await self.graph.read(stmts.HOME_PULL, self._pull_params(viewer_id, cursor, first + 1, True))
        entries = [FeedEntry(r["id"], r["author_id"], int(r["score"])) for r in rows]
        return self._page(entries, first, has_more=len(entries) > first, after=cursor)

    async def popular_feed(self, viewer_id: str, first: int, cursor: tuple[Any, ...] | None) -> Page[FeedEntry]:
        """Cold start: recent popular posts (``cursor`` = ``(likes, score, id)`` or None), graph only."""
        likes, score, post_id = cursor if cursor is not None else (stmts.FIRST_PAGE_TS, stmts.FIRST_PAGE_TS, "")
        rows = await self.graph.read(
            stmts.POPULAR_POSTS,
            {
                "viewer_id": viewer_id,
                "since": now_ms() - self.cold_start_ms,
                "before_likes": likes,
                "before_ts": score,
                "before_id": post_id,
                "limit": first + 1,
            },
        )
        items = [
            (encode_cursor(POPULAR_TAG, int(r["likes"]), int(r["score"]), r["id"]),
             FeedEntry(r["id"], r["author_id"], int(r["score"])))
            for r in rows[:first]
        ]  # fmt: skip
        return Page(items=items, has_next=len(rows) > first, has_previous=cursor is not None)

    # -- the cached (hybrid) path -------------------------------------------------------------------------

    async def _cached_feed(
        self, viewer_id: str, first: int, cursor: tuple[int, str] | None, hydrate: bool
    ) -> Page[FeedEntry]:
        fetch = first + 1 + max(5, first // 2)
        context_rows, own = await asyncio.gather(
            self.graph.read(stmts.VIEWER_CONTEXT, {"viewer_id": viewer_id, "threshold": self.celebrity_threshold}),
            self.cache.feed_page(viewer_id, cursor, fetch),
        )
        if not context_rows:
            return Page()
        if int(context_rows[0]["following"]) == 0 and cursor is None:
            return await self.popular_feed(viewer_id, first, None)
        celebrities: list[str] = list(context_rows[0]["celebrities"] or [])
        if not own.built:
            await self.cache.rebuild_once(
                viewer_id,
                lambda: self.cache.is_feed_built(viewer_id),
                lambda: self.rebuild_home_feed(viewer_id),
                wait_s=self.rebuild_wait_s,
            )
            own = await self.cache.feed_page(viewer_id, cursor, fetch)
        survivors: list[FeedEntry] = []
        round_cursor = cursor
        for _ in range(MAX_ROUNDS):
            celeb_pages = await self._celebrity_pages(celebrities, round_cursor, fetch)
            candidates, exhausted = self._merge([own, *celeb_pages.values()])
            need = first - len(survivors) if hydrate else 0  # the candidates that will fill the page
            survivors += await self._filter(viewer_id, candidates, {i.post_id for i in own.items}, need)
            if len(survivors) > first or exhausted or not candidates:
                return self._page(survivors, first, has_more=len(survivors) > first, after=cursor)
            round_cursor = candidates[-1].key()
            own = await self.cache.feed_page(viewer_id, round_cursor, fetch)
        return self._page(survivors, first, has_more=True, after=cursor)

    async def _celebrity_pages(
        self, celebrities: list[str], cursor: tuple[int, str] | None, fetch: int
    ) -> dict[str, KeyPage]:
        if not celebrities:
            return {}
        pages = await self.cache.posts_pages(celebrities, cursor, fetch)
        missing = [c for c, page in pages.items() if not page.built]
        if missing:
            pulled = await load_recent_posts(self.graph, missing, self.max_items)
            for author_id, items in pulled.items():
                await self.cache.store_posts(author_id, items)
                pages[author_id] = _slice(items, cursor, fetch)
        return pages

    @staticmethod
    def _merge(pages: list[KeyPage]) -> tuple[list[FeedItem], bool]:
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

    async def _filter(
        self, viewer_id: str, items: list[FeedItem], own_ids: set[str], hydrate: int
    ) -> list[FeedEntry]:
        """Keep the PUBLISHED posts of followed (or own), unblocked authors; lazily remove the rest. The first
        ``hydrate`` items come with their post, author and the viewer's like (``FEED_FILTER_HYDRATED``)."""
        if not items:
            return []
        params: dict[str, object] = {"viewer_id": viewer_id, "ids": [i.post_id for i in items]}
        if hydrate > 0:
            params["hydrate"] = [i.post_id for i in items[:hydrate]]
        rows = await self.graph.read(stmts.FEED_FILTER_HYDRATED if hydrate > 0 else stmts.FEED_FILTER, params)
        by_id = {r["id"]: r for r in rows}
        kept: list[FeedEntry] = []
        stale_feed: list[str] = []
        stale_posts: dict[str, list[str]] = {}
        for item in items:
            row = by_id.get(item.post_id)
            if row is not None and row["status"] == "PUBLISHED" and row["follows"] and not row["blocked"]:
                content = row.get("content")
                if content is None:
                    kept.append(FeedEntry(item.post_id, row["author_id"], item.score))
                else:
                    post, author = record_from_row(content), UserRecord.from_row(content["author"])
                    kept.append(FeedEntry(item.post_id, post.author_id, item.score, post, author, row["viewer_liked"]))
                continue
            if item.post_id in own_ids:
                stale_feed.append(item.post_id)
            if row is not None and row["status"] != "PUBLISHED":
                stale_posts.setdefault(row["author_id"], []).append(item.post_id)
        await self._remove_stale(viewer_id, stale_feed, stale_posts)
        return kept

    async def _remove_stale(self, viewer_id: str, feed_ids: list[str], posts: dict[str, list[str]]) -> None:
        try:
            await self.cache.remove_from_feeds(feed_ids, [viewer_id])
            for author_id, ids in posts.items():
                await self.cache.remove_posts(author_id, ids)
        except CacheUnavailable:
            log.info("feed.lazy_removal_skipped", viewer_id=viewer_id)

    # -- the graph path -----------------------------------------------------------------------------------

    async def _degraded_feed(self, viewer_id: str, first: int, cursor: tuple[int, str] | None) -> Page[FeedEntry]:
        if cursor is None:
            context = await self.graph.read(
                stmts.VIEWER_CONTEXT, {"viewer_id": viewer_id, "threshold": self.celebrity_threshold}
            )
            if not context:
                return Page()
            if int(context[0]["following"]) == 0:
                return await self.popular_feed(viewer_id, first, None)
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
    def _page(
        entries: list[FeedEntry], first: int, *, has_more: bool, after: tuple[int, str] | None
    ) -> Page[FeedEntry]:
        return Page(
            items=[(encode_cursor(e.score, e.post_id), e) for e in entries[:first]],
            has_next=has_more,
            has_previous=after is not None,
        )
