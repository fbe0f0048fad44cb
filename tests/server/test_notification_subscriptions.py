"""The live ``notifications`` subscription through uvicorn with real clients (gql's ``WebsocketsTransport`` and,
for close codes, the ``websockets`` client): debounce, replay after a reconnect, do-not-disturb, logout,
blocks, connection_init rules, keep-alive pings and the per-connection limit.

Settings of this module: debounce 1 s, connection_init timeout 1 s, keep-alive pings every 0.5 s, two
operations per connection. The delivery job runs as in production (``workers.notification_delivery`` step,
every 0.1 s); events reach the worker's use case through ``deliver_events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import websockets

from tests.support.factories import graphql, make_user
from tests.support.live import Subscriber, serve_app, wait_subscribed
from tests.support.notifications import PREFS, deliver_events, like, ok
from tests.support.posts import block, publish_post
from workers.notification_delivery import make_step

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from starlette.applications import Starlette

    from runtime.settings import Settings
    from tests.support.factories import TestUser

LOGOUT = "mutation($all: Boolean) { logout(allSessions: $all) }"
LOGIN = "mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """The module's settings with short live-delivery times."""
    return settings.model_copy(update={
        "notification_debounce": 1.0, "ws_connection_init_timeout": 1.0, "ws_keepalive_interval": 0.5,
        "ws_max_subscriptions": 2,
    })  # fmt: skip


@pytest.fixture(scope="module")
async def url(app: Starlette) -> AsyncIterator[str]:
    """The app behind a real uvicorn server."""
    async with serve_app(app) as ws_url:
        yield ws_url


@pytest.fixture
async def delivery_job(app: Starlette) -> AsyncIterator[None]:
    """The ``notification-delivery`` job's step, every 0.1 s, while the test runs."""
    step = make_step(app.state.services)
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            await step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)

    task = asyncio.create_task(loop())
    yield
    stop.set()
    await task


async def _user(api: httpx.AsyncClient, prefix: str) -> TestUser:
    return await make_user(api, f"{prefix}_{secrets.token_hex(3)}")


async def test_a_like_arrives_at_once_and_a_busy_group_once_per_debounce(
    api: httpx.AsyncClient, app: Starlette, url: str, delivery_job: None
) -> None:
    ana, bob, cy, dee = [await _user(api, p) for p in ("ana", "bob", "cy", "dee")]
    post = await publish_post(api, app, ana)
    async with Subscriber(url, ana.token) as sub:
        await wait_subscribed(app)
        # when: bob likes: the first event of the group goes out at once
        started = time.monotonic()
        await like(api, bob, post)
        await deliver_events(app)
        first = await sub.next()
        assert (first["kind"], first["actorCount"], first["post"]["id"]) == ("LIKE", 1, post.gid)

        # when: cy and dee like right after: held, then ONE coalesced update after the debounce
        await like(api, cy, post)
        await like(api, dee, post)
        await deliver_events(app)
        second = await sub.next()
        assert time.monotonic() - started >= 1.0
        assert (second["id"], second["actorCount"]) == (first["id"], 3)
        assert [a["username"] for a in second["actors"]] == [dee.username, cy.username, bob.username]
        await sub.quiet(1.5)


async def test_a_reconnect_with_after_replays_exactly_what_was_missed_then_goes_live(
    api: httpx.AsyncClient, app: Starlette, url: str, delivery_job: None
) -> None:
    ana, bob = await _user(api, "ana"), await _user(api, "bob")
    posts = [await publish_post(api, app, ana) for _ in range(5)]
    async with Subscriber(url, ana.token) as sub:
        await wait_subscribed(app)
        await like(api, bob, posts[0])
        await deliver_events(app)
        seen = await sub.next()
    # given: disconnected; three notifications (three posts liked) happen meanwhile
    for post in posts[1:4]:
        await like(api, bob, post)
        await deliver_events(app)

    # when: reconnecting with after = the last one seen
    async with Subscriber(url, ana.token, after=seen["id"]) as sub:
        replayed = [await sub.next() for _ in range(3)]
        assert [n["post"]["id"] for n in replayed] == [p.gid for p in posts[1:4]]
        await wait_subscribed(app)
        await like(api, bob, posts[4])
        await deliver_events(app)
        live = await sub.next()
        assert live["post"]["id"] == posts[4].gid
        await sub.quiet(1.0)


async def test_do_not_disturb_holds_every_update_and_sends_one_when_it_ends(
    api: httpx.AsyncClient, app: Starlette, url: str, delivery_job: None
) -> None:
    # given: ana's window 22:00-07:00 in Tokyo, and the delivery clock at 23:30 there
    ana, bob, cy = [await _user(api, p) for p in ("ana", "bob", "cy")]
    await ok(api, PREFS, {"input": {"doNotDisturbStart": "22:00", "doNotDisturbEnd": "07:00",
                                    "timeZone": "Asia/Tokyo"}}, ana)  # fmt: skip
    post = await publish_post(api, app, ana)
    delivery = app.state.services.notification_delivery
    tokyo_night = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # 23:30 JST
    now = [int(tokyo_night.timestamp() * 1000)]
    saved = delivery.clock
    delivery.clock = lambda: now[0]
    try:
        async with Subscriber(url, ana.token) as sub:
            await wait_subscribed(app)
            await like(api, bob, post)
            await like(api, cy, post)
            await deliver_events(app)
            # then: nothing live, while the list shows the group at once
            await sub.quiet(1.5)
            body = await graphql(api, "{ notifications { edges { node { actorCount } } } }", token=ana.token)
            assert body["data"]["notifications"]["edges"] == [{"node": {"actorCount": 2}}]

            # when: the clock passes 07:00 JST: one coalesced update
            now[0] = int((tokyo_night + timedelta(hours=7, minutes=31)).timestamp() * 1000)
            update = await sub.next()
            assert update["actorCount"] == 2
            await sub.quiet(1.0)
    finally:
        delivery.clock = saved


async def test_a_blocked_actor_is_out_of_the_next_update(
    api: httpx.AsyncClient, app: Starlette, url: str, delivery_job: None
) -> None:
    ana, bob, cy = [await _user(api, p) for p in ("ana", "bob", "cy")]
    post = await publish_post(api, app, ana)
    async with Subscriber(url, ana.token) as sub:
        await wait_subscribed(app)
        await like(api, cy, post)
        await deliver_events(app)
        assert (await sub.next())["actorCount"] == 1
        await like(api, bob, post)
        await deliver_events(app)  # held by the debounce
        await block(api, ana, bob)  # before it goes out
        update = await sub.next()
        assert (update["actorCount"], [a["username"] for a in update["actors"]]) == (1, [cy.username])


async def _closed_within(sub: Subscriber, seconds: float) -> None:
    await asyncio.wait_for(sub.ended.wait(), seconds)


async def test_logout_closes_that_sessions_socket_within_a_second(
    api: httpx.AsyncClient, app: Starlette, url: str
) -> None:
    ana = await _user(api, "ana")
    other = await graphql(api, LOGIN, {"l": ana.username, "p": ana.password})
    other_token = other["data"]["login"]["accessToken"]
    async with Subscriber(url, ana.token) as mine, Subscriber(url, other_token) as theirs:
        await wait_subscribed(app, 2)
        await graphql(api, LOGOUT, {"all": False}, token=ana.token)
        started = time.monotonic()
        await _closed_within(mine, 1.0)
        assert time.monotonic() - started < 1.0
        assert mine.close_code == 4403
        assert not theirs.ended.is_set()  # the other session's socket stays open

        await graphql(api, LOGOUT, {"all": True}, token=other_token)
        await _closed_within(theirs, 1.0)
        assert theirs.close_code == 4403


async def _raw(url: str, subprotocol: str = "graphql-transport-ws") -> websockets.ClientConnection:
    return await websockets.connect(url, subprotocols=[subprotocol])  # type: ignore[list-item]


async def test_connection_init_rules(api: httpx.AsyncClient, url: str) -> None:
    ana = await _user(api, "ana")
    for payload in ({}, {"authorization": "Bearer nope"}, {"authorization": ana.refresh_token}):
        ws = await _raw(url)
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4403, payload

    # no connection_init within the timeout (1 s here): 4408
    ws = await _raw(url)
    started = time.monotonic()
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 4408 and time.monotonic() - started >= 0.9

    # the legacy graphql-ws subprotocol is refused
    with pytest.raises((websockets.InvalidStatus, websockets.ConnectionClosed, websockets.InvalidHandshake)):
        ws = await _raw(url, "graphql-ws")
        await asyncio.wait_for(ws.recv(), 5)


async def test_the_server_pings_an_idle_connection(api: httpx.AsyncClient, url: str) -> None:
    ana = await _user(api, "ana")
    ws = await _raw(url)
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {ana.token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "connection_ack"}
        pings = [json.loads(await asyncio.wait_for(ws.recv(), 2)) for _ in range(2)]
        assert pings == [{"type": "ping"}, {"type": "ping"}]
    finally:
        await ws.close()


async def test_operations_per_connection_are_limited(api: httpx.AsyncClient, url: str) -> None:
    ana = await _user(api, "ana")
    ws = await _raw(url)
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {ana.token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = "subscription { notifications { id } }"
        for op in ("1", "2", "3"):
            await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": {"query": query}}))
        message = await _first_not_ping(ws)
        assert message["id"] == "3" and message["type"] == "error"
        assert message["payload"][0]["message"] == "Subscription limit reached"
    finally:
        await ws.close()


async def _first_not_ping(ws: websockets.ClientConnection) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if message.get("type") != "ping":
            return message



async def test_after_must_be_one_of_the_viewers_notifications(
    api: httpx.AsyncClient, app: Starlette, url: str
) -> None:
    ana, bob = await _user(api, "ana"), await _user(api, "bob")
    post = await publish_post(api, app, ana)
    await like(api, bob, post)
    await deliver_events(app)
    body = await graphql(api, "{ notifications { edges { node { id } } } }", token=ana.token)
    anas = body["data"]["notifications"]["edges"][0]["node"]["id"]
    ws = await _raw(url)
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {bob.token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = "subscription($after: ID) { notifications(after: $after) { id } }"
        for op, after in (("1", anas), ("2", "garbage")):
            await ws.send(json.dumps({"id": op, "type": "subscribe",
                                      "payload": {"query": query, "variables": {"after": after}}}))  # fmt: skip
            message = await _first_not_ping(ws)
            while message["type"] == "complete":  # the previous operation's end
                message = await _first_not_ping(ws)
            assert message["id"] == op and message["type"] in ("next", "error"), message
            errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
            assert [e["extensions"] for e in errors] == [{"code": "BAD_USER_INPUT", "field": "after"}]
    finally:
        await ws.close()


async def test_a_subscription_over_the_node_limit_is_refused_before_it_subscribes(
    api: httpx.AsyncClient, url: str
) -> None:
    ana = await _user(api, "cost")
    costly = (
        "subscription { notifications { id post { likers(first: 100) { edges { node {"
        " followers(first: 100) { totalCount } } } } } } }"
    )
    ws = await _raw(url)
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {ana.token}"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": costly}}))
    answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
    await ws.close()
    errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
    assert answer["type"] in ("error", "next")
    assert [e["extensions"] for e in errors] == [{"code": "QUERY_TOO_COMPLEX", "cost": 10_100, "limit": 10_000}]
