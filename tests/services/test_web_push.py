"""Web Push against a push service this test serves on loopback: it decrypts each payload (``http_ece``,
RFC 8291 aes128gcm, with the browser key pair the test made), checks the VAPID header, and answers what the
test tells it (201, 410, 429 with Retry-After, 503). Endpoint validation (SSRF) and key validation too."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
from typing import TYPE_CHECKING, Any

import http_ece
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.statements import web_push as stmts
from services.core.errors import BadInput
from services.web_push import check_endpoint
from services.web_push_keys import generate_vapid_pem
from tests.support.factories import graphql, make_user
from tests.support.live import free_port
from tests.support.notifications import deliver_events, like
from tests.support.posts import publish_post

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from runtime.settings import Settings
    from tests.support.factories import TestUser

REGISTER = "mutation($input: PushSubscriptionInput!) { registerPushSubscription(input: $input) }"
UNREGISTER = "mutation($input: PushEndpointInput!) { unregisterPushSubscription(input: $input) }"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """Web Push on (a fresh VAPID key) and loopback endpoints allowed (env ``test``)."""
    return settings.model_copy(update={"vapid_private_key": generate_vapid_pem(), "web_push_allow_loopback": True})


class PushService:
    """A push service on loopback: records every POST, answers from ``answers`` (default 201)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.port = free_port()

    async def push(self, request: Request) -> Response:
        self.requests.append((request.url.path, dict(request.headers), await request.body()))
        status, headers = self.answers.pop(0) if self.answers else (201, {})
        return Response(status_code=status, headers=headers)

    def endpoint(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/push/{name}"


@pytest.fixture(scope="module")
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    app = Starlette(routes=[Route("/push/{name}", service.push, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=service.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield service
    server.should_exit = True
    await task


class Browser:
    """A browser's push key pair and auth secret (what ``PushManager.subscribe`` makes)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self, endpoint: str) -> dict[str, str]:
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": endpoint, "p256dh": _b64(raw), "auth": _b64(self.auth)}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def _user(api: httpx.AsyncClient, prefix: str) -> TestUser:
    return await make_user(api, f"{prefix}_{secrets.token_hex(3)}")


async def _register(api: httpx.AsyncClient, user: TestUser, sub: dict[str, str]) -> dict[str, Any]:
    return await graphql(api, REGISTER, {"input": sub}, token=user.token)


async def test_a_like_is_pushed_encrypted_and_signed(
    api: httpx.AsyncClient, app: Starlette, push_service: PushService
) -> None:
    ana, bob, browser = await _user(api, "ana"), await _user(api, "bob"), Browser()
    name = secrets.token_hex(4)
    assert (await _register(api, ana, browser.subscription(push_service.endpoint(name))))["data"] == {
        "registerPushSubscription": True
    }
    post = await publish_post(api, app, ana)
    await like(api, bob, post)
    await deliver_events(app)
    assert await app.state.services.web_push.send_due() == 1

    path, headers, body = push_service.requests[-1]
    assert path == f"/push/{name}"
    assert headers["content-encoding"] == "aes128gcm" and headers["ttl"] == "86400"
    assert headers["authorization"].startswith("vapid t=") and Vapid02.verify(headers["authorization"])
    payload = browser.decrypt(body)
    assert (payload["kind"], payload["actorCount"], payload["actors"]) == ("LIKE", 1, [bob.username])


async def test_a_410_removes_the_subscription(
    api: httpx.AsyncClient, app: Starlette, push_service: PushService
) -> None:
    ana, bob, browser = await _user(api, "ana"), await _user(api, "bob"), Browser()
    await _register(api, ana, browser.subscription(push_service.endpoint(secrets.token_hex(4))))
    post = await publish_post(api, app, ana)
    push_service.answers.append((410, {}))
    await like(api, bob, post)
    await deliver_events(app)
    assert await app.state.services.web_push.send_due() == 1
    graph = app.state.resources.graph
    assert await graph.read(stmts.SUBSCRIPTIONS, {"user_id": ana.id}) == []

    # and the next notification has nobody to push to
    before = len(push_service.requests)
    other = await publish_post(api, app, ana)
    await like(api, bob, other)
    await deliver_events(app)
    await app.state.services.web_push.send_due()
    assert len(push_service.requests) == before


async def test_429_and_5xx_are_retried_with_backoff(
    api: httpx.AsyncClient, app: Starlette, push_service: PushService
) -> None:
    ana, bob, browser = await _user(api, "ana"), await _user(api, "bob"), Browser()
    await _register(api, ana, browser.subscription(push_service.endpoint(secrets.token_hex(4))))
    post = await publish_post(api, app, ana)
    web_push, delivery = app.state.services.web_push, app.state.services.notification_delivery
    now = [delivery.clock()]
    saved = web_push.clock, delivery.clock
    web_push.clock = delivery.clock = lambda: now[0]
    try:
        push_service.answers += [(429, {"Retry-After": "30"}), (503, {}), (201, {})]
        await like(api, bob, post)
        await deliver_events(app)
        sent = len(push_service.requests)
        assert await web_push.send_due() == 1  # 429: retry after 30 s
        assert await web_push.send_due() == 0
        now[0] += 29_000
        assert await web_push.send_due() == 0
        now[0] += 1_000
        assert await web_push.send_due() == 1  # 503: backoff 2 s (second attempt)
        now[0] += 1_999
        assert await web_push.send_due() == 0
        now[0] += 1
        assert await web_push.send_due() == 1  # 201
        assert len(push_service.requests) == sent + 3
        assert browser.decrypt(push_service.requests[-1][2])["actorCount"] == 1
        assert await web_push.send_due() == 0
    finally:
        web_push.clock, delivery.clock = saved


async def test_unregister(api: httpx.AsyncClient, push_service: PushService) -> None:
    ana, browser = await _user(api, "ana"), Browser()
    endpoint = push_service.endpoint(secrets.token_hex(4))
    await _register(api, ana, browser.subscription(endpoint))
    first = await graphql(api, UNREGISTER, {"input": {"endpoint": endpoint}}, token=ana.token)
    again = await graphql(api, UNREGISTER, {"input": {"endpoint": endpoint}}, token=ana.token)
    assert (first["data"], again["data"]) == (
        {"unregisterPushSubscription": True}, {"unregisterPushSubscription": False},
    )  # fmt: skip


async def test_bad_subscriptions_are_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    ana, browser = await _user(api, "ana"), Browser()
    good = browser.subscription("http://127.0.0.1:9/push/x")
    cases = [
        ({**good, "endpoint": "https://10.1.2.3/push"}, "endpoint"),
        ({**good, "endpoint": "https://169.254.169.254/latest/meta-data"}, "endpoint"),
        ({**good, "endpoint": "ftp://127.0.0.1/x"}, "endpoint"),
        ({**good, "endpoint": "https://user:pw@127.0.0.1/x"}, "endpoint"),
        ({**good, "endpoint": "https://" + "a" * 2_100 + ".com/"}, "endpoint"),
        ({**good, "p256dh": _b64(os.urandom(65))}, "p256dh"),
        ({**good, "p256dh": "!!!"}, "p256dh"),
        ({**good, "auth": _b64(os.urandom(8))}, "auth"),
    ]
    for sub, field in cases:
        body = await _register(api, ana, sub)
        assert [e["extensions"] for e in body["errors"]] == [{"code": "BAD_USER_INPUT", "field": field}], sub
    anonymous = await graphql(api, REGISTER, {"input": good})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://8.8.8.8/push/abc", True),
        ("https://127.0.0.1/push", False),
        ("https://[::1]/push", False),
        ("https://192.168.1.10/push", False),
        ("https://[fe80::1]/push", False),
        ("https://100.64.0.1/push", False),
        ("http://8.8.8.8/push", False),
        ("http://127.0.0.1:8080/push", False),
    ],
)
async def test_outside_dev_and_test_only_public_https_endpoints_pass(endpoint: str, allowed: bool) -> None:
    if allowed:
        assert await check_endpoint(endpoint, allow_loopback=False) == endpoint
    else:
        with pytest.raises(BadInput) as caught:
            await check_endpoint(endpoint, allow_loopback=False)
        assert caught.value.field == "endpoint"


async def test_registrations_are_rate_limited(api: httpx.AsyncClient, push_service: PushService) -> None:
    ana, browser = await _user(api, "ana"), Browser()
    for i in range(10):
        body = await _register(api, ana, browser.subscription(push_service.endpoint(f"limit{i}")))
        assert body["data"] == {"registerPushSubscription": True}, body
    over = await _register(api, ana, browser.subscription(push_service.endpoint("limit10")))
    assert over["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert over["errors"][0]["extensions"]["retryAfter"] >= 1
