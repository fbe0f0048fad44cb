"""Atomic rate limiting in Redis with GCRA (the generic cell rate algorithm), one Lua script per hit.

GCRA keeps one number per (subject, action): the theoretical arrival time ``tat`` (epoch ms). A limit of
``count`` per ``period`` spaces requests by ``interval = period / count`` and tolerates a burst of ``count``:
a request at ``now`` is allowed when ``max(tat, now) + interval - period <= now``; it then stores
``max(tat, now) + interval`` with a TTL that ends when the bucket is full again. The script reads Redis's own
clock (``TIME``) so that API processes with skewed clocks agree. Source: ITU-T I.371 (GCRA) and Brandur Leach,
"Rate limiting, cells, and GCRA" (https://brandur.org/rate-limiting), the algorithm ``redis-cell`` implements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

#: ``gcra(key, interval_ms, period_ms)`` -> ``allowed (0/1), retry_after_ms``: one hit, as a Lua function that
#: other scripts run too (``cache.admission``).
GCRA_FUNCTION = """
local function gcra(key, interval, period)
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  local tat = tonumber(redis.call('GET', key) or now) or now
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - period
  if allow_at > now then
    return 0, allow_at - now
  end
  redis.call('SET', key, string.format('%d', new_tat), 'PX', math.max(1, new_tat - now))
  return 1, 0
end
"""

# KEYS[1] = rate key; ARGV[1] = interval ms; ARGV[2] = period ms. Returns {allowed (0/1), retry_after_ms}.
GCRA_LUA = f"""{GCRA_FUNCTION}
local allowed, retry = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
return {{allowed, retry}}
"""

# KEYS[1] = rate key. Returns {tat (or now when unset), now}: the state, read without counting anything.
PEEK_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
return {tat, now}
"""


@dataclass(frozen=True, slots=True)
class State:
    """A budget as it stands: ``remaining`` requests now, ``reset_at_ms`` (epoch ms, Redis clock) when all
    ``count`` are available again."""

    remaining: int
    reset_at_ms: int


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of one hit: ``allowed``, and ``retry_after_ms`` (0 when allowed)."""

    allowed: bool
    retry_after_ms: int

    @classmethod
    def of(cls, allowed: object, retry_ms: object) -> Decision:
        """From a script's ``allowed`` (0/1) and ``retry_after_ms`` replies."""
        return cls(allowed=bool(int(allowed)), retry_after_ms=int(retry_ms))  # type: ignore[call-overload]

    @property
    def retry_after_s(self) -> int:
        """Whole seconds until a retry can pass (rounded up, >= 1 when denied, 0 when allowed)."""
        return 0 if self.allowed else max(1, math.ceil(self.retry_after_ms / 1000))


class GcraLimiter:
    """Runs the GCRA script on one Redis client. Raises ``CacheUnavailable`` when Redis is down."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(GCRA_LUA)
        self._peek = redis.register_script(PEEK_LUA)

    async def hit(self, key: str, *, count: int, period_s: int) -> Decision:
        """Count one request against ``count`` per ``period_s`` seconds under ``key``; atomic in Redis."""
        if count < 1 or period_s < 1:
            raise ValueError("count and period_s must be >= 1")
        period_ms = period_s * 1000
        interval_ms = period_ms // count
        allowed, retry_ms = await redis_call(self._script(keys=[key], args=[interval_ms, interval_ms * count]))
        return Decision.of(allowed, retry_ms)

    async def peek(self, key: str, *, count: int, period_s: int) -> State:
        """What is left of ``count`` per ``period_s`` under ``key``, without counting: with GCRA's ``tat``,
        ``used = ceil((tat - now) / interval)`` and ``remaining = count - used`` (>= 0)."""
        tat, now = (int(v) for v in await redis_call(self._peek(keys=[key])))
        interval_ms = period_s * 1000 // count
        if tat <= now or interval_ms == 0:
            return State(remaining=count, reset_at_ms=max(tat, now))
        used = math.ceil((tat - now) / interval_ms)
        return State(remaining=max(0, count - used), reset_at_ms=tat)

    async def reset(self, key: str) -> None:
        """Forget the state under ``key``: the whole budget is available again."""
        await redis_call(self._redis.delete(key))
