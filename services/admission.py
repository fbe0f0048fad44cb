"""Admission of a signed-in request to a rate-limited field: authentication and one hit of the action, with
one state-Redis round trip where two were (``cache.admission``).

:meth:`AdmissionService.admit` verifies the access token (``services.auth``: header, signature, claims;
nothing is counted for a token that fails them), then runs the session's cached revocation state and the
action's GCRA hit as one script. The outcome is the one the two steps give one after the other
(``AuthService.authenticate``, then ``RateLimitService.hit``): ``Unauthenticated`` for a revoked session (the
script counts nothing when the cache already says so; a session whose state was not cached is counted, then
the graph decides, as ``SessionService.state`` does), ``RateLimited`` over the budget. The two steps run
separately instead when revocations made during a Redis outage still wait to be cached, for a subject whose
budget key is not the user's own hash tag, and when Redis is down (the session from the graph, the limit
failing open).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cache.errors import CacheUnavailable

if TYPE_CHECKING:
    from cache.admission import AdmissionCache
    from services.auth import AuthService
    from services.core.principal import Principal
    from services.rate_limits import RateLimitService
    from services.sessions import SessionService


class AdmissionService:
    """``await admit(authorization_header, action)`` over the auth, session and rate-limit services."""

    def __init__(
        self, auth: AuthService, sessions: SessionService, limits: RateLimitService, cache: AdmissionCache
    ) -> None:
        self._auth, self._sessions, self._limits, self._cache = auth, sessions, limits, cache

    async def admit(self, authorization_header: str, action: str) -> Principal:
        """The request's principal, with one hit of ``action`` counted against the user's budget.

        Raises ``Unauthenticated`` (as ``AuthService.authenticate``), ``RateLimited(retry_after)`` over the
        budget, ``KeyError`` for an unknown action; ``GraphError`` only when the graph is needed and down.
        """
        claims = self._auth.claims(authorization_header)
        user_id = claims.user_id
        key, limit = self._limits.budget_key(action, user_id)
        if self._sessions.has_pending_revocations or f"{{{user_id}}}" not in key:
            return await self._one_after_the_other(authorization_header, action)
        try:
            reply = await self._cache.check_and_hit(
                user_id, claims.session_id, claims.version, key, count=limit.count, period_s=limit.period
            )
        except CacheUnavailable:
            return await self._one_after_the_other(authorization_header, action)
        principal = self._auth.principal(
            claims, await self._sessions.state_from_cache(user_id, claims.session_id, reply.cached)
        )
        if reply.decision is not None:
            self._limits.enforce(action, reply.decision)
        return principal

    async def _one_after_the_other(self, authorization_header: str, action: str) -> Principal:
        principal = await self._auth.authenticate(authorization_header)
        await self._limits.hit(action, principal.user_id)
        return principal
