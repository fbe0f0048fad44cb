"""The stories ring: the viewer and the users they follow who have live stories the viewer may see.

Order: the viewer's own item first, then users with at least one story the viewer has not seen, then the
rest; within each group by ``latest_at`` (the newest story's ``created_at``) newest first, then by user id.
Each item's stories are oldest first. The cursor is the keyset ``[group, latest_at, user id]`` of the last
item (group 0: own, 1: unseen, 2: seen), so a page continues after it even when users post in between.

A page costs a fixed number of round trips whatever the number of followees (after the seed's "Story Feed":
followees from the graph, then "check if story:{user_id} key exists in Redis"):

1. graph ``FOLLOWEE_IDS``: whom the viewer follows (one list);
2. Redis, two pipelines (``cache.stories.StoryCache.live_stories``): the author index of the viewer and every
   followee (one ``ZMSCORE`` per shard) with the viewer's seen set, then ``ZRANGEBYSCORE stories:{uid}
   (now +inf`` of those who have live stories;
3. graph ``RING_STORIES`` on the candidate ids only: which are still live and visible to the viewer (blocks,
   privacy, close-friends audience, the read-time expiry check), with their authors.

When Redis is down the page comes from the graph alone (``RING_FROM_GRAPH``; seen flags from the VIEWED
edges) and ``instagraph_stories_ring_degraded_total`` counts it.

Errors: ``BadInput("first"|"after")``; graph errors propagate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter

from cache.errors import CacheUnavailable
from graph.statements import story_ring as stmts
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import UserRecord
from services.story_reads import present, view_from_row

if TYPE_CHECKING:
    from collections.abc import Callable

    from cache.stories import StoryCache
    from graph.store import GraphStore, Row
    from services.core.records import StoryRecord
    from services.story_reads import StoryReader

log = structlog.get_logger(__name__)

RING_DEFAULT_FIRST = 20
OWN, UNSEEN, SEEN = 0, 1, 2
DEGRADED = Counter(
    "instagraph_stories_ring_degraded_total", "Stories ring pages served from the graph because Redis was down"
)


@dataclass(frozen=True, slots=True)
class RingItem:
    """One user of the ring: ``user``, ``stories`` (oldest first), ``seen`` (story id -> the viewer has seen
    it), ``has_unseen`` and ``latest_at`` (epoch ms)."""

    user: UserRecord
    stories: tuple[StoryRecord, ...]
    seen: dict[str, bool] = field(default_factory=dict)

    @property
    def has_unseen(self) -> bool:
        """At least one story the viewer has not seen."""
        return not all(self.seen.get(s.id, False) for s in self.stories)

    @property
    def latest_at(self) -> int:
        """``created_at`` of the newest story."""
        return max(s.created_at for s in self.stories)


def _group(item: RingItem, viewer_id: str) -> int:
    if item.user.id == viewer_id:
        return OWN
    return UNSEEN if item.has_unseen else SEEN


def _sort_key(group: int, latest_at: int, user_id: str) -> tuple[int, int, str]:
    return (group, -latest_at, user_id)


class StoryRingService:
    """``ring`` over ``graph`` and ``cache``; ``reader`` provides the clock of the expiry check."""

    def __init__(self, graph: GraphStore, cache: StoryCache, reader: StoryReader) -> None:
        self._graph, self._cache, self._reader = graph, cache, reader

    async def ring(self, viewer_id: str, first: int | None, after: str | None) -> Page[RingItem]:
        """One page of ``viewer_id``'s ring (see the module docstring). Raises ``BadInput``."""
        limit = clamp_first(first, RING_DEFAULT_FIRST)
        cursor = decode_cursor(after, (int, int, str))
        now = self._reader.clock.now_ms()
        try:
            items = await self._from_redis(viewer_id, now)
        except CacheUnavailable as exc:
            DEGRADED.inc()
            log.warning("story_ring.degraded", viewer_id=viewer_id, error=str(exc))
            items = await self._from_graph(viewer_id, now)
        ordered = sorted(items, key=lambda i: _sort_key(_group(i, viewer_id), i.latest_at, i.user.id))
        if cursor is not None:
            floor = _sort_key(*cursor)
            ordered = [i for i in ordered if _sort_key(_group(i, viewer_id), i.latest_at, i.user.id) > floor]
        page = ordered[:limit]
        return Page(
            items=[(encode_cursor(_group(i, viewer_id), i.latest_at, i.user.id), i) for i in page],
            has_next=len(ordered) > limit,
            has_previous=after is not None,
        )

    async def _from_redis(self, viewer_id: str, now: int) -> list[RingItem]:
        rows = await self._graph.read(stmts.FOLLOWEE_IDS, {"viewer_id": viewer_id})
        followees: list[str] = list(rows[0]["ids"] or []) if rows else []
        live, seen = await self._cache.live_stories([viewer_id, *followees], viewer_id, now)
        candidates = [story_id for entries in live.values() for story_id, _ in entries]
        if not candidates:
            return []
        found = await self._graph.read(stmts.RING_STORIES, {"viewer_id": viewer_id, "ids": candidates, "now": now})
        return _items(found, now, viewer_id, lambda row: row["story"]["id"] in seen)

    async def _from_graph(self, viewer_id: str, now: int) -> list[RingItem]:
        rows = await self._graph.read(stmts.RING_FROM_GRAPH, {"viewer_id": viewer_id, "now": now})
        return _items(rows, now, viewer_id, lambda row: bool(row["seen"]))


def _items(rows: list[Row], now: int, viewer_id: str, seen_of: Callable[[Row], bool]) -> list[RingItem]:
    stories: dict[str, list[StoryRecord]] = defaultdict(list)
    seen: dict[str, dict[str, bool]] = defaultdict(dict)
    users: dict[str, UserRecord] = {}
    for row in rows:
        record = present(view_from_row(row), now)
        author = row["author_id"]
        users.setdefault(author, UserRecord.from_row(row["author"]))
        stories[author].append(record)
        seen[author][record.id] = author == viewer_id or seen_of(row)
    return [
        RingItem(user=users[a], stories=tuple(sorted(s, key=lambda r: (r.created_at, r.id))), seen=seen[a])
        for a, s in stories.items()
    ]
