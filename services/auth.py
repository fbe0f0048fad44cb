"""Authentication of requests: ``Authorization: Bearer <access token>`` -> ``Principal``.

Used by the GraphQL context for HTTP requests and by the WebSocket ``connection_init`` handler
(``server/app.py``), so both paths apply the same checks: header shape, JWT verification
(``services.core.tokens.AccessTokens.verify``), then the session's revocation state (``services.sessions``),
which works from the graph alone when Redis is down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.core.errors import Unauthenticated
from services.core.principal import Principal

if TYPE_CHECKING:
    from services.core.tokens import AccessClaims, AccessTokens
    from services.sessions import SessionService, SessionState


class AuthService:
    """Turns an ``Authorization`` header into the request's ``Principal``."""

    def __init__(self, tokens: AccessTokens, sessions: SessionService) -> None:
        self._tokens = tokens
        self._sessions = sessions

    async def authenticate(self, authorization_header: str) -> Principal:
        """``"Bearer <jwt>"`` (scheme case-insensitive) -> ``Principal(user_id, session_id, version)``.

        Raises ``Unauthenticated`` for a malformed header, a bad signature or algorithm, a wrong ``typ``,
        ``iss`` or ``aud``, an expired token, a refresh token, and a revoked session (logout, reuse of a
        rotated refresh token, or a ``session_version`` bump).
        """
        claims = self.claims(authorization_header)
        return self.principal(claims, await self._sessions.state(claims.user_id, claims.session_id))

    def claims(self, authorization_header: str) -> AccessClaims:
        """The verified claims of the header's access token, before any session check; raises
        ``Unauthenticated`` as :meth:`authenticate` does for the header and the token."""
        scheme, _, token = (authorization_header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise Unauthenticated("Malformed Authorization header; expected 'Bearer <token>'.")
        return self._tokens.verify(token)

    @staticmethod
    def principal(claims: AccessClaims, state: SessionState) -> Principal:
        """The principal of ``claims`` whose session is in ``state``; raises ``Unauthenticated`` when it is
        revoked or the user's ``session_version`` moved past the token's."""
        if state.revoked or state.user_version != claims.version:
            raise Unauthenticated("Session revoked; sign in again.")
        return Principal(user_id=claims.user_id, session_id=claims.session_id, session_version=claims.version)
