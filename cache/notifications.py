"""Redis side of live notifications: each user's replay stream and the wake-up/control channel.

Keys (``cache.keys.RedisKeys``, user-scoped ones hash-tagged ``{uid}``):

- ``nstream:{uid}``: a Stream of the user's notification changes, one entry ``{n: <notification id>}`` per
  delivered change, trimmed with ``XADD ... MAXLEN ~ <max>`` (approximate trimming, Redis' cheap form). Its
  entry ids order every change of one user; ``notifications(after:)`` replays from it.
- channel ``notify:{uid}``: ``w`` after an append (a wake-up: subscribers read the stream, never the message,
  so a lost wake-up loses nothing but time) and control messages ``{"t": "revoke", ...}`` that close the
  user's subscriptions after a logout.

Every method raises ``CacheUnavailable`` when Redis is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cache.errors import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from cache.keys import RedisKeys

WAKE = b"w"


@dataclass(frozen=True, slots=True, order=True)
class StreamId:
    """A Redis stream entry id ``<ms>-<seq>``, ordered as Redis orders them."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, raw: bytes | str) -> StreamId:
        """``b"1718000000000-3"`` -> ``StreamId(1718000000000, 3)``; raises ``ValueError`` when malformed."""
        text = raw.decode() if isinstance(raw, bytes) else raw
        ms, _, seq = text.partition("-")
        return cls(int(ms), int(seq or 0))

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


ZERO = StreamId(0, 0)


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One change of a user's notifications: stream ``id`` and the ``notification_id`` that changed."""

    id: StreamId
    notification_id: str


def _entries(raw: Any) -> list[StreamEntry]:
    out: list[StreamEntry] = []
    for entry_id, fields in raw or ():
        nid = fields.get(b"n") or fields.get("n")
        if nid is not None:
            out.append(StreamEntry(StreamId.parse(entry_id), nid.decode() if isinstance(nid, bytes) else nid))
    return out


class NotificationStreams:
    """The per-user streams and channels on one Redis client (bytes responses); ``max_len`` entries kept."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, *, max_len: int = 1_000) -> None:
        self._redis, self._keys, self.max_len = redis, keys, max_len

    def channel(self, user_id: str) -> str:
        """The pub/sub channel of ``user_id``."""
        return self._keys.notify_channel(user_id)

    async def append(self, user_id: str, notification_id: str) -> StreamId:
        """Record that ``notification_id`` changed and wake the user's subscribers (one round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.xadd(self._keys.notify_stream(user_id), {"n": notification_id}, maxlen=self.max_len, approximate=True)
        pipe.publish(self.channel(user_id), WAKE)
        entry_id, _ = await redis_call(pipe.execute())
        return StreamId.parse(entry_id)

    async def after(self, user_id: str, after: StreamId, *, upto: StreamId | None = None,
                    count: int = 500) -> list[StreamEntry]:  # fmt: skip
        """Entries strictly after ``after`` (up to ``upto`` inclusive, default the end), oldest first, at most
        ``count``."""
        raw = await redis_call(
            self._redis.xrange(
                self._keys.notify_stream(user_id), min=f"({after}", max=str(upto) if upto else "+", count=count
            )
        )
        return _entries(raw)

    async def tail(self, user_id: str) -> StreamId:
        """Id of the user's newest entry (``ZERO`` for an empty or missing stream)."""
        raw: Any = await redis_call(self._redis.xrevrange(self._keys.notify_stream(user_id), count=1))
        return StreamId.parse(raw[0][0]) if raw else ZERO

    async def last_of(self, user_id: str, notification_id: str, *, scan: int | None = None) -> StreamId | None:
        """Id of the newest entry for ``notification_id`` among the last ``scan`` (default ``max_len``)
        entries, or ``None`` when the stream no longer holds one (trimmed, or never delivered live)."""
        raw = await redis_call(
            self._redis.xrevrange(self._keys.notify_stream(user_id), count=scan or self.max_len * 2)
        )
        for entry in _entries(raw):
            if entry.notification_id == notification_id:
                return entry.id
        return None

    async def revoke(self, user_id: str, *, session_id: str | None = None, version: int | None = None) -> None:
        """Tell every API process to close ``user_id``'s subscriptions of session ``session_id`` (or, with
        ``version``, of every session older than that ``session_version``)."""
        message = {"t": "revoke", "sid": session_id, "ver": version}
        await redis_call(self._redis.publish(self.channel(user_id), orjson.dumps(message)))
