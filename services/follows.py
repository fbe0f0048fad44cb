"""Follow use cases: ``follow_user``, ``unfollow_user``, ``approve_follow_request``,
``reject_follow_request``, ``remove_follower``; and the follow graph's reads: followers, following, follow
requests, viewer flags, mutual followers.

Flow of a follow (seed: "How Instagram's distributed system handles a simple follow action"): validate
(not self -> ``BadInput``; rate limit 30/min per user -> ``RateLimited``) -> ONE Cypher statement
(``graph.statements.follows``) that checks blocks and existence, creates the FOLLOWS edge (public account)
or a REQUESTED edge (private account), moves both counters only when the edge is new, and writes the
Outbox node -> the outbox relay publishes the event. Following twice is a no-op that answers FOLLOWING.

Events (all keyed by the followee, so one account's follow events stay in order; ``data`` is
``{follower_id, followee_id}``): ``follow.created`` (actor: follower), ``follow.requested`` (actor:
follower), ``follow.accepted`` (actor: the private account approving), ``follow.removed`` (actor: whoever
unfollowed, withdrew or removed).

Reads: Relay keyset pages, newest first by ``(edge created_at DESC, user id DESC)``; the cursor is
``encode_cursor(created_at_ms, user_id)``. A private account's followers/following are an empty page
(``total_count`` 0) for anyone but itself and its approved followers, as are the lists of a user blocked
either way (``graph.statements.visibility``). ``total_count`` of a visible page is the maintained counter.
Followers and following pages are O(page): read from per-user Redis sorted sets and verified in the graph
(``services.edge_pages``; the graph's own keyset statements when Redis is down). Every read is ONE graph
round trip, also for a batch of users (``followers_pages``, ``following_pages``,
``relationships``, ``mutual_followers``: what the DataLoaders call, so that a nested list of users costs the
same round trips per level whatever the number of parents).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cache.errors import CacheUnavailable
from events.envelope import Event
from graph.statements import follows as stmts
from services.core import clock
from services.core.errors import BadInput, Forbidden, NotFound
from services.core.pagination import Page, clamp_first, decode_cursor, encode_cursor
from services.core.records import Relationship, UserRecord
from services.edge_pages import EdgeKind

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cache.feed import FeedCache
    from cache.social import SocialCache
    from graph.store import GraphStore
    from services.edge_pages import EdgePages
    from services.rate_limits import RateLimitService

FIELD = "userId"  # the input field every follow mutation names in BAD_USER_INPUT
NOT_FOUND = "User not found."  # unknown users and users who block the viewer get exactly this error
DEFAULT_PAGE = 20
DEFAULT_MUTUALS = 3
MUTUALS_CACHED = 100  # mutual followers ranked and cached per (viewer, user)


def _edge_user(item: dict[str, Any], _owner_id: str) -> UserRecord:
    return UserRecord.from_row(item)


#: The followers/following indexes (``cache.edge_index``), verified per page by the graph.
FOLLOWERS = EdgeKind("followers", stmts.FOLLOWER_EDGES, stmts.FOLLOWER_PAGE_USERS, _edge_user)
FOLLOWING = EdgeKind("following", stmts.FOLLOWEE_EDGES, stmts.FOLLOWEE_PAGE_USERS, _edge_user)


def _by_followers(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(users, key=lambda u: (-int(u.get("follower_count") or 0), u["username"]))


def _page(items: list[dict[str, Any]], first: int, total: int, has_previous: bool) -> Page[UserRecord]:
    ordered = sorted(items, key=lambda u: (u["edge_created_at"], u["id"]), reverse=True)
    page: Page[UserRecord] = Page(has_next=len(ordered) > first, has_previous=has_previous, total_count=total)
    page.items = [
        (encode_cursor(u["edge_created_at"], u["id"]), UserRecord.from_row(u)) for u in ordered[:first]
    ]
    return page


class FollowStatus(StrEnum):
    """Where a follower -> followee pair stands after a mutation."""

    FOLLOWING = "FOLLOWING"
    REQUESTED = "REQUESTED"
    NOT_FOLLOWING = "NOT_FOLLOWING"


@dataclass(frozen=True, slots=True)
class FollowResult:
    """``user``: the other user, as stored after the write (fresh counters); ``status``: the pair's state;
    ``changed``: whether the statement wrote anything."""

    user: UserRecord
    status: FollowStatus
    changed: bool


def _event(type_: str, *, actor_id: str, follower_id: str, followee_id: str) -> dict[str, Any]:
    data = {"follower_id": follower_id, "followee_id": followee_id}
    return Event.new(type_, actor_id=actor_id, subject_id=followee_id, data=data).outbox_props()


def _other(viewer_id: str, other_id: str, verb: str) -> None:
    if viewer_id == other_id:
        raise BadInput(FIELD, f"You cannot {verb} yourself.")


class FollowService:
    """The follow graph's use cases: writes (one graph statement each, plus the rate limit) and reads
    (follower/following pages, pending requests, viewer flags, mutual followers)."""

    def __init__(
        self, graph: GraphStore, rate_limits: RateLimitService, index: EdgePages | None = None,
        social: SocialCache | None = None, feed: FeedCache | None = None,
    ) -> None:  # fmt: skip
        self._graph = graph
        self._rate_limits = rate_limits
        self.index = index
        self.social = social
        self.feed = feed

    async def follow_user(self, viewer_id: str, target_id: str) -> FollowResult:
        """Follow ``target_id``, or request to when the account is private; idempotent.

        Returns status FOLLOWING (public account, or already following) or REQUESTED (private account).
        Raises ``BadInput("userId")`` for oneself, ``RateLimited`` over 30 follows a minute, ``NotFound``
        for an unknown user and, exactly alike, for one who blocks the viewer; ``Forbidden`` when the viewer
        blocks the target.
        """
        _other(viewer_id, target_id, "follow")
        await self._rate_limits.hit("follow", viewer_id)
        now = clock.now_ms()
        params = {
            "viewer_id": viewer_id,
            "target_id": target_id,
            "now": now,
            "follow_outbox": _event(
                "follow.created", actor_id=viewer_id, follower_id=viewer_id, followee_id=target_id
            ),
            "request_outbox": _event(
                "follow.requested", actor_id=viewer_id, follower_id=viewer_id, followee_id=target_id
            ),
        }
        row = await self._one(stmts.FOLLOW, params)
        if row["status"] == "HIDDEN":
            raise NotFound(NOT_FOUND)
        if row["status"] == "BLOCKED":
            raise Forbidden("You block this user; unblock them to follow them.")
        if row["changed"] and row["status"] == "FOLLOWING" and self.index is not None:
            await self.index.added(FOLLOWERS, target_id, viewer_id, now)
            await self.index.added(FOLLOWING, viewer_id, target_id, now)
        if row["changed"]:
            await self._follows_changed(viewer_id)
        return FollowResult(
            UserRecord.from_row(row["user"]), FollowStatus(row["status"]), bool(row["changed"])
        )

    async def unfollow_user(self, viewer_id: str, target_id: str) -> FollowResult:
        """Stop following ``target_id`` and withdraw a pending request; idempotent (status NOT_FOLLOWING).

        Raises ``BadInput("userId")`` for oneself, ``NotFound`` for an unknown user or one who blocks the
        viewer.
        """
        _other(viewer_id, target_id, "unfollow")
        outbox = _event("follow.removed", actor_id=viewer_id, follower_id=viewer_id, followee_id=target_id)
        return await self._drop(
            stmts.UNFOLLOW, {"viewer_id": viewer_id, "target_id": target_id, "outbox": outbox}, viewer_id
        )

    async def approve_follow_request(self, viewer_id: str, requester_id: str) -> FollowResult:
        """The viewer (a private account) accepts ``requester_id``'s pending request: they now follow.

        Returns status FOLLOWING (the requester -> viewer pair; also for a retried approval). Raises
        ``BadInput("userId")`` for oneself, ``NotFound`` for an unknown user or one who blocks the viewer
        (the same error) or when there is no request.
        """
        _other(viewer_id, requester_id, "approve")
        now = clock.now_ms()
        params = {
            "viewer_id": viewer_id,
            "requester_id": requester_id,
            "now": now,
            "outbox": _event(
                "follow.accepted", actor_id=viewer_id, follower_id=requester_id, followee_id=viewer_id
            ),
        }
        row = await self._one(stmts.APPROVE_REQUEST, params)
        if row["hidden"]:
            raise NotFound(NOT_FOUND)
        if row["status"] == "NONE":
            raise NotFound("No pending follow request from this user.")
        if row["changed"] and self.index is not None:
            await self.index.added(FOLLOWERS, viewer_id, requester_id, now)
            await self.index.added(FOLLOWING, requester_id, viewer_id, now)
        if row["changed"]:
            await self._follows_changed(requester_id)
        return FollowResult(UserRecord.from_row(row["user"]), FollowStatus.FOLLOWING, bool(row["changed"]))

    async def reject_follow_request(self, viewer_id: str, requester_id: str) -> FollowResult:
        """The viewer declines ``requester_id``'s pending request (``follow.removed`` when there was one, so
        that the request's notification goes); idempotent.

        Returns the requester -> viewer status: NOT_FOLLOWING, or FOLLOWING when they already follow.
        Raises ``BadInput("userId")`` for oneself, ``NotFound`` for an unknown user or one who blocks the
        viewer.
        """
        _other(viewer_id, requester_id, "reject")
        outbox = _event("follow.removed", actor_id=viewer_id, follower_id=requester_id, followee_id=viewer_id)
        row = await self._one(
            stmts.REJECT_REQUEST, {"viewer_id": viewer_id, "requester_id": requester_id, "outbox": outbox}
        )
        if row["hidden"]:
            raise NotFound(NOT_FOUND)
        return FollowResult(
            UserRecord.from_row(row["user"]), FollowStatus(row["status"]), row["rejected"] > 0
        )

    async def remove_follower(self, viewer_id: str, follower_id: str) -> FollowResult:
        """Remove ``follower_id`` from the viewer's followers (and drop their pending request); idempotent.

        Returns status NOT_FOLLOWING (the follower -> viewer pair). Raises ``BadInput("userId")`` for
        oneself, ``NotFound`` for an unknown user or one who blocks the viewer.
        """
        _other(viewer_id, follower_id, "remove")
        outbox = _event("follow.removed", actor_id=viewer_id, follower_id=follower_id, followee_id=viewer_id)
        params = {"viewer_id": viewer_id, "follower_id": follower_id, "outbox": outbox}
        return await self._drop(stmts.REMOVE_FOLLOWER, params, follower_id)

    async def _drop(self, stmt: Any, params: dict[str, Any], follower_id: str) -> FollowResult:
        """Run ``UNFOLLOW`` / ``REMOVE_FOLLOWER``: NOT_FOLLOWING, or ``NotFound`` when the other user is
        unknown or blocks the viewer."""
        row = await self._one(stmt, params)
        if row["hidden"]:
            raise NotFound(NOT_FOUND)
        changed = row["follows_deleted"] + row["requests_deleted"] > 0
        if changed:
            await self._follows_changed(follower_id)
        return FollowResult(UserRecord.from_row(row["user"]), FollowStatus.NOT_FOLLOWING, changed)

    async def _one(self, stmt: Any, params: dict[str, Any]) -> dict[str, Any]:
        rows = await self._graph.write(stmt, params)
        if not rows:
            raise NotFound(NOT_FOUND)
        return rows[0]

    # -- reads ------------------------------------------------------------------------------------------

    async def followers(
        self, viewer_id: str | None, user_id: str, first: int | None, after: str | None
    ) -> Page[UserRecord]:
        """Who follows ``user_id``, newest first (``first`` 1–100, default 20; ``after`` a cursor).

        Empty page when not visible to the viewer or ``user_id`` is unknown. Raises ``BadInput`` (``first``,
        ``after``) for a bad page size or cursor.
        """
        return (await self.followers_pages(viewer_id, [user_id], first, after))[user_id]

    async def following(
        self, viewer_id: str | None, user_id: str, first: int | None, after: str | None
    ) -> Page[UserRecord]:
        """Whom ``user_id`` follows, newest first; same rules and errors as :meth:`followers`."""
        return (await self.following_pages(viewer_id, [user_id], first, after))[user_id]

    async def followers_pages(
        self, viewer_id: str | None, user_ids: Iterable[str], first: int | None, after: str | None
    ) -> dict[str, Page[UserRecord]]:
        """:meth:`followers` of each of ``user_ids`` (same ``first``/``after``), ONE round trip for the
        batch (a DataLoader's); every id gets a page (empty when unknown or hidden)."""
        return await self._connections(stmts.FOLLOWERS_PAGE, viewer_id, user_ids, first, after, FOLLOWERS)

    async def following_pages(
        self, viewer_id: str | None, user_ids: Iterable[str], first: int | None, after: str | None
    ) -> dict[str, Page[UserRecord]]:
        """:meth:`following` of each of ``user_ids``, one round trip (see :meth:`followers_pages`)."""
        return await self._connections(stmts.FOLLOWING_PAGE, viewer_id, user_ids, first, after, FOLLOWING)

    async def follow_requests(self, viewer_id: str, first: int | None, after: str | None) -> Page[UserRecord]:
        """Pending requests to the viewer's (private) account, newest first; ``total_count`` counts them all.
        Raises ``BadInput`` (``first``, ``after``)."""
        size = clamp_first(first, DEFAULT_PAGE)
        after_at, after_id = decode_cursor(after, (int, str)) or (None, None)
        params = {"viewer_id": viewer_id, "after_at": after_at, "after_id": after_id, "limit": size + 1}
        rows = await self._graph.read(stmts.FOLLOW_REQUESTS_PAGE, params)
        if not rows:
            return Page(total_count=0)
        return _page(rows[0]["users"], size, int(rows[0]["total"]), after is not None)

    async def relationships(self, viewer_id: str | None, user_ids: Iterable[str]) -> dict[str, Relationship]:
        """``user_id -> Relationship`` (viewer flags) for each id, one round trip for the whole batch.

        Anonymous viewers, the viewer themself and unknown ids get the all-False ``Relationship()``.
        """
        ids = list(dict.fromkeys(user_ids))
        result = {uid: Relationship() for uid in ids}
        others = [uid for uid in ids if uid != viewer_id]
        if viewer_id is None or not others:
            return result
        rows = await self._graph.read(stmts.RELATIONSHIPS, {"viewer_id": viewer_id, "ids": others})
        for r in rows:
            result[r["id"]] = Relationship(
                viewer_follows=bool(r["viewer_follows"]),
                follows_viewer=bool(r["follows_viewer"]),
                viewer_has_requested=bool(r["viewer_has_requested"]),
                viewer_blocks=bool(r["viewer_blocks"]),
            )
        return result

    async def mutual_followers(
        self, viewer_id: str | None, user_ids: Iterable[str], first: int | None
    ) -> dict[str, Page[UserRecord]]:
        """``user_id -> Page`` of the people the viewer follows who follow that user, most-followed first
        (at most ``first``, 1–100, default 3; ``total_count`` counts them all). Empty for an anonymous
        viewer. Raises ``BadInput("first")``.

        The ranking (ids and total, at most ``MUTUALS_CACHED``) is cached per viewer (``cache.social``:
        dropped when the viewer's follows change, else a short TTL); the page's people are checked again in
        the graph on every read (``MUTUALS_CHECK``: still followed, still following, not blocking the viewer),
        so a cached entry may miss a new mutual follower but never lists one that is gone. A batch costs one
        ``HMGET`` and ONE graph round trip: the check when every user of the batch is cached, else the
        expansion for the whole batch (which refreshes the cache)."""
        size = clamp_first(first, DEFAULT_MUTUALS)
        ids = list(dict.fromkeys(user_ids))
        result: dict[str, Page[UserRecord]] = {uid: Page(total_count=0) for uid in ids}
        if viewer_id is None or not ids:
            return result
        cached = await self._cached_mutuals(viewer_id, ids)
        if len(cached) < len(ids):  # one round trip either way: expand them all, or check the cached ones
            cached = {}
        users: dict[str, list[dict[str, Any]]] = {}
        totals: dict[str, int] = {uid: int(entry["total"]) for uid, entry in cached.items()}
        if cached:
            pairs = [{"user_id": uid, "ids": entry["ids"][: size + 5]} for uid, entry in cached.items()]
            for r in await self._graph.read(stmts.MUTUALS_CHECK, {"viewer_id": viewer_id, "pairs": pairs}):
                users[r["id"]] = [u for u in r["users"] if u is not None]
        missing = [uid for uid in ids if uid not in cached]
        if missing:
            rows = await self._graph.read(
                stmts.MUTUAL_FOLLOWERS, {"viewer_id": viewer_id, "ids": missing, "first": MUTUALS_CACHED}
            )
            fresh: dict[str, dict[str, Any]] = {}
            for r in rows:
                ranked = _by_followers(list(r["users"]))
                users[r["id"]], totals[r["id"]] = ranked, int(r["total"])
                fresh[r["id"]] = {"total": int(r["total"]), "ids": [u["id"] for u in ranked]}
            await self._store_mutuals(viewer_id, fresh)
        for uid in ids:
            if uid not in totals:
                continue
            ranked = _by_followers(users.get(uid, []))[:size]
            total = max(totals[uid], len(ranked))
            page: Page[UserRecord] = Page(has_next=total > len(ranked), total_count=total)
            page.items = [
                (encode_cursor(int(u.get("follower_count") or 0), u["id"]), UserRecord.from_row(u)) for u in ranked
            ]
            result[uid] = page
        return result

    async def _cached_mutuals(self, viewer_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        if self.social is None:
            return {}
        try:
            return await self.social.mutuals(viewer_id, ids)
        except CacheUnavailable:
            return {}

    async def _store_mutuals(self, viewer_id: str, entries: dict[str, dict[str, Any]]) -> None:
        if self.social is not None:
            try:
                await self.social.store_mutuals(viewer_id, entries)
            except CacheUnavailable:
                pass

    async def _follows_changed(self, *user_ids: str) -> None:
        """The follows of ``user_ids`` changed: drop their cached feed contexts, suggestions and mutual
        followers (best effort; the fan-out worker drops them again from the event)."""
        try:
            if self.feed is not None:
                await self.feed.drop_contexts(list(user_ids))
            if self.social is not None:
                await self.social.drop(*user_ids)
        except CacheUnavailable:
            pass

    async def _connections(
        self, stmt: Any, viewer_id: str | None, user_ids: Iterable[str], first: int | None, after: str | None,
        kind: EdgeKind[UserRecord],
    ) -> dict[str, Page[UserRecord]]:  # fmt: skip
        size = clamp_first(first, DEFAULT_PAGE)
        cursor = decode_cursor(after, (int, str))
        after_at, after_id = cursor or (None, None)
        ids = list(dict.fromkeys(user_ids))
        pages: dict[str, Page[UserRecord]] = {uid: Page(total_count=0) for uid in ids}
        if not ids:
            return pages
        if self.index is not None:  # O(page) from the edge indexes; None: Redis down, the graph below
            indexed = await self.index.pages(kind, viewer_id, ids, size, cursor, after is not None)
            if indexed is not None:
                return indexed
        params = {
            "viewer_id": viewer_id,
            "user_ids": ids,
            "after_at": after_at,
            "after_id": after_id,
            "limit": size + 1,
        }
        for row in await self._graph.read(stmt, params):
            if row["visible"]:
                pages[row["id"]] = _page(row["users"], size, int(row["total"]), after is not None)
        return pages
