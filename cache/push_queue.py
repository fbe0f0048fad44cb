"""Redis side of Web Push: the queue of deliveries waiting to be sent or retried.

``pushq`` is a ZSET of jobs (compact JSON ``{"u": user, "n": notification, "s": subscription or null,
"a": attempt}``) scored by the epoch ms they are due; a retry with backoff is a job due later. Popping is
one Lua script, so several senders never send one job twice. Errors: ``CacheUnavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys

POP_LUA = """
local jobs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #jobs > 0 then redis.call('ZREM', KEYS[1], unpack(jobs)) end
return jobs
"""


@dataclass(frozen=True, slots=True)
class PushJob:
    """Send ``notification_id`` to ``user_id``'s devices: every subscription, or only ``subscription_id``
    (a retry); ``attempt`` counts sends already tried (0 for a new job)."""

    user_id: str
    notification_id: str
    subscription_id: str | None = None
    attempt: int = 0

    def encode(self) -> bytes:
        """The job as compact JSON."""
        return orjson.dumps(
            {"u": self.user_id, "n": self.notification_id, "s": self.subscription_id, "a": self.attempt}
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> PushJob:
        """Parse :meth:`encode`'s output; raises ``ValueError``/``KeyError`` when malformed."""
        obj = orjson.loads(raw)
        return cls(str(obj["u"]), str(obj["n"]), obj.get("s"), int(obj.get("a", 0)))


class PushQueue:
    """The push job queue on one Redis client."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self._redis, self._keys = redis, keys
        self._pop = redis.register_script(POP_LUA)

    async def put(self, job: PushJob, due_ms: int) -> None:
        """Queue ``job`` for ``due_ms`` (epoch ms)."""
        await redis_call(self._redis.zadd(self._keys.push_queue(), {job.encode(): due_ms}))

    async def take_due(self, now_ms: int, *, limit: int = 50) -> list[PushJob]:
        """Remove and return up to ``limit`` jobs due by ``now_ms`` (malformed ones are dropped)."""
        raw = await redis_call(self._pop(keys=[self._keys.push_queue()], args=[now_ms, limit]))
        jobs: list[PushJob] = []
        for item in raw:
            try:
                jobs.append(PushJob.decode(item))
            except (ValueError, KeyError, TypeError):
                continue
        return jobs

    async def size(self) -> int:
        """Jobs waiting (due or not)."""
        return int(await redis_call(self._redis.zcard(self._keys.push_queue())))
