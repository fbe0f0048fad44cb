"""Story views: ``view_story`` (idempotent), the author's ``viewers`` list and view counts, and the write-back.

A view is a ``(:User)-[:VIEWED {at}]->(:Story)`` edge, MERGEd (one per viewer; the author's own view and a
view of a story that is no longer live record nothing), plus the story id in the viewer's Redis seen set
(``story_seen:{viewer}``, TTL the story lifetime; what the ring's ``hasUnseen`` reads). The count is
asynchronous, after the seed's "increment view count async (avoid hot write on every view)": a view that
made a new edge adds one to the Redis counter ``story_views:{story}`` (only while it exists; a missing
counter is recounted from the edges on the next read and installed with ``SET NX``) and marks the story
dirty. A view made while Redis is down is remembered in the process (up to ``LOST_MAX``) and replayed by the
next Redis call that succeeds: into the seen set, and the story's counter dropped to be recounted.
``write_back`` (the stories sweeper, every few seconds) recounts the dirty stories' edges into
``Story.view_count`` and re-installs the counters, so the count is each viewer once even if two concurrent
first views raced. Only the author reads ``viewCount`` and ``viewers`` (``None`` for everyone else).

Errors: ``NotFound`` for a story the viewer may not see; ``BadInput("first"|"after")`` for paging arguments;
Redis outages degrade (the graph answers), graph errors propagate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
import uuid_utils

from cache.errors import CacheUnavailable
from graph.errors import GraphError
from graph.statements import stories as stmts
from graph.statements.story_ring import SEEN_FLAGS
from services.core.errors import NotFound
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import UserRecord
from services.story_reads import present

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cache.stories import StoryCache
    from graph.store import GraphStore
    from services.core.records import StoryRecord
    from services.rate_limits import RateLimitService
    from services.story_reads import StoryReader

log = structlog.get_logger(__name__)

VIEWERS_DEFAULT_FIRST = 20
WRITE_BACK_BATCH = 1_000
WRITE_BACK_MAX_BATCHES = 20
LOST_MAX = 10_000  # views remembered in the process while Redis is down, replayed once it is back
_FIRST_PAGE = 2**62


class StoryViewService:
    """Views over ``graph`` and ``cache``; ``reader`` loads stories with the viewer's flags and the clock."""

    def __init__(
        self, graph: GraphStore, cache: StoryCache, reader: StoryReader, rate_limits: RateLimitService
    ) -> None:
        self._graph, self._cache, self._reader, self._rate_limits = graph, cache, reader, rate_limits
        self._lost: dict[tuple[str, str], None] = {}  # (viewer, story) views Redis missed, replayed later

    async def view_story(self, viewer_id: str, story_id: str) -> StoryRecord:
        """Record that ``viewer_id`` saw ``story_id``; idempotent (one edge, one count per viewer). Returns the
        story as served. Raises ``NotFound`` when the viewer may not see it, ``RateLimited`` over the
        ``viewStory`` budget."""
        await self._rate_limits.hit("viewStory", viewer_id)
        view = (await self._reader.views([story_id], viewer_id))[0]
        now = self._reader.clock.now_ms()
        if view is None or not view.visible_to(viewer_id, now):
            raise NotFound("Story not found.")
        if view.record.author_id == viewer_id or not view.is_live(now):
            return present(view, now)  # the author's own view, or a highlighted story past its time
        rows = await self._graph.write(
            stmts.VIEW_STORY,
            {"viewer_id": viewer_id, "story_id": story_id, "now": now, "tx": str(uuid_utils.uuid7())},
        )
        if not rows:  # hidden or expired between the read and the write
            raise NotFound("Story not found.")
        try:
            await self._repair_lost()
            await self._cache.record_view(viewer_id, story_id, fresh=bool(rows[0]["fresh"]))
        except CacheUnavailable as exc:
            log.warning("story_views.record_failed", story_id=story_id, error=str(exc))
            if len(self._lost) < LOST_MAX:
                self._lost[(viewer_id, story_id)] = None
        return present(view, now)

    async def _repair_lost(self) -> None:
        """Replay the views whose Redis side an outage lost (raises ``CacheUnavailable`` while it lasts)."""
        if not self._lost:
            return
        lost = list(self._lost)
        await self._cache.repair_views(lost)
        for pair in lost:
            self._lost.pop(pair, None)

    async def seen(self, viewer_id: str, story_ids: Sequence[str]) -> list[bool]:
        """Whether ``viewer_id`` has seen each story: the Redis seen set, or the VIEWED edges when Redis is
        down. One round trip."""
        if not story_ids:
            return []
        try:
            return await self._cache.seen(viewer_id, story_ids)
        except CacheUnavailable:
            rows = await self._graph.read(SEEN_FLAGS, {"viewer_id": viewer_id, "ids": list(story_ids)})
            flags = {r["id"]: bool(r["seen"]) for r in rows}
            return [flags.get(s, False) for s in story_ids]

    async def view_counts(self, stories: Sequence[StoryRecord], viewer_id: str | None) -> list[int | None]:
        """The number of distinct viewers of each story for its author, ``None`` for anyone else. Round trips:
        one ``MGET``; a graph recount and a pipelined ``SET NX`` for missing counters; the graph alone when
        Redis is down."""
        own = [s.id for s in stories if viewer_id is not None and s.author_id == viewer_id]
        counts = dict(zip(own, await self.counts(own), strict=True)) if own else {}
        return [counts.get(s.id) if s.author_id == viewer_id else None for s in stories]

    async def counts(self, story_ids: list[str]) -> list[int]:
        """Distinct viewers of each story of ``story_ids`` (the caller checked that the viewer is the author):
        the Redis counters, recounted from the graph and installed where missing, the graph alone while Redis
        is down."""
        if not story_ids:
            return []
        try:
            await self._repair_lost()
            cached = await self._cache.view_counts(story_ids)
        except CacheUnavailable:
            rows = await self._graph.read(stmts.VIEW_COUNTS, {"ids": story_ids})
            recounted = {r["id"]: int(r["views"]) for r in rows}
            return [recounted.get(s, 0) for s in story_ids]
        missing = [s for s, v in zip(story_ids, cached, strict=True) if v is None]
        held: dict[str, int] = {}
        if missing:
            rows = await self._graph.read(stmts.VIEW_COUNTS, {"ids": missing})
            recounted = {r["id"]: int(r["views"]) for r in rows}
            try:
                held = await self._cache.install_view_counts(recounted)
            except CacheUnavailable:
                held = recounted
        return [v if v is not None else held.get(s, 0) for s, v in zip(story_ids, cached, strict=True)]

    async def viewers(
        self, viewer_id: str | None, story: StoryRecord, first: int | None, after: str | None
    ) -> Page[UserRecord] | None:
        """The users who viewed ``story``, most recent first (keyset ``[at, user id]``), for its author only:
        ``None`` for anyone else. Raises ``BadInput("first"|"after")``."""
        if viewer_id is None or story.author_id != viewer_id:
            return None
        limit = clamp_first(first, VIEWERS_DEFAULT_FIRST)
        before_at, before_id = decode_cursor(after, (int, str)) or (_FIRST_PAGE, "")
        rows = await self._graph.read(
            stmts.VIEWERS_PAGE,
            {"viewer_id": viewer_id, "story_id": story.id, "before_at": before_at, "before_id": before_id,
             "limit": limit + 1},
        )  # fmt: skip
        users = [(int(r["at"]), UserRecord.from_row(r["user"])) for r in rows]
        page = users[:limit]
        return Page(
            items=[(encode_cursor(at, u.id), u) for at, u in page],
            has_next=len(users) > limit,
            has_previous=after is not None,
        )

    async def write_back(self) -> int:
        """Recount the VIEWED edges of the stories whose counters changed into ``Story.view_count`` and put the
        recounts back into Redis; returns how many stories were written (0 while Redis is down). Raises
        ``GraphError`` (the batch is marked dirty again first)."""
        written = 0
        for _ in range(WRITE_BACK_MAX_BATCHES):
            try:
                await self._repair_lost()
                story_ids = await self._cache.pop_dirty_views(WRITE_BACK_BATCH)
            except CacheUnavailable:
                log.warning("story_views.write_back_redis_unavailable")
                break
            if not story_ids:
                break
            try:
                rows = await self._graph.write(stmts.WRITE_BACK_VIEW_COUNTS, {"ids": story_ids})
            except GraphError:
                await self._requeue(story_ids)
                raise
            try:
                await self._cache.install_view_counts({r["id"]: int(r["views"]) for r in rows}, overwrite=True)
            except CacheUnavailable:
                await self._requeue(story_ids)
                break
            written += len(rows)
            if len(story_ids) < WRITE_BACK_BATCH:
                break
        return written

    async def _requeue(self, story_ids: list[str]) -> None:
        try:
            await self._cache.mark_dirty_views(story_ids)
        except CacheUnavailable:
            log.warning("story_views.requeue_failed", stories=len(story_ids))
