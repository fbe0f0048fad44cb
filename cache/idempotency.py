"""Idempotency records in Redis: one hash ``idem:{subject}:{key}`` per (caller, Idempotency-Key).

Fields: ``state`` (``pending`` while the first request runs, ``done`` once its response is stored), ``fp``
(the request fingerprint), ``token`` (identifies the request that claimed the key) and, when done,
``status``, ``headers`` (JSON ``[[name, value], ...]``, latin-1) and ``body`` (raw bytes).

Each operation is one Lua script on one key (atomic; Redis Cluster safe thanks to the ``{subject}`` hash
tag): :meth:`IdempotencyRecords.claim` either creates the pending record (with a short TTL, so a crashed
request frees the key) or returns the existing one; :meth:`complete` and :meth:`release` act only while the
caller's token still owns the record. Every method raises ``CacheUnavailable`` when Redis is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys

# KEYS[1] = record; ARGV = fingerprint, token, pending TTL ms. Returns nil when claimed, else HGETALL.
CLAIM_LUA = """
local existing = redis.call('HGETALL', KEYS[1])
if #existing > 0 then return existing end
redis.call('HSET', KEYS[1], 'state', 'pending', 'fp', ARGV[1], 'token', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return false
"""

# KEYS[1] = record; ARGV = token, status, headers JSON, body, TTL ms. Returns 1 when stored, 0 otherwise.
COMPLETE_LUA = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[2], 'headers', ARGV[3], 'body', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""

# KEYS[1] = record; ARGV[1] = token. Deletes the record when the token still owns it.
RELEASE_LUA = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """An existing record: ``state`` is ``pending`` or ``done``; the response fields are set when done."""

    state: str
    fingerprint: str
    status: int | None = None
    headers_json: bytes | None = None
    body: bytes | None = None


class IdempotencyRecords:
    """Idempotency records of one deployment (``keys`` carries its prefix)."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self._keys = keys
        self._claim = redis.register_script(CLAIM_LUA)
        self._complete = redis.register_script(COMPLETE_LUA)
        self._release = redis.register_script(RELEASE_LUA)

    async def claim(
        self, subject: str, key: str, fingerprint: str, token: str, pending_ttl_ms: int
    ) -> IdempotencyRecord | None:
        """Claim ``key`` for ``subject``: ``None`` when this call created the pending record, else the
        record already there (pending or done)."""
        record = self._keys.idempotency(subject, key)
        existing = await redis_call(self._claim(keys=[record], args=[fingerprint, token, pending_ttl_ms]))
        if not existing:
            return None
        fields = {existing[i]: existing[i + 1] for i in range(0, len(existing), 2)}
        status = fields.get(b"status")
        return IdempotencyRecord(
            state=fields.get(b"state", b"").decode(),
            fingerprint=fields.get(b"fp", b"").decode(),
            status=int(status) if status is not None else None,
            headers_json=fields.get(b"headers"),
            body=fields.get(b"body"),
        )

    async def complete(
        self,
        subject: str,
        key: str,
        token: str,
        *,
        status: int,
        headers_json: bytes,
        body: bytes,
        ttl_ms: int,
    ) -> bool:
        """Store the response under a record ``token`` owns; False when the token lost it (expired)."""
        record = self._keys.idempotency(subject, key)
        stored = await redis_call(self._complete(keys=[record], args=[token, status, headers_json, body, ttl_ms]))
        return bool(stored)

    async def release(self, subject: str, key: str, token: str) -> bool:
        """Delete the record when ``token`` still owns it (the key may then be used again)."""
        deleted = await redis_call(self._release(keys=[self._keys.idempotency(subject, key)], args=[token]))
        return bool(deleted)
