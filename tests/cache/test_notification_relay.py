"""The per-process relay on the real Redis: fan-out of a user's stream to local subscribers, bounded queues
(a slow subscriber's connection is closed, memory does not grow), revocation by session or version, and
recovery of wake-ups lost while Redis was away."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

import pytest

from cache.keys import RedisKeys
from cache.notification_relay import CLOSE_REVOKED, CLOSE_TOO_SLOW, Connection, NotificationRelay, SubscriberClosed
from cache.notifications import NotificationStreams
from runtime.resources import open_redis

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import redis.asyncio as aioredis

    from runtime.settings import Settings


@pytest.fixture
async def streams(settings: Settings, redis: aioredis.Redis) -> NotificationStreams:
    return NotificationStreams(redis, RedisKeys(settings.redis_prefix), max_len=100)


@pytest.fixture
async def relay(settings: Settings, streams: NotificationStreams) -> AsyncIterator[NotificationRelay]:
    client = open_redis(settings.redis_url)
    made = NotificationRelay(client, streams, queue_size=3)
    try:
        yield made
    finally:
        await made.close()
        await client.aclose()


class _Closed:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.event = asyncio.Event()

    async def __call__(self, code: int, reason: str) -> None:
        self.calls.append((code, reason))
        self.event.set()


def _user() -> str:
    return f"u{secrets.token_hex(4)}"


async def test_every_subscriber_of_a_user_gets_each_new_entry_once_in_order(
    relay: NotificationRelay, streams: NotificationStreams
) -> None:
    user = _user()
    await streams.append(user, "before")  # before subscribing: not delivered (replay is the caller's)
    first, second = await relay.subscribe(user), await relay.subscribe(user)
    assert first.start == second.start == await streams.tail(user)
    for nid in ("n1", "n2", "n3"):
        await streams.append(user, nid)
    for sub in (first, second):
        got = [(await asyncio.wait_for(sub.next(), 5)).notification_id for _ in range(3)]
        assert got == ["n1", "n2", "n3"]
    assert relay.subscriber_count == 2
    await relay.unsubscribe(first)
    await relay.unsubscribe(second)
    assert relay.subscriber_count == 0


async def test_a_subscriber_that_does_not_keep_up_is_closed_and_its_queue_stays_bounded(
    relay: NotificationRelay, streams: NotificationStreams
) -> None:
    # given: a connection whose subscriber never reads; the queue holds 3
    user, closed = _user(), _Closed()
    relay.add_connection(Connection("c1", user, "s1", 0, closed))
    slow = await relay.subscribe(user, "c1")

    # when: ten entries arrive
    for i in range(10):
        await streams.append(user, f"n{i}")

    # then: the slow one's connection is closed, its queue never held more than 3, and it ends
    await asyncio.wait_for(closed.event.wait(), 5)
    assert closed.calls == [(CLOSE_TOO_SLOW, "Subscriber too slow")]
    assert slow.queue.qsize() <= 3
    with pytest.raises(SubscriberClosed):
        for _ in range(5):
            await asyncio.wait_for(slow.next(), 5)
    assert relay.subscriber_count == 1  # until its stream (the GraphQL resolver) unsubscribes it
    await relay.unsubscribe(slow)
    assert relay.subscriber_count == 0


async def test_revoke_closes_the_sessions_connections(relay: NotificationRelay, streams: NotificationStreams) -> None:
    user = _user()
    this, other, older = _Closed(), _Closed(), _Closed()
    relay.add_connection(Connection("a", user, "s-this", 3, this))
    relay.add_connection(Connection("b", user, "s-other", 3, other))
    await relay.subscribe(user, "a")

    await streams.revoke(user, session_id="s-this")
    await asyncio.wait_for(this.event.wait(), 2)
    assert this.calls == [(CLOSE_REVOKED, "Session revoked")] and other.calls == []

    relay.add_connection(Connection("c", user, "s-older", 2, older))
    await streams.revoke(user, version=4)  # logout everywhere: version bumped to 4
    await asyncio.wait_for(other.event.wait(), 2)
    await asyncio.wait_for(older.event.wait(), 2)
    assert other.calls == older.calls == [(CLOSE_REVOKED, "Session revoked")]


async def test_a_stream_entry_made_while_the_relay_was_cut_off_still_arrives(
    relay: NotificationRelay, streams: NotificationStreams, redis: aioredis.Redis
) -> None:
    # given: a subscriber; the relay's pub/sub connection is killed by the server (CLIENT KILL)
    user = _user()
    sub = await relay.subscribe(user)
    await redis.client_kill_filter(_type="pubsub")
    await streams.append(user, "during")  # its wake-up may be lost with the connection

    # then: after the relay reconnects and re-reads the stream, the entry arrives
    got = await asyncio.wait_for(sub.next(), 10)
    assert got.notification_id == "during"
