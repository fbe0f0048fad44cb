"""Access tokens (JWT, HS256) and opaque refresh tokens.

Access token: PyJWT, header ``{"alg": "HS256", "typ": "at+jwt"}`` (RFC 9068 §2.1), claims ``iss``, ``aud``,
``iat``, ``exp`` (``iat`` + ``ttl`` s, 15 min by default), ``sub`` (user id), ``sid`` (session id = refresh
family id), ``ver`` (the user's session version when the session started) and ``typ: "access"``.
Verification pins the algorithm list to ``["HS256"]`` (no ``none``, no RS/HS confusion), requires every
claim above, and checks ``iss``, ``aud``, ``exp`` (no leeway) and both ``typ`` markers. A token that passed is
remembered until its ``exp`` (``cachetools.TLRUCache``, the most recent ``VERIFIED_CACHE_SIZE``): the same
string carries the same signature and claims, so only its expiry can change the answer, and a client sends its
token with every request (PyJWT's decode was 3 % of the API's CPU under feed load). Revocation is not a
property of the token: the session check (``services.sessions``) runs on every request all the same.

Refresh token: ``secrets.token_urlsafe(32)`` (256 random bits, 43 characters), never a JWT, so it can never
pass as an access token; the server keeps only its SHA-256 digest.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import jwt
from cachetools import TLRUCache

from services.core.errors import Unauthenticated

ALGORITHM = "HS256"
HEADER_TYPE = "at+jwt"
TOKEN_TYPE = "access"
MAX_TOKEN_LENGTH = 4096  # characters; ours are ~400
REQUIRED_CLAIMS = ["iss", "aud", "iat", "exp", "sub", "sid", "ver", "typ"]
VERIFIED_CACHE_SIZE = 10_000  # tokens (~0.5 KiB each): one per active client of the process


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of an access token: ``user_id`` (sub), ``session_id`` (sid), ``version`` (ver)."""

    user_id: str
    session_id: str
    version: int
    expires_at: float = 0.0  # ``exp``, epoch s


def _until_expiry(_token: str, claims: AccessClaims, _now: float) -> float:
    return claims.expires_at


class AccessTokens:
    """Issues and verifies access tokens with one HMAC ``secret`` (>= 32 bytes), ``issuer``, ``audience``."""

    def __init__(self, secret: str, *, issuer: str, audience: str, ttl: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self.ttl = ttl
        self._verified: TLRUCache[str, AccessClaims] = TLRUCache(
            maxsize=VERIFIED_CACHE_SIZE, ttu=_until_expiry, timer=time.time
        )

    def issue(self, user_id: str, session_id: str, version: int, *, now: int | None = None) -> str:
        """A signed access token valid for ``ttl`` seconds from ``now`` (epoch s, default: the clock)."""
        issued = int(time.time()) if now is None else now
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "exp": issued + self.ttl,
            "sub": user_id,
            "sid": session_id,
            "ver": version,
            "typ": TOKEN_TYPE,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"typ": HEADER_TYPE})

    def verify(self, token: str) -> AccessClaims:
        """Verify signature, algorithm, ``typ``, ``iss``, ``aud`` and ``exp``; raises ``Unauthenticated``."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated("Invalid access token.")
        verified = self._verified.get(token)
        if verified is not None:
            return verified
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("Access token expired.") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated("Invalid access token.") from exc
        sub, sid, ver = claims.get("sub"), claims.get("sid"), claims.get("ver")
        if (
            header.get("typ") != HEADER_TYPE
            or claims.get("typ") != TOKEN_TYPE
            or not isinstance(sub, str)
            or not isinstance(sid, str)
            or not isinstance(ver, int)
            or isinstance(ver, bool)
        ):
            raise Unauthenticated("Invalid access token.")
        verified = AccessClaims(user_id=sub, session_id=sid, version=ver, expires_at=float(claims["exp"]))
        self._verified[token] = verified
        return verified


def new_refresh_token() -> str:
    """A fresh opaque refresh token: ``secrets.token_urlsafe(32)`` (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def refresh_digest(token: str) -> str:
    """The stored form of a refresh token: SHA-256, hex (64 characters)."""
    return hashlib.sha256(token.encode()).hexdigest()
