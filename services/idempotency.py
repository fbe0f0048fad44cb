"""Idempotency-Key semantics (API.md "Idempotency"), independent of HTTP.

Within ``ttl_s`` (24 h) of its first use, a key from one caller (``subject``) with the same fingerprint
(operation + variables) gets the first response back byte for byte, without running again; the same key
with another fingerprint is ``Conflict``; a duplicate arriving while the first still runs is ``Conflict``.
A claim is pending for at most ``pending_ttl_s``: a process that died mid-request frees the key after that.

Use: ``outcome = await begin(subject, key, fingerprint)``; a :class:`StoredResponse` is the replay; a
:class:`Claim` means "run it", then ``await finish(claim, response)`` to store what was sent, or
``await abandon(claim)`` when nothing was executed (the key may then be used again).

Redis down: ``begin`` raises ``Unavailable`` (a keyed mutation is refused rather than risk a double write);
``finish``/``abandon`` log and return (the response has been sent; the pending claim expires by itself).

Nothing usable is kept in Redis: a stored response (status aside) is encrypted with AES-256-GCM under a key
derived from the server secret (HKDF-SHA256; a fresh 96-bit nonce per field, the record's subject and key
as associated data, so a ciphertext cannot be moved to another record), so the access and refresh tokens
of a replayed ``register``/``login``/``refreshToken`` are unreadable without the server's secret; and the
fingerprint is an HMAC-SHA256 under another derived key, so the stored fingerprint of a ``login`` does not
let anyone test password guesses offline. The replay itself is still the first response byte for byte.

Sources: the IETF draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header)
and Stripe's idempotent requests (responses stored for 24 h; a concurrent duplicate is a conflict).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cache.errors import CacheUnavailable
from services.core.errors import BadInput, Conflict, Unavailable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cache.idempotency import IdempotencyRecords

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
KEY_MAX_CHARS = 255
DEFAULT_TTL_S = 24 * 3600
DEFAULT_PENDING_TTL_S = 60


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as sent: HTTP ``status``, ``headers`` (latin-1 name/value pairs, in order), raw ``body``."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    """This request owns ``key`` for ``subject`` until it finishes or abandons it."""

    subject: str
    key: str
    token: str


def check_key(raw: str) -> str:
    """The key unchanged; raises ``BadInput("Idempotency-Key")`` unless it has 1 to 255 characters."""
    if not 1 <= len(raw) <= KEY_MAX_CHARS:
        raise BadInput(HEADER, f"{HEADER} must be 1 to {KEY_MAX_CHARS} characters.")
    return raw


_NONCE_BYTES = 12


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"instagraph idempotency " + purpose).derive(
        secret.encode()
    )


class IdempotencyService:
    """Claims, replays and stores responses in ``records``; TTLs in seconds; ``secret`` (the server's JWT
    secret) keys the fingerprint HMAC and the encryption of stored responses."""

    def __init__(
        self,
        records: IdempotencyRecords,
        *,
        secret: str,
        ttl_s: int = DEFAULT_TTL_S,
        pending_ttl_s: int = DEFAULT_PENDING_TTL_S,
    ) -> None:
        self._records = records
        self._ttl_ms = ttl_s * 1000
        self._pending_ttl_ms = pending_ttl_s * 1000
        self._mac_key = _derive(secret, b"fingerprint")
        self._aead = AESGCM(_derive(secret, b"responses"))

    def fingerprint(self, document: str, operation_name: str | None, variables: Mapping[str, Any] | None) -> str:
        """HMAC-SHA256 hex of the (normalised) operation text, its name and the variables (sorted keys)."""
        payload = orjson.dumps(
            {"document": document, "operationName": operation_name, "variables": variables or {}},
            option=orjson.OPT_SORT_KEYS,
        )
        return hmac.new(self._mac_key, payload, hashlib.sha256).hexdigest()

    def _seal(self, claim_subject: str, key: str, field: str, data: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, f"{claim_subject}\n{key}\n{field}".encode())

    def _open(self, subject: str, key: str, field: str, sealed: bytes) -> bytes:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, f"{subject}\n{key}\n{field}".encode())

    async def begin(self, subject: str, key: str, request_fingerprint: str) -> Claim | StoredResponse:
        """Claim ``key`` for ``subject`` or return the response to replay.

        Raises ``BadInput("Idempotency-Key")`` for a bad key, ``Conflict`` for a different request under
        the same key or a duplicate of one still running, ``Unavailable`` when Redis is down.
        """
        check_key(key)
        token = secrets.token_hex(16)
        try:
            existing = await self._records.claim(
                subject, key, request_fingerprint, token, self._pending_ttl_ms
            )
        except CacheUnavailable as exc:
            raise Unavailable(
                "Idempotency keys cannot be checked right now; retry later, or send the mutation without "
                f"an {HEADER} header."
            ) from exc
        if existing is None:
            return Claim(subject=subject, key=key, token=token)
        if existing.fingerprint != request_fingerprint:
            raise Conflict(f"This {HEADER} was already used for a different request.")
        if existing.state != "done" or existing.status is None or existing.body is None:
            raise Conflict(f"A request with this {HEADER} is still being processed.")
        try:
            headers = orjson.loads(self._open(subject, key, "headers", existing.headers_json or b""))
            body = self._open(subject, key, "body", existing.body)
        except (InvalidTag, ValueError) as exc:  # written under another secret: cannot be replayed
            raise Conflict(f"This {HEADER} was already used; its response cannot be replayed.") from exc
        return StoredResponse(status=existing.status, headers=tuple((n, v) for n, v in headers), body=body)

    async def finish(self, claim: Claim, response: StoredResponse) -> bool:
        """Store ``response`` for replay; False when it could not be stored (Redis down, claim expired)."""
        try:
            stored = await self._records.complete(
                claim.subject,
                claim.key,
                claim.token,
                status=response.status,
                headers_json=self._seal(
                    claim.subject, claim.key, "headers", orjson.dumps([list(h) for h in response.headers])
                ),
                body=self._seal(claim.subject, claim.key, "body", response.body),
                ttl_ms=self._ttl_ms,
            )
        except CacheUnavailable as exc:
            log.warning("idempotency.store_failed", subject=claim.subject, error=str(exc))
            return False
        if not stored:
            log.warning("idempotency.claim_lost", subject=claim.subject)
        return stored

    async def abandon(self, claim: Claim) -> None:
        """Free the key: nothing was executed under it."""
        try:
            await self._records.release(claim.subject, claim.key, claim.token)
        except CacheUnavailable as exc:
            log.warning("idempotency.release_failed", subject=claim.subject, error=str(exc))
