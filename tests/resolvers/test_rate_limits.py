"""Rate limits through the API with the production budgets: login per (login, IP), per IP and per account
(device tokens), register per IP, every per-user budget of API.md, aliases count, ``rateLimits``, and the
``INSTAGRAPH_RATE_LIMITS`` overrides."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import pytest

from cache.keys import RedisKeys
from graph.cypher import cypher
from schema.base import to_global_id
from server.app import create_app
from services.rate_limits import LIMITS
from tests.support.factories import DEFAULT_PASSWORD, graphql, make_user, random_ip

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import redis.asyncio as aioredis

    from graph.store import GraphStore
    from runtime.settings import Settings
    from tests.support.factories import TestUser


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """This module runs with the production budgets (no ``INSTAGRAPH_RATE_LIMITS``)."""
    return settings.model_copy(update={"rate_limits": ""})

LOGIN = """
mutation($login: String!, $password: String!, $device: String) {
  login(input: {login: $login, password: $password, deviceToken: $device}) { accessToken deviceToken user { username } }
}
"""
ALIASED_LOGINS = (
    "mutation($login: String!, $password: String!) {\n"
    + "\n".join(
        f"  l{i}: login(input: {{login: $login, password: $password}}) {{ accessToken }}"
        for i in range(1, 11)
    )
    + "\n}"
)
REGISTER = """
mutation($username: String!, $email: String!) {
  register(input: {username: $username, email: $email, password: "long enough pw"}) { user { username } }
}
"""
SESSION_COUNT = cypher(
    "tests.rate_limits.SESSION_COUNT",
    "MATCH (:User {id: $id})-[:HAS_SESSION]->(s:Session) RETURN count(s) AS n",
)


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body["errors"]) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


async def login(
    api: httpx.AsyncClient, login_: str, ip: str, password: str = DEFAULT_PASSWORD, device: str | None = None
) -> dict[str, Any]:
    variables = {"login": login_, "password": password, "device": device}
    return await graphql(api, LOGIN, variables, ip=ip)


async def test_ten_aliased_logins_are_ten_attempts(api: httpx.AsyncClient, graph_store: GraphStore) -> None:
    ali = await make_user(api, "ali")
    ip = random_ip()
    body = await graphql(api, ALIASED_LOGINS, {"login": "ali", "password": DEFAULT_PASSWORD}, ip=ip)
    # l1..l5 pass; l6 is refused, and as `login` is non-null that ends the (serial) mutation
    assert body["data"] is None
    error = only_error(body)
    assert error["path"] == ["l6"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= error["extensions"]["retryAfter"] <= 12  # 5 per minute: one attempt every 12 s
    assert await graph_store.read(SESSION_COUNT, {"id": ali.id}) == [{"n": 1 + 5}]  # register + 5 logins
    again = await login(api, "ali", ip)
    assert only_error(again)["extensions"]["code"] == "RATE_LIMITED"
    # the limit is per (login, IP): the same login from elsewhere, and another login from here, still work
    assert (await login(api, "ALI", random_ip()))["data"]["login"]["user"] == {"username": "ali"}
    await make_user(api, "ali2")
    assert (await login(api, "ali2", ip))["data"]["login"]["user"] == {"username": "ali2"}


async def test_failed_logins_count_too(api: httpx.AsyncClient) -> None:
    await make_user(api, "bob")
    ip = random_ip()
    for _ in range(5):
        assert (
            only_error(await login(api, "bob", ip, "wrong password"))["extensions"]["code"]
            == "UNAUTHENTICATED"
        )
    # the right password no longer helps from this IP for this login
    assert only_error(await login(api, "bob", ip))["extensions"]["code"] == "RATE_LIMITED"
    # the login is normalised before counting: case does not buy new attempts
    assert only_error(await login(api, "BOB", ip))["extensions"]["code"] == "RATE_LIMITED"


async def test_twenty_logins_per_minute_per_ip(api: httpx.AsyncClient) -> None:
    await make_user(api, "cat")
    ip = random_ip()
    started = time.monotonic()
    passed = 0
    while True:  # different logins, none exists: only the per-IP limit can stop them
        error = only_error(await login(api, f"ghost{passed}", ip))
        if error["extensions"]["code"] == "RATE_LIMITED":
            break
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        passed += 1
        assert passed < 40
    elapsed = time.monotonic() - started
    # a burst of 20, plus one more per 3 s emission interval that elapsed meanwhile (GCRA)
    assert 20 <= passed <= 20 + int(elapsed // 3)
    assert 1 <= error["extensions"]["retryAfter"] <= 3
    refused = only_error(await login(api, "cat", ip))  # even a good attempt from this IP waits
    assert refused["extensions"]["code"] == "RATE_LIMITED"
    assert (await login(api, "cat", random_ip()))["data"]["login"]["user"] == {"username": "cat"}


async def register(api: httpx.AsyncClient, username: str, ip: str) -> dict[str, Any]:
    return await graphql(api, REGISTER, {"username": username, "email": f"{username}@example.com"}, ip=ip)


async def test_five_registrations_per_hour_per_ip(api: httpx.AsyncClient) -> None:
    ip = random_ip()
    for i in range(5):
        body = await register(api, f"reg{i}", ip)
        assert body["data"]["register"]["user"] == {"username": f"reg{i}"}, body
    error = only_error(await register(api, "reg5", ip))
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 700 <= error["extensions"]["retryAfter"] <= 720  # 5 per hour: one every 720 s
    assert (await register(api, "reg5", random_ip()))["data"]["register"]["user"] == {"username": "reg5"}


def _code(body: dict[str, Any]) -> str:
    return only_error(body)["extensions"]["code"]  # type: ignore[no-any-return]


async def _signed_up(api: httpx.AsyncClient, name: str) -> tuple[TestUser, str]:
    """A new account and the device token of its first sign-in."""
    user = await make_user(api, name)
    body = await login(api, name, random_ip())
    return user, body["data"]["login"]["deviceToken"]


async def test_a_distributed_guess_at_one_account_is_stopped_after_ten_failures(api: httpx.AsyncClient) -> None:
    _, device = await _signed_up(api, "acct1")
    codes = [_code(await login(api, "acct1", random_ip(), "wrong password")) for _ in range(30)]
    assert codes == ["UNAUTHENTICATED"] * 10 + ["RATE_LIMITED"] * 20
    refused = only_error(await login(api, "acct1", random_ip(), "wrong password"))
    assert 1 <= refused["extensions"]["retryAfter"] <= 90  # 10 per 15 min: one attempt every 90 s

    # counted before the password is checked: the right password from a new device is refused too
    assert _code(await login(api, "ACCT1@example.com", random_ip())) == "RATE_LIMITED"
    # ... but the owner's device that signed in before still signs in, from any address
    again = await login(api, "acct1", random_ip(), device=device)
    assert again["data"]["login"]["user"] == {"username": "acct1"}


async def test_a_known_device_has_its_own_budget_and_a_stolen_token_of_another_account_is_ignored(
    api: httpx.AsyncClient,
) -> None:
    _, device = await _signed_up(api, "acct2")
    _, other_device = await _signed_up(api, "acct3")
    with_device = [_code(await login(api, "acct2", random_ip(), "nope", device)) for _ in range(11)]
    assert with_device == ["UNAUTHENTICATED"] * 10 + ["RATE_LIMITED"]
    # the account-wide budget is untouched by the device's failures
    assert (await login(api, "acct2", random_ip()))["data"]["login"]["user"] == {"username": "acct2"}
    # a device token of acct3 does not buy acct2 a fresh budget
    codes = [_code(await login(api, "acct2", random_ip(), "nope", other_device)) for _ in range(11)]
    assert codes == ["UNAUTHENTICATED"] * 10 + ["RATE_LIMITED"]
    forged = device[:-4] + ("AAAA" if not device.endswith("AAAA") else "BBBB")
    assert _code(await login(api, "acct2", random_ip(), "nope", forged)) == "RATE_LIMITED"


async def test_concurrent_guesses_cannot_race_past_the_account_budget(api: httpx.AsyncClient) -> None:
    await make_user(api, "acct4")
    bodies = await asyncio.gather(*(login(api, "acct4", random_ip(), "wrong") for _ in range(16)))
    codes = sorted(_code(b) for b in bodies)
    assert codes == ["RATE_LIMITED"] * 6 + ["UNAUTHENTICATED"] * 10


async def test_a_successful_login_resets_the_account_budget(api: httpx.AsyncClient) -> None:
    await make_user(api, "acct5")
    for _ in range(9):
        assert _code(await login(api, "acct5", random_ip(), "wrong")) == "UNAUTHENTICATED"
    assert (await login(api, "acct5", random_ip()))["data"]["login"]["user"] == {"username": "acct5"}
    codes = [_code(await login(api, "acct5", random_ip(), "wrong")) for _ in range(11)]
    assert codes == ["UNAUTHENTICATED"] * 10 + ["RATE_LIMITED"]


async def test_an_unknown_login_is_throttled_like_an_account(api: httpx.AsyncClient) -> None:
    codes = [_code(await login(api, f"ghost_{i % 1}", random_ip(), "x")) for i in range(11)]
    assert codes == ["UNAUTHENTICATED"] * 10 + ["RATE_LIMITED"]


def _post_id() -> str:
    return to_global_id("Post", secrets.token_hex(8))


#: One cheap call per action (each is counted before its resolver runs, so refused input counts too).
CALLS: dict[str, tuple[str, Any]] = {
    "createPost": ("mutation { createPost(input: {media: []}) { post { id } } }", None),
    "likePost": ("mutation($p: ID!) { likePost(input: {postId: $p}) { id } }", _post_id),
    "unlikePost": ("mutation($p: ID!) { unlikePost(input: {postId: $p}) { id } }", _post_id),
    "addComment": ('mutation($p: ID!) { addComment(input: {postId: $p, text: "hi"}) { id } }', _post_id),
    "feed": ("{ feed(first: 1) { edges { cursor } } }", None),
}


@pytest.mark.parametrize(
    ("action", "calls"),
    [("createPost", ["createPost"]), ("likePost", ["likePost", "unlikePost"]), ("addComment", ["addComment"]),
     ("feed", ["feed"])],
)  # fmt: skip
async def test_every_per_user_budget_is_enforced(api: httpx.AsyncClient, action: str, calls: list[str]) -> None:
    user = await make_user(api, f"b_{action.lower()}")
    budget = LIMITS[action].count
    codes = []
    for i in range(budget + 1):
        query, make_var = CALLS[calls[i % len(calls)]]
        body = await graphql(api, query, {"p": make_var()} if make_var else None, token=user.token)
        codes.append(only_error(body)["extensions"]["code"] if body.get("errors") else "OK")
    assert "RATE_LIMITED" not in codes[:budget]
    assert codes[budget] == "RATE_LIMITED"
    other = await make_user(api, f"b2_{action.lower()}")
    query, make_var = CALLS[calls[0]]
    fresh = await graphql(api, query, {"p": make_var()} if make_var else None, token=other.token)
    assert all(e["extensions"]["code"] != "RATE_LIMITED" for e in fresh.get("errors") or [])


async def test_unfollow_counts_against_the_follow_budget(api: httpx.AsyncClient) -> None:
    user, star = await make_user(api, "unf_user"), await make_user(api, "unf_star")
    follow = "mutation($id: ID!) { follow(input: {userId: $id}) { status } }"
    unfollow = "mutation($id: ID!) { unfollow(input: {userId: $id}) { status } }"
    codes = []
    for i in range(31):
        body = await graphql(api, unfollow if i % 2 else follow, {"id": star.gid}, token=user.token)
        codes.append(only_error(body)["extensions"]["code"] if body.get("errors") else "OK")
    assert codes == ["OK"] * 30 + ["RATE_LIMITED"]


RATE_LIMITS = "{ rateLimits { action limit periodSeconds remaining resetAt } }"


async def test_rate_limits_lists_every_budget_of_the_viewer(api: httpx.AsyncClient) -> None:
    user = await make_user(api, "rl_viewer")
    body = await graphql(api, RATE_LIMITS, token=user.token, ip="10.77.0.1")
    listed = {b["action"]: b for b in body["data"]["rateLimits"]}
    assert list(listed) == list(LIMITS)
    assert {a: (b["limit"], b["periodSeconds"], b["remaining"]) for a, b in listed.items()} == {
        a: (lim.count, lim.period, lim.count) for a, lim in LIMITS.items()
    }
    await graphql(api, CALLS["feed"][0], token=user.token)
    after = {b["action"]: b for b in (await graphql(api, RATE_LIMITS, token=user.token))["data"]["rateLimits"]}
    assert after["feed"]["remaining"] == LIMITS["feed"].count - 1
    assert after["feed"]["resetAt"] > listed["feed"]["resetAt"]
    anonymous = await graphql(api, RATE_LIMITS, ip="10.77.0.2")
    assert [b["action"] for b in anonymous["data"]["rateLimits"]] == ["login_ip", "register"]


@pytest.fixture(scope="module")
async def raised(settings: Settings, graph_store: GraphStore) -> AsyncIterator[httpx.AsyncClient]:
    """An app started as a client test suite starts one: ``INSTAGRAPH_RATE_LIMITS`` raising two budgets."""
    application = create_app(settings.model_copy(update={"rate_limits": "feed=100000/60,register=1000/60"}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 40001))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_overrides_apply_one_by_one_and_rate_limits_shows_them(raised: httpx.AsyncClient) -> None:
    ip = random_ip()
    for i in range(8):  # register: 5 per hour by default, 1000 per minute here
        assert "errors" not in await register(raised, f"ovr{i}", ip)
    user = await make_user(raised, "ovr_viewer")
    listed = {b["action"]: b for b in (await graphql(raised, RATE_LIMITS, token=user.token))["data"]["rateLimits"]}
    assert (listed["feed"]["limit"], listed["feed"]["periodSeconds"]) == (100_000, 60)
    assert (listed["register"]["limit"], listed["register"]["periodSeconds"]) == (1000, 60)
    assert (listed["createPost"]["limit"], listed["createPost"]["periodSeconds"]) == (10, 60)  # untouched


async def test_a_revoked_session_is_refused_without_spending_its_users_budget(
    api: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings
) -> None:
    """A throttled field authenticates and counts in one Redis script (``cache.admission``): a token whose
    session the cache knows is revoked, or whose user signed out everywhere, counts nothing."""
    user = await make_user(api, "revoked_rl")
    phone = (await login(api, "revoked_rl", random_ip()))["data"]["login"]["accessToken"]
    assert (await graphql(api, "mutation { logout }", token=phone))["data"] == {"logout": True}
    for _ in range(LIMITS["feed"].count + 5):
        body = await graphql(api, CALLS["feed"][0], token=phone)
        assert only_error(body)["extensions"]["code"] == "UNAUTHENTICATED"
        assert only_error(body)["message"] == "Session revoked; sign in again."
    remaining = {b["action"]: b["remaining"] for b in (await graphql(api, RATE_LIMITS, token=user.token))["data"]
                 ["rateLimits"]}  # fmt: skip
    assert remaining["feed"] == LIMITS["feed"].count
    assert "errors" not in await graphql(api, CALLS["feed"][0], token=user.token)

    # the cached state gone (TTL, eviction): the graph still refuses the revoked session
    keys = RedisKeys(settings.redis_prefix)
    sid = jwt.decode(phone, options={"verify_signature": False})["sid"]
    assert await redis.delete(keys.session_revoked(user.id, sid), keys.session_version(user.id)) >= 1
    body = await graphql(api, CALLS["feed"][0], token=phone)
    assert only_error(body)["extensions"]["code"] == "UNAUTHENTICATED"

    # signed out everywhere: the cached session version moved past every token's
    assert (await graphql(api, "mutation { logout(allSessions: true) }", token=user.token))["data"] == {"logout": True}
    body = await graphql(api, CALLS["feed"][0], token=user.token)
    assert only_error(body)["extensions"]["code"] == "UNAUTHENTICATED"
