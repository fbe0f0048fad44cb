"""The cold-start feed: recent popular posts for a viewer who follows nobody, paged over a snapshot.

The ranking (``graph.statements.feed.POPULAR_POSTS``: PUBLISHED posts of public authors published in the last
``days`` days, by like count, then publish time, then id; at most ``max_items``) changes whenever the like
counts are written back, so a keyset on ``like_count`` repeated and skipped posts between pages. The first page
ranks once and stores the ranking as a snapshot for the viewer (``cache.cold_feed``, 30 min); its cursors are
``["popular", snapshot, position]`` and every later page reads its slice of the same snapshot, so a session
pages one fixed order. Each slice still goes through the feed's filter (``services.feed_filter``: PUBLISHED and
visible now), so a post deleted or hidden meanwhile is skipped; a page is filled from further slices and is
never empty while ``has_next`` is true.

Degraded: when the snapshot cannot be stored or read (Redis down, expired, evicted) the ranking is computed
again from the graph and the page is its slice at the cursor's position (``snapshot`` ``""`` when none was
stored): pages then follow the live ranking, which may shift by the likes written back meanwhile.

Errors: ``BadInput("after")`` for a malformed cursor; graph errors propagate.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

import structlog

from cache.cold_feed import RankedPost
from cache.errors import CacheUnavailable
from graph.statements import feed as stmts
from services.core.clock import now_ms
from services.core.errors import BadInput
from services.core.pagination import Page, decode_cursor, encode_cursor
from services.core.records import PostHydration
from services.feed_filter import hydrate_candidates, visible_post

if TYPE_CHECKING:
    from cache.cold_feed import ColdFeedCache
    from graph.store import GraphStore
    from services.post_content import PostContentCache

log = structlog.get_logger(__name__)

POPULAR_TAG = "popular"
DAY_MS = 86_400_000
UPLOAD_WINDOW_MS = 2 * 3_600_000  # a post is published within 2 h of its creation (sweeper: 1 h + 15 min)
MAX_POSITION = 100_000
_SNAPSHOT = re.compile(r"^(?:[0-9a-f]{12})?$")


def parse_popular_cursor(after: str) -> tuple[str, int]:
    """``(snapshot, position)`` of a cold-start cursor; raises ``BadInput("after")`` for anything else."""
    parts = decode_cursor(after, (str, str, int))
    if parts is None or parts[0] != POPULAR_TAG or not _SNAPSHOT.match(parts[1]):
        raise BadInput("after", "Invalid cursor.")
    if not 0 <= parts[2] <= MAX_POSITION:
        raise BadInput("after", "Invalid cursor.")
    return parts[1], parts[2]


class ColdStartFeed:
    """Pages of the cold-start ranking over ``graph`` with snapshots in ``cache``."""

    def __init__(
        self, graph: GraphStore, cache: ColdFeedCache, content: PostContentCache, *, days: int = 7,
        max_items: int = 500,
    ) -> None:
        self.graph, self.cache, self.content = graph, cache, content
        self.window_ms, self.max_items = days * DAY_MS, max_items

    async def page(
        self, viewer_id: str, first: int, cursor: tuple[str, int] | None, *, hydrate: bool
    ) -> tuple[Page[RankedPost], PostHydration]:
        """One page after ``cursor`` (``(snapshot, position)``; None: a new snapshot) and the hydration of the
        posts it shipped (``hydrate``). Each item's cursor is ``["popular", snapshot, its position + 1]``."""
        hydration = PostHydration()
        snapshot, position = cursor if cursor is not None else ("", 0)
        ranking: list[RankedPost] | None = None
        if cursor is None:
            ranking = await self._rank(viewer_id)
            snapshot = await self._store(viewer_id, ranking)
        kept: list[tuple[int, RankedPost]] = []
        fetch = first + 1 + max(5, first // 2)
        while len(kept) <= first:
            chunk = await self._slice(viewer_id, snapshot, ranking, position, fetch)
            if chunk is None:  # the snapshot is gone: rank again, page the live ranking from here
                ranking = await self._rank(viewer_id)
                continue
            ship = max(first - len(kept), 0) if hydrate else 0
            ids = [r.post_id for r in chunk]
            states = await hydrate_candidates(
                self.graph, viewer_id, ids, ship, hydration, visible_post, self.content
            )
            for offset, entry in enumerate(chunk):
                state = states.get(entry.post_id)
                if state is not None and visible_post(state):
                    kept.append((position + offset, entry))
            position += len(chunk)
            if len(chunk) < fetch:
                break
            fetch = min(fetch * 2, self.max_items)
        items = [(encode_cursor(POPULAR_TAG, snapshot, at + 1), entry) for at, entry in kept[:first]]
        return Page(items=items, has_next=len(kept) > first, has_previous=cursor is not None), hydration

    async def _rank(self, viewer_id: str) -> list[RankedPost]:
        since = now_ms() - self.window_ms
        rows = await self.graph.read(
            stmts.POPULAR_POSTS,
            {"viewer_id": viewer_id, "since": since, "created_since": since - UPLOAD_WINDOW_MS,
             "limit": self.max_items},
        )  # fmt: skip
        return [RankedPost(r["id"], r["author_id"], int(r["score"])) for r in rows]

    async def _store(self, viewer_id: str, ranking: list[RankedPost]) -> str:
        snapshot = secrets.token_hex(6)
        try:
            await self.cache.store(viewer_id, snapshot, ranking)
        except CacheUnavailable:
            log.warning("feed.cold_start_snapshot_unavailable", viewer_id=viewer_id)
            return ""
        return snapshot

    async def _slice(
        self, viewer_id: str, snapshot: str, ranking: list[RankedPost] | None, start: int, count: int
    ) -> list[RankedPost] | None:
        if ranking is not None:
            return ranking[start : start + count]
        if not snapshot:
            return None
        try:
            return await self.cache.slice(viewer_id, snapshot, start, count)
        except CacheUnavailable:
            return None
