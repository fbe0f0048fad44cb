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

Sources: the IETF draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header)
and Stripe's idempotent requests (responses stored for 24 h; a concurrent duplicate is a conflict).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import structlog

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


def fingerprint(document: str, operation_name: str | None, variables: Mapping[str, Any] | None) -> str:
    """SHA-256 hex of the (normalised) operation text, its name and the variables with sorted keys."""
    payload = orjson.dumps(
        {"document": document, "operationName": operation_name, "variables": variables or {}},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(payload).hexdigest()


class IdempotencyService:
    """Claims, replays and stores responses in ``records``; TTLs in seconds."""

    def __init__(
        self,
        records: IdempotencyRecords,
        *,
        ttl_s: int = DEFAULT_TTL_S,
        pending_ttl_s: int = DEFAULT_PENDING_TTL_S,
    ) -> None:
        self._records = records
        self._ttl_ms = ttl_s * 1000
        self._pending_ttl_ms = pending_ttl_s * 1000

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
        headers = orjson.loads(existing.headers_json or b"[]")
        return StoredResponse(
            status=existing.status, headers=tuple((n, v) for n, v in headers), body=existing.body
        )

    async def finish(self, claim: Claim, response: StoredResponse) -> bool:
        """Store ``response`` for replay; False when it could not be stored (Redis down, claim expired)."""
        try:
            stored = await self._records.complete(
                claim.subject,
                claim.key,
                claim.token,
                status=response.status,
                headers_json=orjson.dumps([list(h) for h in response.headers]),
                body=response.body,
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
