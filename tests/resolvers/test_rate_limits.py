"""Rate limits through the API: login per (login, IP) and per IP, register per IP, aliases count."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from graph.cypher import cypher
from tests.support.factories import DEFAULT_PASSWORD, graphql, make_user, random_ip

if TYPE_CHECKING:
    import httpx

    from graph.store import GraphStore

LOGIN = """
mutation($login: String!, $password: String!) {
  login(input: {login: $login, password: $password}) { accessToken user { username } }
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
    api: httpx.AsyncClient, login_: str, ip: str, password: str = DEFAULT_PASSWORD
) -> dict[str, Any]:
    return await graphql(api, LOGIN, {"login": login_, "password": password}, ip=ip)


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
