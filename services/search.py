"""Search use cases: ``search_users`` and ``search_posts``.

The dual-source pattern (seed "Search & Discovery"): the search index (``search/``, fed by the ``indexer``
worker about a second behind the graph) says which ids match; the graph decides, at read time, what the viewer
gets. So a result is never shown that the graph would hide: users who block the viewer are left out (private
accounts are found, their content stays hidden), posts must be PUBLISHED and visible to the viewer (a private
author's post is in the index but reaches only their followers). Each round is one index query and one graph
statement; posts are over-fetched (``first + 1 + max(3, first // 4)``) and a page takes at most
``MAX_ROUNDS`` rounds, so its cost does not grow with what is filtered out.

Users: typo-tolerant and prefix-aware (the index's rules), boosted by follower count. Posts: every word of
``query`` (English stemming), the ``hashtag`` (case-folded like the caption parser), the ``near`` circle, any
combination; newest first with keyset cursors ``[created_at_ms, post_id]``.

Search backend down: ``search_users`` answers from the graph instead (the exact username first, then
usernames starting with the query, by follower count); ``search_posts`` raises ``Unavailable``
(``SERVICE_UNAVAILABLE``); both count in ``instagraph_search_backend_down_total{kind}``. The index catches up
from Kafka once it is back (the indexer leaves its events uncommitted meanwhile).

Rate limit: ``search``, 20 a minute for both together, per user (anonymous: per client IP).

Errors: ``BadInput`` naming the field (``query``, ``hashtag``, ``near.latitude``, ``near.longitude``,
``near.radiusKm``, ``first``, ``after``); ``RateLimited``; ``Unavailable`` (posts, backend down); graph errors
propagate.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter

from graph.statements import search as stmts
from search.documents import GeoFilter, PostQuery, post_key
from search.errors import SearchUnavailable
from services.core.captions import normalize_hashtag
from services.core.errors import BadInput, Unavailable
from services.core.locations import check_near
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import PostHydration, UserRecord
from services.post_reads import HydratedPosts, hydrate_rows

if TYPE_CHECKING:
    from graph.store import GraphStore
    from search.documents import PostHit, PostKey
    from search.index import SearchIndex
    from services.core.locations import NearSpec
    from services.core.records import PostRecord
    from services.like_counts import LikeCountService
    from services.rate_limits import RateLimitService
    from services.users import UserService

log = structlog.get_logger(__name__)

QUERY_MAX_CHARS = 100
USERS_DEFAULT_FIRST, POSTS_DEFAULT_FIRST = 10, 20
MAX_ROUNDS = 3
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USERNAME_PREFIX = re.compile(r"^[a-z0-9._]{1,30}$")

BACKEND_DOWN = Counter(
    "instagraph_search_backend_down",
    "Searches that found the search backend down (users: answered from the graph; posts: SERVICE_UNAVAILABLE)",
    ["kind"],
)


def _clean_query(raw: str | None, field: str, *, required: bool) -> str | None:
    text = (raw or "").strip()
    if not text:
        if required:
            raise BadInput(field, "Type something to search for.")
        return None
    if len(text) > QUERY_MAX_CHARS:
        raise BadInput(field, f"A search is at most {QUERY_MAX_CHARS} characters.")
    if _CONTROL.search(text):
        raise BadInput(field, "A search must not contain control characters.")
    return text


class SearchService:
    """Searches over the ``index`` (which ids match) and the ``graph`` (what the viewer may see); like counts
    of result pages from ``counts``; the ``search`` budget in ``rate_limits``."""

    def __init__(
        self, graph: GraphStore, index: SearchIndex, rate_limits: RateLimitService, counts: LikeCountService,
        users: UserService,
    ) -> None:  # fmt: skip
        self._graph, self._index, self._rate_limits, self._counts = graph, index, rate_limits, counts
        self._users = users

    async def _hit_budget(self, viewer_id: str | None, client_ip: str) -> None:
        await self._rate_limits.hit("search", viewer_id if viewer_id is not None else f"ip:{client_ip}")

    async def search_users(
        self, viewer_id: str | None, query: str, first: int | None, *, client_ip: str = "unknown"
    ) -> list[UserRecord]:
        """Users matching ``query`` best first, at most ``first`` (1..100, default 10), without those who
        block ``viewer_id`` (``None``: anonymous). Raises ``BadInput("query" | "first")``, ``RateLimited``."""
        limit = clamp_first(first, USERS_DEFAULT_FIRST)
        text = _clean_query(query, "query", required=True)
        assert text is not None
        await self._hit_budget(viewer_id, client_ip)
        try:
            ids = await self._index.search_users(text, limit * 2 + 5)
        except SearchUnavailable as exc:
            BACKEND_DOWN.labels("users").inc()
            log.warning("search.users_fallback", error=str(exc))
            return await self._users_by_username(text, viewer_id, limit)
        if not ids:
            return []
        users = await self._users.users_by_ids(ids, viewer_id)  # without those who block the viewer
        return [user for user in users if user is not None][:limit]

    async def _users_by_username(self, text: str, viewer_id: str | None, limit: int) -> list[UserRecord]:
        prefix = text.lstrip("@").lower()
        if not _USERNAME_PREFIX.fullmatch(prefix):
            return []
        rows = await self._graph.read(
            stmts.USERS_BY_USERNAME_PREFIX, {"prefix": prefix, "viewer_id": viewer_id or "", "limit": limit}
        )
        return [UserRecord.from_row(row["user"]) for row in rows]

    async def search_posts(
        self,
        viewer_id: str | None,
        *,
        query: str | None = None,
        hashtag: str | None = None,
        near: NearSpec | None = None,
        first: int | None = None,
        after: str | None = None,
        client_ip: str = "unknown",
    ) -> HydratedPosts:
        """PUBLISHED posts ``viewer_id`` may see that match every given criterion (at least one of ``query``,
        ``hashtag``, ``near``), newest first, ``first`` 1..100 (default 20) after the cursor ``after``; with
        their hydration (posts, authors, the viewer's likes, like counts). Errors: see the module docstring."""
        limit = clamp_first(first, POSTS_DEFAULT_FIRST)
        text = _clean_query(query, "query", required=False)
        tag = None
        if hashtag is not None:
            tag = normalize_hashtag(hashtag)
            if tag is None:
                raise BadInput("hashtag", "hashtag must be one hashtag, e.g. sunset or #sunset.")
        circle = check_near(near) if near is not None else None
        if text is None and tag is None and circle is None:
            raise BadInput("query", "Search by query, hashtag or near (at least one).")
        cursor = decode_cursor(after, (int, str))
        await self._hit_budget(viewer_id, client_ip)
        geo = None if circle is None else GeoFilter(circle.latitude, circle.longitude, circle.radius_km)
        before: PostKey | None = post_key(cursor[0], cursor[1]) if cursor is not None else None
        fetch = limit + 1 + max(3, limit // 4)
        kept: list[PostRecord] = []
        hydration = PostHydration()
        exhausted = False
        for _ in range(MAX_ROUNDS):
            hits = await self._matching(PostQuery(text, tag, geo, before, fetch))
            exhausted = hits[1]
            if not hits[0]:
                break
            rows = await self._graph.read(
                stmts.SEARCH_POSTS, {"ids": [h.id for h in hits[0]], "viewer_id": viewer_id or ""}
            )
            records, found = hydrate_rows(rows)
            _merge(hydration, found)
            kept += [records[h.id] for h in hits[0] if h.id in records]
            if len(kept) > limit or exhausted:
                break
            before = hits[0][-1].key
        page = kept[:limit]
        await self._add_like_counts(hydration, [r.id for r in page])
        return HydratedPosts(
            Page(
                items=[(encode_cursor(r.created_at, r.id), r) for r in page],
                has_next=len(kept) > limit or not exhausted,
                has_previous=after is not None,
            ),
            hydration,
        )

    async def _matching(self, query: PostQuery) -> tuple[list[PostHit], bool]:
        try:
            hits = await self._index.search_posts(query)
        except SearchUnavailable as exc:
            BACKEND_DOWN.labels("posts").inc()
            log.warning("search.posts_unavailable", error=str(exc))
            raise Unavailable("Search is unavailable right now; try again shortly.") from exc
        return hits.hits, hits.exhausted

    async def _add_like_counts(self, hydration: PostHydration, post_ids: list[str]) -> None:
        if post_ids:
            counts = await self._counts.counts(post_ids)
            hydration.like_counts.update({p: n for p, n in zip(post_ids, counts, strict=True) if n is not None})


def _merge(into: PostHydration, found: PostHydration) -> None:
    into.posts.update(found.posts)
    into.authors.update(found.authors)
    into.viewer_likes.update(found.viewer_likes)
