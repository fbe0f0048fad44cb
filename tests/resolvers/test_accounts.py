"""Accounts over GraphQL: register, login, refreshToken, logout, and what the access token must be."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import jwt
import pytest

from graph.cypher import cypher
from services.core.tokens import AccessTokens
from tests.support.factories import DEFAULT_PASSWORD, graphql, make_user, random_ip
from tests.support.posts import restart_redis

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from graph.store import GraphStore
    from runtime.settings import Settings

VIEWER = "{ viewer { id username } }"
REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresIn user { id username displayName isPrivate } }
}
"""
LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken expiresIn user { id username } }
}
"""
REFRESH = """
mutation($token: String!) {
  refreshToken(input: {refreshToken: $token}) { accessToken refreshToken expiresIn user { username } }
}
"""
LOGOUT = "mutation { logout }"
LOGOUT_ALL = "mutation { logout(allSessions: true) }"

COUNT_ACCOUNTS = cypher(
    "tests.auth.COUNT_ACCOUNTS",
    "MATCH (u:User) WITH count(u) AS users OPTIONAL MATCH (s:Session) RETURN users, count(s) AS sessions",
)
SESSIONS_OF = cypher(
    "tests.auth.SESSIONS_OF",
    "MATCH (:User {id: $id})-[:HAS_SESSION]->(s:Session) RETURN s.id AS id, s.revoked AS revoked",
)


def code_of(body: dict[str, Any]) -> str:
    """The ``extensions.code`` of the body's only error."""
    assert len(body["errors"]) == 1, body
    return body["errors"][0]["extensions"]["code"]


async def counts(graph_store: GraphStore) -> tuple[int, int]:
    row = (await graph_store.read(COUNT_ACCOUNTS))[0]
    return row["users"], row["sessions"]


async def register(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    payload = {"username": "x", "email": "x@example.com", "password": DEFAULT_PASSWORD, **fields}
    return await graphql(api, REGISTER, {"input": payload}, ip=random_ip())


async def login(api: httpx.AsyncClient, login_: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    return await graphql(api, LOGIN, {"input": {"login": login_, "password": password}}, ip=random_ip())


# -- register ---------------------------------------------------------------------------------------------


async def test_register_returns_a_working_token_pair(api: httpx.AsyncClient, settings: Settings) -> None:
    body = await register(api, username="Reg.Ana_1", email="Reg.Ana@Example.COM", displayName="  Ana  ")
    assert "errors" not in body, body
    payload = body["data"]["register"]
    assert payload["expiresIn"] == settings.access_token_ttl == 900
    assert payload["user"]["username"] == "reg.ana_1"  # stored lower-case
    assert payload["user"]["displayName"] == "Ana"
    assert payload["user"]["isPrivate"] is False
    assert len(payload["refreshToken"]) == 43  # secrets.token_urlsafe(32)
    me = await graphql(api, VIEWER, token=payload["accessToken"])
    assert me == {"data": {"viewer": {"id": payload["user"]["id"], "username": "reg.ana_1"}}}
    # the email is stored lower-cased: logging in with any case works
    again = await login(api, "REG.ANA@example.com")
    assert again["data"]["login"]["user"]["id"] == payload["user"]["id"]


async def test_register_accepts_the_boundaries(api: httpx.AsyncClient) -> None:
    body = await register(
        api, username="b" * 30, email="bounds@example.com", password="p" * 8, displayName="d" * 64
    )
    assert "errors" not in body, body
    long_pw = await register(api, username="bounds2", email="bounds2@example.com", password="p" * 256)
    assert "errors" not in long_pw, long_pw


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"username": ""}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "dash-ed"}, "username"),
        ({"username": "b" * 31}, "username"),
        ({"username": "ünïcode"}, "username"),
        ({"username": "x" * 10_000}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"email": "a" * 245 + "@example.com"}, "email"),
        ({"email": "e" * 10_000}, "email"),
        ({"password": "p" * 7}, "password"),
        ({"password": "p" * 257}, "password"),
        ({"displayName": "d" * 65}, "displayName"),
    ],
)
async def test_register_rejects_bad_input_and_writes_nothing(
    api: httpx.AsyncClient, graph_store: GraphStore, fields: dict[str, str], field: str
) -> None:
    before = await counts(graph_store)
    body = await register(api, **{"username": "okname", "email": "okname@example.com", **fields})
    assert body["data"] is None
    assert code_of(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == field
    assert await counts(graph_store) == before


async def test_duplicate_username_is_case_insensitive(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    await make_user(api, "dupe")
    before = await counts(graph_store)
    body = await register(api, username="DuPe", email="other-dupe@example.com")
    assert code_of(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "username"
    assert await counts(graph_store) == before


async def test_duplicate_email_is_case_insensitive(api: httpx.AsyncClient, graph_store: GraphStore) -> None:
    await make_user(api, "mail1", email="Shared@Example.com")
    before = await counts(graph_store)
    body = await register(api, username="mail2", email="shared@EXAMPLE.com")
    assert code_of(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "email"
    assert await counts(graph_store) == before


# -- login ------------------------------------------------------------------------------------------------


async def test_login_by_username_or_email_opens_separate_sessions(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    lia = await make_user(api, "lia")
    by_name = await login(api, "LIA")
    by_mail = await login(api, "lia@example.com")
    assert by_name["data"]["login"]["user"] == {"id": lia.gid, "username": "lia"}
    assert by_mail["data"]["login"]["user"] == {"id": lia.gid, "username": "lia"}
    tokens = {lia.token, by_name["data"]["login"]["accessToken"], by_mail["data"]["login"]["accessToken"]}
    for token in tokens:
        assert (await graphql(api, VIEWER, token=token))["data"]["viewer"]["username"] == "lia"
    sessions = await graph_store.read(SESSIONS_OF, {"id": lia.id})
    assert len(sessions) == 3 and not any(s["revoked"] for s in sessions)


@pytest.mark.parametrize(
    ("login_", "password"), [("lou", "wrong password"), ("nobody_here", DEFAULT_PASSWORD)]
)
async def test_login_failure_is_unauthenticated_with_one_message(
    api: httpx.AsyncClient, login_: str, password: str
) -> None:
    await make_user(api, "lou") if login_ == "lou" else None
    body = await login(api, login_, password)
    assert body["data"] is None
    assert code_of(body) == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "Invalid login or password."


async def test_login_rejects_overlong_values(api: httpx.AsyncClient) -> None:
    body = await login(api, "l" * 255)
    assert code_of(body) == "BAD_USER_INPUT" and body["errors"][0]["extensions"]["field"] == "login"
    body = await login(api, "someone", "p" * 257)
    assert code_of(body) == "BAD_USER_INPUT" and body["errors"][0]["extensions"]["field"] == "password"


# -- refresh tokens ---------------------------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_family(api: httpx.AsyncClient) -> None:
    rob = await make_user(api, "rob")
    other = (await login(api, "rob"))["data"]["login"]  # a second device: its own family
    first = await graphql(api, REFRESH, {"token": rob.refresh_token})
    assert "errors" not in first, first
    pair = first["data"]["refreshToken"]
    assert pair["user"] == {"username": "rob"} and pair["expiresIn"] == 900
    assert pair["refreshToken"] != rob.refresh_token
    assert (await graphql(api, VIEWER, token=pair["accessToken"]))["data"]["viewer"]["username"] == "rob"
    second = await graphql(api, REFRESH, {"token": pair["refreshToken"]})  # rotation continues
    newest = second["data"]["refreshToken"]

    reused = await graphql(api, REFRESH, {"token": rob.refresh_token})  # an already-rotated token
    assert code_of(reused) == "UNAUTHENTICATED"
    # the whole family is dead: its newest refresh token and every access token of the session
    assert code_of(await graphql(api, REFRESH, {"token": newest["refreshToken"]})) == "UNAUTHENTICATED"
    for token in (rob.token, pair["accessToken"], newest["accessToken"]):
        assert code_of(await graphql(api, VIEWER, token=token)) == "UNAUTHENTICATED"
    # the other device is untouched
    assert (await graphql(api, VIEWER, token=other["accessToken"]))["data"]["viewer"]["username"] == "rob"
    assert "errors" not in await graphql(api, REFRESH, {"token": other["refreshToken"]})


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 43, "y" * 600])
async def test_unknown_refresh_token_is_unauthenticated(api: httpx.AsyncClient, token: str) -> None:
    assert code_of(await graphql(api, REFRESH, {"token": token})) == "UNAUTHENTICATED"


# -- logout -----------------------------------------------------------------------------------------------


async def test_logout_kills_this_session_only(api: httpx.AsyncClient, graph_store: GraphStore) -> None:
    leo = await make_user(api, "leo")
    phone = (await login(api, "leo"))["data"]["login"]
    assert (await graphql(api, VIEWER, token=leo.token))["data"]["viewer"]["username"] == "leo"
    assert await graphql(api, LOGOUT, token=leo.token) == {"data": {"logout": True}}
    assert code_of(await graphql(api, VIEWER, token=leo.token)) == "UNAUTHENTICATED"
    assert code_of(await graphql(api, REFRESH, {"token": leo.refresh_token})) == "UNAUTHENTICATED"
    assert (await graphql(api, VIEWER, token=phone["accessToken"]))["data"]["viewer"]["username"] == "leo"
    revoked = {s["revoked"] for s in await graph_store.read(SESSIONS_OF, {"id": leo.id})}
    assert revoked == {True, False}


async def test_logout_all_sessions_bumps_the_session_version(api: httpx.AsyncClient) -> None:
    max_ = await make_user(api, "max")
    phone = (await login(api, "max"))["data"]["login"]
    assert await graphql(api, LOGOUT_ALL, token=phone["accessToken"]) == {"data": {"logout": True}}
    for token in (max_.token, phone["accessToken"]):
        assert code_of(await graphql(api, VIEWER, token=token)) == "UNAUTHENTICATED"
    for refresh in (max_.refresh_token, phone["refreshToken"]):
        assert code_of(await graphql(api, REFRESH, {"token": refresh})) == "UNAUTHENTICATED"
    fresh = (await login(api, "max"))["data"]["login"]  # a new session carries the new version
    assert (await graphql(api, VIEWER, token=fresh["accessToken"]))["data"]["viewer"]["username"] == "max"


async def test_logout_needs_a_session(api: httpx.AsyncClient) -> None:
    assert code_of(await graphql(api, LOGOUT)) == "UNAUTHENTICATED"


# -- the access token -------------------------------------------------------------------------------------


def forge(settings: Settings, **overrides: Any) -> dict[str, Any]:
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
        "typ": "access",
        "ver": 0,
    }
    claims.update(overrides)
    return claims


async def test_an_anonymous_viewer_is_null(api: httpx.AsyncClient) -> None:
    assert await graphql(api, VIEWER) == {"data": {"viewer": None}}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 forgery
async def test_bad_access_tokens_are_unauthenticated(api: httpx.AsyncClient, settings: Settings) -> None:
    eve = await make_user(api, "eve")
    sid = jwt.decode(eve.token, options={"verify_signature": False})["sid"]
    secret = settings.jwt_secret
    base = forge(settings, sub=eve.id, sid=sid)
    header = {"typ": "at+jwt"}
    tokens = {
        "expired": AccessTokens(
            secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=900
        ).issue(eve.id, sid, 0, now=int(time.time()) - 901),
        "other secret": jwt.encode(base, "another-secret-of-at-least-32-bytes!", "HS256", headers=header),
        "HS512": jwt.encode(base, secret, "HS512", headers=header),
        "alg none": jwt.encode(base, None, "none", headers=header),
        "wrong iss": jwt.encode({**base, "iss": "evil"}, secret, "HS256", headers=header),
        "wrong aud": jwt.encode({**base, "aud": "other-api"}, secret, "HS256", headers=header),
        "typ claim refresh": jwt.encode({**base, "typ": "refresh"}, secret, "HS256", headers=header),
        "typ header JWT": jwt.encode(base, secret, "HS256", headers={"typ": "JWT"}),
        "no exp": jwt.encode({k: v for k, v in base.items() if k != "exp"}, secret, "HS256", headers=header),
        "no sid": jwt.encode({k: v for k, v in base.items() if k != "sid"}, secret, "HS256", headers=header),
        "stale ver": jwt.encode({**base, "ver": 7}, secret, "HS256", headers=header),
        "unknown session": jwt.encode({**base, "sid": "no-such-session"}, secret, "HS256", headers=header),
        "refresh token": eve.refresh_token,
        "garbage": "abc.def.ghi",
    }
    sanity = jwt.encode(base, secret, "HS256", headers=header)  # the same claims, correctly made, pass
    assert (await graphql(api, VIEWER, token=sanity))["data"]["viewer"]["username"] == "eve"
    for name, token in tokens.items():
        body = await graphql(api, VIEWER, token=token)
        assert body["data"] == {"viewer": None}, name
        assert code_of(body) == "UNAUTHENTICATED", name


async def test_a_token_accepted_before_is_refused_once_expired(api: httpx.AsyncClient, settings: Settings) -> None:
    """The server remembers verified tokens (``services.core.tokens``) only until their ``exp``."""
    uma = await make_user(api, "uma")
    sid = jwt.decode(uma.token, options={"verify_signature": False})["sid"]
    issued = int(time.time())
    short = AccessTokens(
        settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=2
    ).issue(uma.id, sid, 0, now=issued)
    for _ in range(2):  # verified, then remembered
        assert (await graphql(api, VIEWER, token=short))["data"]["viewer"]["username"] == "uma"
    await asyncio.sleep(max(0.0, issued + 2 - time.time()) + 0.05)
    body = await graphql(api, VIEWER, token=short)
    assert body["data"] == {"viewer": None}
    assert code_of(body) == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "Access token expired."


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer ", "Basic dXNlcjpwdw==", "Bearer a b"])
async def test_malformed_authorization_headers_are_unauthenticated(
    api: httpx.AsyncClient, header: str
) -> None:
    response = await api.post("/graphql", json={"query": VIEWER}, headers={"Authorization": header})
    assert code_of(response.json()) == "UNAUTHENTICATED"


async def test_scheme_is_case_insensitive(api: httpx.AsyncClient) -> None:
    kim = await make_user(api, "kim")
    response = await api.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"bearer {kim.token}"}
    )
    assert response.json()["data"]["viewer"]["username"] == "kim"


# -- Redis down -------------------------------------------------------------------------------------------


async def test_authentication_and_logout_work_while_redis_is_down(
    api: httpx.AsyncClient, app: Starlette, stack: EmbeddedStack, graph_store: GraphStore
) -> None:
    ida = await make_user(api, "ida")
    phone = (await login(api, "ida"))["data"]["login"]
    for token in (ida.token, phone["accessToken"]):  # both sessions' "active" state is now cached
        assert (await graphql(api, VIEWER, token=token))["data"]["viewer"]["username"] == "ida"
    await stack.stop_service("redis")
    try:
        assert (await graphql(api, VIEWER, token=ida.token))["data"]["viewer"]["username"] == "ida"
        assert (await graphql(api, VIEWER, token=phone["accessToken"]))["data"]["viewer"]["username"] == "ida"
        assert await graphql(api, LOGOUT, token=phone["accessToken"]) == {"data": {"logout": True}}
        assert code_of(await graphql(api, VIEWER, token=phone["accessToken"])) == "UNAUTHENTICATED"
        # refresh tokens live in Redis only: refresh, login and register say so, and write nothing
        sessions_before = await graph_store.read(SESSIONS_OF, {"id": ida.id})
        assert code_of(await graphql(api, REFRESH, {"token": ida.refresh_token})) == "SERVICE_UNAVAILABLE"
        assert code_of(await login(api, "ida")) == "SERVICE_UNAVAILABLE"
        assert (
            code_of(await register(api, username="ida2", email="ida2@example.com")) == "SERVICE_UNAVAILABLE"
        )
        assert await graph_store.read(SESSIONS_OF, {"id": ida.id}) == sessions_before
    finally:
        await restart_redis(stack, app.state.resources.redis)
    assert "errors" not in await register(api, username="ida2", email="ida2@example.com")
    # back up: the logout made during the outage holds (replayed into the cache), the other session works
    assert code_of(await graphql(api, VIEWER, token=phone["accessToken"])) == "UNAUTHENTICATED"
    assert (await graphql(api, VIEWER, token=ida.token))["data"]["viewer"]["username"] == "ida"
    assert "errors" not in await graphql(api, REFRESH, {"token": ida.refresh_token})


# -- WebSocket (graphql-transport-ws) ---------------------------------------------------------------------


async def ws_connection_init(
    app: Starlette, payload: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open ``/graphql`` over the ASGI WebSocket protocol in-process, send ``connection_init`` with
    ``payload``; returns the first two ASGI messages the server sent (accept, then ack or close)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"sec-websocket-protocol", b"graphql-transport-ws")],
        "subprotocols": ["graphql-transport-ws"],
        "client": ("127.0.0.1", 40001),
        "server": ("testserver", 80),
    }
    await inbox.put({"type": "websocket.connect"})
    await inbox.put(
        {"type": "websocket.receive", "text": json.dumps({"type": "connection_init", "payload": payload})}
    )
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    try:
        first = await asyncio.wait_for(outbox.get(), 10)
        second = await asyncio.wait_for(outbox.get(), 10)
    finally:
        await inbox.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(task, 10)
    return first, second


async def test_websocket_auth_uses_the_connection_init_payload(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    wes = await make_user(api, "wes")
    accept, ack = await ws_connection_init(app, {"authorization": f"Bearer {wes.token}"})
    assert accept["type"] == "websocket.accept" and accept["subprotocol"] == "graphql-transport-ws"
    assert ack["type"] == "websocket.send" and json.loads(ack["text"])["type"] == "connection_ack"

    await graphql(api, LOGOUT, token=wes.token)
    for payload in (
        {"authorization": f"Bearer {wes.token}"},
        {"authorization": "Bearer nope"},
        {"authorization": wes.refresh_token},
        {"authorization": 42},
    ):
        accept, closed = await ws_connection_init(app, payload)
        assert accept["type"] == "websocket.accept"
        assert closed["type"] == "websocket.close", payload
        assert closed["code"] == 4403, payload
