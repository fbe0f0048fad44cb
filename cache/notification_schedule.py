"""Redis side of the live-delivery schedule: the per-group debounce and the updates held for later.

Keys: ``nsent:{uid}:<notification>`` (epoch ms of the group's last live delivery, expiring after the
debounce), ``nheld:{uid}`` (ZSET notification id -> due epoch ms: updates coalesced by the debounce or held by
do-not-disturb) and the global ``ndue`` (ZSET user id -> earliest due ms: which users the delivery job
visits). Every decision is one Lua script on the user's slot, so concurrent workers never deliver one group
twice inside a debounce interval (the seed's "Redis counter per (recipient, post) with 60-second window").

Errors: ``CacheUnavailable`` when Redis is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys

# KEYS: sent, held. ARGV: notification id, now ms, debounce ms, hold-until ms (0: no do-not-disturb).
# Returns {1, now} to deliver now (and records it), or {0, due} when the update is held until ``due``.
DECIDE_LUA = """
local nid, now, debounce, hold = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if hold > 0 then
  local cur = redis.call('ZSCORE', KEYS[2], nid)
  if (not cur) or tonumber(cur) > hold then redis.call('ZADD', KEYS[2], hold, nid) end
  return {0, hold}
end
local last = redis.call('GET', KEYS[1])
if (not last) or now - tonumber(last) >= debounce then
  redis.call('SET', KEYS[1], now, 'PX', debounce * 2 + 1000)
  redis.call('ZREM', KEYS[2], nid)
  return {1, now}
end
local due = tonumber(last) + debounce
local cur = redis.call('ZSCORE', KEYS[2], nid)
if not cur then redis.call('ZADD', KEYS[2], due, nid) return {0, due} end
return {0, tonumber(cur)}
"""

# KEYS: held. ARGV: now ms. Pops the members due by now; returns {members..., next due or ''}.
POP_DUE_LUA = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 200)
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
due[#due + 1] = nxt[2] or ''
return due
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """``deliver``: send now; else the update is held until ``due`` (epoch ms)."""

    deliver: bool
    due: int


class DeliverySchedule:
    """Debounce and hold state on one Redis client (bytes responses)."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self._redis, self._keys = redis, keys
        self._decide = redis.register_script(DECIDE_LUA)
        self._pop = redis.register_script(POP_DUE_LUA)

    async def decide(self, user_id: str, notification_id: str, *, now_ms: int, debounce_ms: int,
                     hold_until_ms: int | None) -> Decision:  # fmt: skip
        """Deliver a change of ``notification_id`` now, or hold it: until ``hold_until_ms`` (the end of the
        user's do-not-disturb window) when given, else until the group's debounce interval has passed since
        its last delivery. A held update is indexed for the delivery job."""
        keys = [self._keys.notify_sent(user_id, notification_id), self._keys.notify_held(user_id)]
        deliver, at = await redis_call(
            self._decide(keys=keys, args=[notification_id, now_ms, debounce_ms, hold_until_ms or 0])
        )
        if not deliver:
            await self.index(user_id, int(at))
        return Decision(bool(deliver), int(at))

    async def hold(self, user_id: str, notification_id: str, due_ms: int) -> None:
        """Hold ``notification_id`` until ``due_ms`` (again: do-not-disturb still on when it came due)."""
        await redis_call(self._redis.zadd(self._keys.notify_held(user_id), {notification_id: due_ms}))
        await self.index(user_id, due_ms)

    async def delivered(self, user_id: str, notification_id: str, *, now_ms: int, debounce_ms: int) -> None:
        """Record a delivery made by the delivery job (starts the group's next debounce interval)."""
        await redis_call(
            self._redis.set(self._keys.notify_sent(user_id, notification_id), now_ms, px=debounce_ms * 2 + 1000)
        )

    async def index(self, user_id: str, due_ms: int) -> None:
        """Make sure the delivery job visits ``user_id`` by ``due_ms``."""
        await redis_call(self._redis.zadd(self._keys.notify_due_users(), {user_id: due_ms}, lt=True))

    async def due_users(self, now_ms: int, *, limit: int = 100) -> list[str]:
        """Users with an update due by ``now_ms``."""
        raw: list[Any] = await redis_call(
            self._redis.zrangebyscore(self._keys.notify_due_users(), "-inf", now_ms, start=0, num=limit)
        )
        return [r.decode() if isinstance(r, bytes) else r for r in raw]

    async def pop_due(self, user_id: str, now_ms: int) -> list[str]:
        """Take the user's updates due by ``now_ms`` (atomically: each is taken once, whatever the number of
        delivery jobs) and re-index the user for the next one."""
        raw = await redis_call(self._pop(keys=[self._keys.notify_held(user_id)], args=[now_ms]))
        *members, nxt = raw
        index = self._keys.notify_due_users()
        await redis_call(self._redis.zrem(index, user_id))
        if nxt not in (b"", ""):
            await self.index(user_id, int(float(nxt)))
        elif await redis_call(self._redis.zcard(self._keys.notify_held(user_id))):  # held meanwhile
            first = await redis_call(self._redis.zrange(self._keys.notify_held(user_id), 0, 0, withscores=True))
            if first:
                await self.index(user_id, int(first[0][1]))
        return [m.decode() if isinstance(m, bytes) else m for m in members]
