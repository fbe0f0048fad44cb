"""Redis side of sessions: refresh-token families (the truth for rotation) and the authentication cache.

Keys (``cache.keys.RedisKeys``):

- ``session:{sha256(refresh token)}`` -> family (session) id, TTL = refresh-token lifetime. Kept after the
  token is rotated so that a reused token still finds its family.
- ``tokfam:{family}`` hash ``{user_id, current, revoked}``: ``current`` is the SHA-256 of the one refresh
  token of the family that may still be used; TTL renewed on every rotation (sliding expiry).
- ``sessver:{uid}`` -> the user's ``session_version`` and ``sessrev:{uid}:{sid}`` -> ``1`` revoked / ``0``
  active: a short-lived (``AUTH_CACHE_TTL`` s) cache of what the graph says, read by every authenticated
  request with one ``MGET`` (both keys carry the ``{uid}`` hash tag, so one Redis Cluster slot).

Refresh tokens are stored only as SHA-256 digests. Every method raises ``CacheUnavailable`` when Redis is
down; callers decide how to degrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from redis.asyncio.client import Pipeline

    from cache.keys import RedisKeys

#: Seconds a cached session state is trusted before the graph is read again. It bounds how long a logout
#: that could not reach Redis (outage) stays unseen once Redis is back.
AUTH_CACHE_TTL = 60

# KEYS[1] = tokfam:{family}; ARGV = presented digest, new digest, ttl s. Returns {status, user_id}.
ROTATE_LUA = """
local fam = redis.call('HMGET', KEYS[1], 'user_id', 'current', 'revoked')
if not fam[1] then return {'missing', ''} end
if fam[3] == '1' then return {'revoked', fam[1]} end
if fam[2] ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return {'reused', fam[1]}
end
redis.call('HSET', KEYS[1], 'current', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {'ok', fam[1]}
"""


class Rotation(Enum):
    """Outcome of presenting a refresh token: rotated, unknown/expired, family revoked, or reuse detected."""

    OK = "ok"
    MISSING = "missing"
    REVOKED = "revoked"
    REUSED = "reused"


@dataclass(frozen=True, slots=True)
class RotationResult:
    """``status``, and the family's ``family_id``/``user_id`` (empty strings when unknown)."""

    status: Rotation
    family_id: str = ""
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class CachedState:
    """Cached auth state: ``user_version`` and ``revoked`` are ``None`` when not cached."""

    user_version: int | None
    revoked: bool | None

    @classmethod
    def of(cls, version: bytes | str | None, revoked: bytes | str | None) -> CachedState:
        """From the raw values of the ``sessver`` and ``sessrev`` keys (``None``: not cached)."""
        return cls(
            user_version=int(version) if version is not None else None,
            revoked=(_text(revoked) == "1") if revoked is not None else None,
        )


class SessionCache:
    """Refresh-token families and the auth cache on one Redis client (bytes responses)."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, *, refresh_ttl: int) -> None:
        self._redis = redis
        self._keys = keys
        self._refresh_ttl = refresh_ttl
        self._rotate = redis.register_script(ROTATE_LUA)

    async def start_family(self, family_id: str, user_id: str, digest: str) -> None:
        """Record a new family whose current refresh token has SHA-256 ``digest``."""
        pipe = self._redis.pipeline(transaction=False)
        fam = self._keys.token_family(family_id)
        pipe.hset(fam, mapping={"user_id": user_id, "current": digest, "revoked": "0"})
        pipe.expire(fam, self._refresh_ttl)
        pipe.set(self._keys.session(digest), family_id, ex=self._refresh_ttl)
        await redis_call(pipe.execute())

    async def rotate(self, digest: str, new_digest: str) -> RotationResult:
        """Atomically swap the family's current token ``digest`` for ``new_digest``.

        A digest that is known but no longer current marks the family revoked and returns ``REUSED``. Two
        round trips: the family lookup, then the new digest's key and the rotation script pipelined.
        """
        raw = await redis_call(self._redis.get(self._keys.session(digest)))
        if raw is None:
            return RotationResult(Rotation.MISSING)
        family_id = _text(raw)
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._keys.session(new_digest), family_id, ex=self._refresh_ttl)
        await self._rotate(
            keys=[self._keys.token_family(family_id)], args=[digest, new_digest, self._refresh_ttl], client=pipe
        )
        _, (status, user_id) = await redis_call(pipe.execute())
        return RotationResult(Rotation(_text(status)), family_id, _text(user_id))

    async def revoke_family(self, family_id: str) -> None:
        """Mark a family revoked: none of its refresh tokens rotates again."""
        pipe = self._redis.pipeline(transaction=False)
        self._revoke_family(pipe, family_id)
        await redis_call(pipe.execute())

    async def revoke_session(self, user_id: str, session_id: str) -> None:
        """After a logout: cache the session as revoked and revoke its refresh family (one round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._keys.session_revoked(user_id, session_id), 1, ex=AUTH_CACHE_TTL)
        self._revoke_family(pipe, session_id)
        await redis_call(pipe.execute())

    def _revoke_family(self, pipe: Pipeline, family_id: str) -> None:
        fam = self._keys.token_family(family_id)
        pipe.hset(fam, "revoked", "1")
        pipe.expire(fam, self._refresh_ttl)

    async def cached_state(self, user_id: str, session_id: str) -> CachedState:
        """The cached ``(user_version, revoked)`` of a session; either is ``None`` when not cached."""
        version, revoked = await redis_call(
            self._redis.mget(
                self._keys.session_version(user_id), self._keys.session_revoked(user_id, session_id)
            )
        )
        return CachedState.of(version, revoked)

    async def fill_state(self, user_id: str, session_id: str, user_version: int, revoked: bool) -> None:
        """Cache a state read from the graph (``SET NX``: never overwrites a fresher logout or bump)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._keys.session_version(user_id), user_version, ex=AUTH_CACHE_TTL, nx=True)
        pipe.set(self._keys.session_revoked(user_id, session_id), int(revoked), ex=AUTH_CACHE_TTL, nx=True)
        await redis_call(pipe.execute())

    async def set_user_version(self, user_id: str, version: int) -> None:
        """Overwrite the cached ``session_version`` of a user (after a bump)."""
        await redis_call(self._redis.set(self._keys.session_version(user_id), version, ex=AUTH_CACHE_TTL))


def _text(value: bytes | str) -> str:
    """A Redis reply as ``str`` whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else str(value)
