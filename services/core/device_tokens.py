"""Device tokens: proof that this client signed in to an account successfully before.

``register`` and ``login`` hand one out (``AuthPayload.deviceToken``); a client keeps it and sends it with
later logins (``LoginInput.deviceToken``). A login that carries a valid device token of the account it names
draws on that device's own failure budget instead of the account-wide one, so a stranger guessing an
account's password from many addresses can lock out new devices for a while, but never a device the owner
signed in from before. Source: OWASP, "Slow Down Online Guessing Attacks with Device Cookies".

Format: a JWT (PyJWT, HS256), header ``typ: "device+jwt"``, claims ``iss``, ``aud`` (``<audience>:device``),
``iat``, ``exp`` (``iat`` + ``ttl`` s, 90 days by default), ``sub`` (user id), ``jti`` (the device id, 128
random bits) and ``typ: "device"``. The signing key is derived from the JWT secret for this one purpose
(HMAC-SHA256 of a fixed label), so a device token never verifies as an access token, nor the reverse.
A device token is no credential: it signs nobody in, it only chooses which failure budget a login uses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
HEADER_TYPE = "device+jwt"
TOKEN_TYPE = "device"
DEFAULT_TTL_S = 90 * 24 * 3600
MAX_TOKEN_LENGTH = 2048  # characters; ours are ~300
_REQUIRED = ["iss", "aud", "iat", "exp", "sub", "jti", "typ"]
_KEY_LABEL = b"instagraph device tokens v1"


@dataclass(frozen=True, slots=True)
class DeviceClaims:
    """A verified device token: the account (``user_id``) and the ``device_id`` it was issued to."""

    user_id: str
    device_id: str


class DeviceTokens:
    """Issues and verifies device tokens with a key derived from ``secret`` (the JWT secret)."""

    def __init__(self, secret: str, *, issuer: str, audience: str, ttl: int = DEFAULT_TTL_S) -> None:
        self._key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self._issuer = issuer
        self._audience = f"{audience}:device"
        self.ttl = ttl

    def issue(self, user_id: str, device_id: str | None = None, *, now: int | None = None) -> str:
        """A device token for ``user_id``, valid ``ttl`` s from ``now`` (epoch s); ``device_id`` keeps the
        id of a token being renewed (default: a new random one)."""
        issued = int(time.time()) if now is None else now
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "exp": issued + self.ttl,
            "sub": user_id,
            "jti": device_id or secrets.token_hex(16),
            "typ": TOKEN_TYPE,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": HEADER_TYPE})

    def verify(self, token: str | None) -> DeviceClaims | None:
        """The claims of a valid token; ``None`` for a missing, malformed, forged or expired one (a bad
        device token only means "an unknown device", never an error)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], audience=self._audience, issuer=self._issuer,
                options={"require": _REQUIRED},
            )  # fmt: skip
        except jwt.InvalidTokenError:
            return None
        sub, jti = claims.get("sub"), claims.get("jti")
        if header.get("typ") != HEADER_TYPE or claims.get("typ") != TOKEN_TYPE:
            return None
        if not isinstance(sub, str) or not isinstance(jti, str):
            return None
        return DeviceClaims(user_id=sub, device_id=jti)
