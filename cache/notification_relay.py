"""The per-process relay of live notifications: ONE Redis pub/sub connection, fanned out to local subscribers.

Each API process runs one ``NotificationRelay``. For every user with a live subscription here it SUBSCRIBEs
to ``notify:{uid}`` (once per user, however many sockets) and keeps a read position in the user's stream
(``cache.notifications``). A wake-up makes it read the stream past that position once and put each entry into
every local subscriber's bounded queue; a subscriber whose queue is full (its client does not keep up) gets its
connection closed, so a slow client never grows the process's memory. A control message ``revoke`` closes the
user's registered connections of the revoked session (logout) or of every older session (logout everywhere).

Order and gaps: a subscriber registers after the channel subscription is confirmed and receives every entry
after ``Subscriber.start`` (the stream's tail when it registered); what came before is the caller's to replay
from the stream. Pub/sub is at-most-once: after the connection drops and comes back, the relay re-reads every
user's stream from its position (and does so every ``RESYNC_S`` s anyway: redis-py may reconnect inside a read
without raising), so a lost wake-up costs latency, not entries.

Errors: ``subscribe`` raises ``CacheUnavailable`` when Redis is down; the reader loop retries by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from redis.exceptions import RedisError

from cache.errors import CacheUnavailable, redis_call
from cache.notifications import WAKE, ZERO, StreamId

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import redis.asyncio as aioredis

    from cache.notifications import NotificationStreams, StreamEntry

log = structlog.get_logger(__name__)

#: Close codes sent to a client: its session was revoked (as for a bad token at connection_init), and its
#: subscriber queue overflowed (it did not read fast enough).
CLOSE_REVOKED = 4403
CLOSE_TOO_SLOW = 4429
RESYNC_S = 5.0  # s between re-reads of every subscribed user's stream (a wake-up lost with a connection)

@dataclass(slots=True)
class Connection:
    """A client connection of ``user_id``'s session ``session_id`` (``session_version`` of its token);
    ``close(code, reason)`` closes its socket."""

    id: str
    user_id: str
    session_id: str
    session_version: int
    close: Callable[[int, str], Awaitable[None]]
    closing: bool = False


class SubscriberClosed(Exception):
    """The subscriber was dropped (queue overflow or its connection closed)."""


@dataclass(slots=True, eq=False)
class Subscriber:
    """One live subscription: entries after ``start`` arrive in ``queue`` (bounded)."""

    user_id: str
    connection_id: str | None
    start: StreamId
    queue: asyncio.Queue[StreamEntry | None] = field(default_factory=asyncio.Queue)
    closed: bool = False

    async def next(self) -> StreamEntry:
        """The next entry; raises ``SubscriberClosed`` once the relay dropped this subscriber."""
        if self.closed and self.queue.empty():
            raise SubscriberClosed(self.user_id)
        item = await self.queue.get()
        if item is None:
            raise SubscriberClosed(self.user_id)
        return item


@dataclass(slots=True)
class _User:
    position: StreamId = ZERO
    subscribers: list[Subscriber] = field(default_factory=list)
    fetching: bool = False
    again: bool = False


class NotificationRelay:
    """Fan-out of the users' notification streams to this process's subscribers.

    ``redis``: a client for pub/sub (bytes responses); ``streams``: the stream reader; ``queue_size``: entries
    buffered per subscriber before its connection is closed with ``CLOSE_TOO_SLOW``.
    """

    def __init__(self, redis: aioredis.Redis, streams: NotificationStreams, *, queue_size: int = 256) -> None:
        self._redis, self._streams, self.queue_size = redis, streams, queue_size
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._users: dict[str, _User] = {}
        self._channels: dict[bytes, str] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._connections: dict[str, Connection] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- connections -----------------------------------------------------------------------------------------

    def add_connection(self, connection: Connection) -> None:
        """Register a socket so that a logout (``revoke``) or a slow subscriber can close it."""
        self._connections[connection.id] = connection

    def remove_connection(self, connection_id: str) -> None:
        """Forget a socket (it closed)."""
        self._connections.pop(connection_id, None)

    @property
    def connection_count(self) -> int:
        """Registered sockets of this process."""
        return len(self._connections)

    @property
    def subscriber_count(self) -> int:
        """Live subscriptions of this process."""
        return sum(len(u.subscribers) for u in self._users.values())

    # -- subscribers -----------------------------------------------------------------------------------------

    async def subscribe(self, user_id: str, connection_id: str | None = None) -> Subscriber:
        """A subscriber of ``user_id``'s changes after the stream's current tail (``Subscriber.start``).

        Raises ``CacheUnavailable`` when Redis is down (nothing stays registered).
        """
        async with self._lock:
            await self._ensure_reader()
            state = self._users.get(user_id)
            if state is None:
                channel = self._streams.channel(user_id)
                confirmed = self._confirmed.setdefault(channel, asyncio.Event())
                self._channels[channel.encode()] = user_id
                try:
                    await redis_call(self._pubsub.subscribe(channel))
                    await asyncio.wait_for(confirmed.wait(), timeout=3.0)
                    position = await self._streams.tail(user_id)
                except (TimeoutError, CacheUnavailable) as exc:
                    self._channels.pop(channel.encode(), None)
                    self._confirmed.pop(channel, None)
                    with contextlib.suppress(RedisError, OSError):
                        await self._pubsub.unsubscribe(channel)
                    raise CacheUnavailable(f"cannot subscribe to {channel}: {exc!r}") from exc
                state = self._users[user_id] = _User(position=position)
            subscriber = Subscriber(user_id, connection_id, state.position, asyncio.Queue(self.queue_size))
            state.subscribers.append(subscriber)
            return subscriber

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        """Drop ``subscriber``; the user's channel is left when it was the last one here."""
        subscriber.closed = True
        async with self._lock:
            state = self._users.get(subscriber.user_id)
            if state is None or subscriber not in state.subscribers:
                return
            state.subscribers.remove(subscriber)
            if state.subscribers:
                return
            del self._users[subscriber.user_id]
            channel = self._streams.channel(subscriber.user_id)
            self._channels.pop(channel.encode(), None)
            self._confirmed.pop(channel, None)
            if self._pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(channel)

    # -- the reader ------------------------------------------------------------------------------------------

    async def _ensure_reader(self) -> None:
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_loop(), name="notification-relay")

    async def close(self) -> None:
        """Stop the reader and drop every subscriber (process shutdown)."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        for state in self._users.values():
            for sub in state.subscribers:
                sub.closed = True
                self._offer(sub, None)
        self._users.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, RuntimeError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None

    async def _read_loop(self) -> None:
        failed, resynced = False, time.monotonic()
        while True:
            try:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                # After an error, and every RESYNC_S anyway (redis-py may reconnect and re-subscribe inside
                # get_message without telling), read every user's stream: lost wake-ups cost latency only.
                if failed or time.monotonic() - resynced >= RESYNC_S:
                    failed, resynced = False, time.monotonic()
                    for user_id in list(self._users):
                        self._wake(user_id)
                if message is not None:
                    try:
                        self._dispatch(message)
                    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a malformed message
                        log.warning("relay.bad_message", error=repr(exc))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:  # REDIS_DOWN and the rest of redis-py's errors
                if not failed:
                    log.warning("relay.redis_error", error=repr(exc))
                failed = True
                await asyncio.sleep(0.5)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        if isinstance(channel, str):
            channel = channel.encode()
        user_id = self._channels.get(channel or b"")
        if kind == "subscribe" and channel is not None:
            event = self._confirmed.get(channel.decode())
            if event is not None:
                event.set()
            return
        if kind != "message" or user_id is None:
            return
        data = message.get("data")
        if data == WAKE:
            self._wake(user_id)
        else:
            self._control(user_id, data)

    def _control(self, user_id: str, data: Any) -> None:
        try:
            message = orjson.loads(data)
        except (orjson.JSONDecodeError, TypeError):
            return
        if not isinstance(message, dict) or message.get("t") != "revoke":
            return
        session_id, version = message.get("sid"), message.get("ver")
        for conn in list(self._connections.values()):
            if conn.user_id != user_id:
                continue
            if (session_id is not None and conn.session_id == session_id) or (
                isinstance(version, int) and conn.session_version < version
            ):
                self._close(conn, CLOSE_REVOKED, "Session revoked")

    def _close(self, conn: Connection, code: int, reason: str) -> None:
        if conn.closing:
            return
        conn.closing = True
        self._spawn(conn.close(code, reason))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _wake(self, user_id: str) -> None:
        state = self._users.get(user_id)
        if state is None:
            return
        if state.fetching:
            state.again = True
            return
        state.fetching = True
        self._spawn(self._fetch(user_id, state))

    async def _fetch(self, user_id: str, state: _User) -> None:
        try:
            while True:
                state.again = False
                entries = await self._streams.after(user_id, state.position)
                for entry in entries:
                    state.position = entry.id
                    for sub in list(state.subscribers):
                        self._offer(sub, entry)
                if not state.again and len(entries) < 500:
                    return
        except CacheUnavailable as exc:
            log.warning("relay.fetch_failed", user_id=user_id, error=repr(exc))
        finally:
            state.fetching = False

    def _offer(self, sub: Subscriber, entry: StreamEntry | None) -> None:
        try:
            sub.queue.put_nowait(entry)
        except asyncio.QueueFull:
            sub.closed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                sub.queue.get_nowait()
            sub.queue.put_nowait(None)
            conn = self._connections.get(sub.connection_id or "")
            log.warning("relay.slow_subscriber", user_id=sub.user_id, connection_id=sub.connection_id)
            if conn is not None:
                self._close(conn, CLOSE_TOO_SLOW, "Subscriber too slow")
