"""A request's session check and its rate-limited action in one Redis round trip (one Lua script).

A signed-in request to a throttled field needs two answers from the state Redis: the cached revocation state
of its session (``cache.sessions``: the user's ``session_version`` and the session's revoked flag) and one GCRA
hit of the action (``cache.rate_limits``). Asked one after the other, they were two of a feed page's four
Redis round trips. :meth:`AdmissionCache.check_and_hit` runs both in one script, and counts nothing when
the cached state already refuses the token (a revoked session, or a ``session_version`` other than the
token's), so a token the cache knows is revoked spends nothing of its user's budget, as when the session check
ran first. A session whose state is not cached is counted, once: the graph then decides and its answer is cached
(``services.admission``). The three keys share the user's hash tag (``cache.keys``), so
the script runs on one Redis Cluster slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache.errors import redis_call
from cache.rate_limits import GCRA_FUNCTION, Decision
from cache.sessions import CachedState

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys

# KEYS[1] = session version, KEYS[2] = session revoked, KEYS[3] = rate key; ARGV[1] = the token's version,
# ARGV[2] = interval ms, ARGV[3] = period ms. Returns {version or nil, revoked or nil, allowed (0/1, -1: not
# counted, the cached state refuses the token), retry_after_ms}.
ADMISSION_LUA = f"""{GCRA_FUNCTION}
local version = redis.call('GET', KEYS[1])
local revoked = redis.call('GET', KEYS[2])
if revoked == '1' or (version and version ~= ARGV[1]) then
  return {{version, revoked, -1, 0}}
end
local allowed, retry = gcra(KEYS[3], tonumber(ARGV[2]), tonumber(ARGV[3]))
return {{version, revoked, allowed, retry}}
"""


@dataclass(frozen=True, slots=True)
class AdmissionReply:
    """The session's ``cached`` state (as ``SessionCache.cached_state`` reads it) and the rate-limit
    ``decision`` (``None``: nothing was counted, the cached state refuses the token)."""

    cached: CachedState
    decision: Decision | None


class AdmissionCache:
    """Runs the admission script on the state Redis. Raises ``CacheUnavailable`` when Redis is down."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self._keys = keys
        self._script = redis.register_script(ADMISSION_LUA)

    async def check_and_hit(
        self, user_id: str, session_id: str, token_version: int, rate_key: str, *, count: int, period_s: int
    ) -> AdmissionReply:
        """The cached state of ``session_id`` and, unless it refuses ``token_version``, one hit of ``count``
        per ``period_s`` seconds under ``rate_key`` (a key of ``user_id``'s hash tag)."""
        interval_ms = period_s * 1000 // count
        version, revoked, allowed, retry_ms = await redis_call(
            self._script(
                keys=[self._keys.session_version(user_id), self._keys.session_revoked(user_id, session_id), rate_key],
                args=[token_version, interval_ms, interval_ms * count],
            )
        )
        decision = None if int(allowed) < 0 else Decision.of(allowed, retry_ms)
        return AdmissionReply(CachedState.of(version, revoked), decision)
