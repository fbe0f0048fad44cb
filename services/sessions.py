"""Sessions: issuing token pairs, refresh-token rotation, revocation, and the revocation check.

A session is one login (one device). It is a ``(:Session {id, version, revoked})`` node hanging off its
user in the graph, and one refresh-token family in Redis; its id is the access token's ``sid``.

Revocation, precisely:

- ``logout`` revokes ONE session: ``Session.revoked = true`` in the graph (the truth), then the cached flag
  and the refresh family in Redis. The user's other devices keep working.
- ``logout(allSessions: true)`` bumps ``User.session_version``: every token carrying an older ``ver``
  (every session started before) stops working.
- Reusing a rotated refresh token revokes its family, which is the same session: its access tokens die too.

The check (``state``) reads the cache (one ``MGET``) and falls back to one graph read on a miss, caching
the answer for ``AUTH_CACHE_TTL`` s. When Redis is down it reads the graph every time, so authentication
keeps working (slower) and nobody is locked out. A logout made while Redis is down is in the graph at once;
the process that made it replays it into the cache on its first successful Redis call afterwards, and even
if that process died, a stale cache entry outlives the outage by at most ``AUTH_CACHE_TTL`` s.
Refresh tokens exist only in Redis: with Redis down, issuing and rotating them raise ``Unavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
import uuid_utils
from prometheus_client import Counter

from cache.errors import CacheUnavailable
from cache.sessions import Rotation
from graph.statements import accounts as stmts
from services.core import clock
from services.core.errors import Unauthenticated, Unavailable
from services.core.records import UserRecord
from services.core.tokens import new_refresh_token, refresh_digest

if TYPE_CHECKING:
    from cache.notifications import NotificationStreams
    from cache.sessions import CachedState, SessionCache
    from graph.store import GraphStore
    from services.core.tokens import AccessTokens

log = structlog.get_logger(__name__)

AUTH_FALLBACKS = Counter(
    "instagraph_auth_graph_fallback_total", "Session checks answered by the graph because Redis was down"
)
REFRESH_REUSE = Counter("instagraph_refresh_token_reuse_total", "Rotated refresh tokens presented again")
MAX_REFRESH_TOKEN_LENGTH = 512


@dataclass(frozen=True, slots=True)
class TokenPair:
    """``access_token`` (JWT), ``refresh_token`` (opaque), ``expires_in`` (s, of the access token)."""

    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class SessionState:
    """What revocation needs: the user's current ``user_version`` and whether the session is ``revoked``
    (a session that does not exist counts as revoked)."""

    user_version: int
    revoked: bool


def new_session(now_ms: int) -> dict[str, object]:
    """Properties of a new ``(:Session)`` node: ``{id (UUIDv7), revoked: False, created_at (ms)}``."""
    return {"id": str(uuid_utils.uuid7()), "revoked": False, "created_at": now_ms}


class SessionService:
    """Token pairs and revocation over the graph (truth) and ``SessionCache`` (Redis)."""

    def __init__(
        self, graph: GraphStore, cache: SessionCache, tokens: AccessTokens, *, live: NotificationStreams | None = None
    ) -> None:
        self._graph = graph
        self._cache = cache
        self._tokens = tokens
        self._live = live  # tells every API process to close the revoked session's subscriptions
        # Revocations the cache missed during a Redis outage, pushed on the next successful cache call.
        self._pending_sessions: set[tuple[str, str]] = set()
        self._pending_versions: dict[str, int] = {}

    async def open_family(self, user_id: str, session_id: str) -> str:
        """Start the refresh-token family of a session about to be written; returns its refresh token.

        Called BEFORE the graph write, so that a Redis outage fails the sign-in (``Unavailable``) with
        nothing written. Should the graph write then fail, the family is unreachable (its token was never
        handed out, and rotation checks the graph) and expires with its TTL.
        """
        refresh = new_refresh_token()
        try:
            await self._cache.start_family(session_id, user_id, refresh_digest(refresh))
        except CacheUnavailable as exc:
            raise Unavailable("Sign-in is temporarily unavailable; try again shortly.") from exc
        return refresh

    def pair(self, user_id: str, session_id: str, version: int, refresh_token: str) -> TokenPair:
        """The token pair of a session now in the graph: a fresh access token and its refresh token."""
        return TokenPair(self._tokens.issue(user_id, session_id, version), refresh_token, self._tokens.ttl)

    async def rotate(self, refresh_token: str) -> tuple[TokenPair, UserRecord]:
        """Exchange a refresh token for a new pair (the old token dies); returns the pair and the user.

        Raises ``Unauthenticated`` for an unknown, expired or revoked token, and for a reused one (which
        revokes the whole session); ``Unavailable`` when Redis is down.
        """
        if not refresh_token or len(refresh_token) > MAX_REFRESH_TOKEN_LENGTH:
            raise Unauthenticated("Invalid refresh token.")
        new_token = new_refresh_token()
        try:
            result = await self._cache.rotate(refresh_digest(refresh_token), refresh_digest(new_token))
        except CacheUnavailable as exc:
            raise Unavailable("Token refresh is temporarily unavailable; try again shortly.") from exc
        if result.status is Rotation.REUSED:
            REFRESH_REUSE.inc()
            log.warning("auth.refresh_token_reused", user_id=result.user_id, session_id=result.family_id)
            await self.revoke(result.user_id, result.family_id)
            raise Unauthenticated("Refresh token reuse detected; the session has been revoked.")
        if result.status is not Rotation.OK:
            raise Unauthenticated("Invalid refresh token.")
        rows = await self._graph.read(
            stmts.SESSION_WITH_USER, {"user_id": result.user_id, "session_id": result.family_id}
        )
        row = rows[0] if rows else None
        if row is None or row["revoked"] or row["session_version"] != row["user_version"]:
            await self._forget_family(result.family_id)
            raise Unauthenticated("Invalid refresh token.")
        version = int(row["user_version"])
        access = self._tokens.issue(result.user_id, result.family_id, version)
        return TokenPair(access, new_token, self._tokens.ttl), UserRecord.from_row(row["user"])

    async def state(self, user_id: str, session_id: str) -> SessionState:
        """The session's revocation state: cache first, graph on a miss or when Redis is down.

        Raises ``GraphError`` only when the graph is down too.
        """
        try:
            if self.has_pending_revocations:
                await self._replay()
            cached = await self._cache.cached_state(user_id, session_id)
        except CacheUnavailable:
            AUTH_FALLBACKS.inc()
            log.warning("auth.cache_unavailable", user_id=user_id)
            return await self._graph_state(user_id, session_id)
        return await self.state_from_cache(user_id, session_id, cached)

    @property
    def has_pending_revocations(self) -> bool:
        """Whether revocations made while Redis was down still wait to be pushed into the cache (until
        then the cached state may be stale: :meth:`state` pushes them first)."""
        return bool(self._pending_sessions or self._pending_versions)

    async def state_from_cache(self, user_id: str, session_id: str, cached: CachedState) -> SessionState:
        """:meth:`state` after its cache read (``cached``, read with no revocation pending): the cached state,
        or the graph's on a miss (then cached). Raises ``GraphError`` when the graph is down."""
        if cached.user_version is not None and cached.revoked is not None:
            return SessionState(cached.user_version, cached.revoked)
        state = await self._graph_state(user_id, session_id)
        try:
            await self._cache.fill_state(user_id, session_id, state.user_version, state.revoked)
        except CacheUnavailable:
            AUTH_FALLBACKS.inc()
        return state

    async def revoke(self, user_id: str, session_id: str) -> None:
        """Revoke one session: graph first (the truth), then cache and refresh family (best effort)."""
        await self._graph.write(
            stmts.REVOKE_SESSION, {"user_id": user_id, "session_id": session_id, "now": clock.now_ms()}
        )
        try:
            await self._cache.revoke_session(user_id, session_id)
        except CacheUnavailable:
            self._pending_sessions.add((user_id, session_id))
            log.warning("auth.revoke_cache_unavailable", user_id=user_id, session_id=session_id)
        await self._close_live(user_id, session_id=session_id)

    async def revoke_all(self, user_id: str) -> int:
        """Revoke every session of a user by bumping ``User.session_version``; returns the new version."""
        rows = await self._graph.write(stmts.REVOKE_ALL_SESSIONS, {"user_id": user_id})
        version = int(rows[0]["version"]) if rows else 0
        try:
            await self._cache.set_user_version(user_id, version)
        except CacheUnavailable:
            self._pending_versions[user_id] = version
            log.warning("auth.revoke_all_cache_unavailable", user_id=user_id)
        await self._close_live(user_id, version=version)
        return version

    async def _close_live(self, user_id: str, *, session_id: str | None = None, version: int | None = None) -> None:
        """Close the revoked sessions' live subscriptions in every API process (best effort: with Redis down
        the sockets stay open until they reconnect, when ``connection_init`` authenticates again)."""
        if self._live is None:
            return
        try:
            await self._live.revoke(user_id, session_id=session_id, version=version)
        except CacheUnavailable:
            log.warning("auth.revoke_live_unavailable", user_id=user_id)

    async def _replay(self) -> None:
        """Push revocations made while Redis was down into the cache; raises ``CacheUnavailable``."""
        for user_id, session_id in list(self._pending_sessions):
            await self._cache.revoke_session(user_id, session_id)
            self._pending_sessions.discard((user_id, session_id))
        for user_id, version in list(self._pending_versions.items()):
            await self._cache.set_user_version(user_id, version)
            self._pending_versions.pop(user_id, None)
        log.info("auth.revocations_replayed")

    async def _graph_state(self, user_id: str, session_id: str) -> SessionState:
        rows = await self._graph.read(stmts.SESSION_STATE, {"user_id": user_id, "session_id": session_id})
        if not rows:
            return SessionState(user_version=-1, revoked=True)
        row = rows[0]
        return SessionState(
            user_version=int(row["user_version"]), revoked=bool(row["revoked"]) or not row["found"]
        )

    async def _forget_family(self, family_id: str) -> None:
        try:
            await self._cache.revoke_family(family_id)
        except CacheUnavailable:
            log.warning("auth.revoke_family_cache_unavailable", session_id=family_id)
