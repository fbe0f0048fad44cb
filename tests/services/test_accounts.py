"""Account services against the real graph and Redis: what register writes, races, re-hashing, loaders."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import orjson
import pytest
from argon2 import PasswordHasher

from cache.keys import RedisKeys
from cache.rate_limits import GcraLimiter
from cache.sessions import SessionCache
from graph.cypher import cypher
from services.accounts import AccountService
from services.auth import AuthService
from services.core.device_tokens import DeviceTokens
from services.core.errors import BadInput
from services.core.passwords import Passwords
from services.core.tokens import AccessTokens
from services.rate_limits import LIMITS, Limit, RateLimitService
from services.sessions import SessionService
from services.users import UserService

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from graph.store import GraphStore
    from runtime.settings import Settings

PASSWORD = "a long enough password"
STORED_USER = cypher("tests.accounts.STORED_USER", "MATCH (u:User {username: $username}) RETURN u {.*} AS u")
USER_EVENTS = cypher(
    "tests.accounts.USER_EVENTS",
    "MATCH (o:Outbox) WHERE o.key = $id RETURN o {.*} AS o ORDER BY o.created_at",
)
SESSIONS = cypher(
    "tests.accounts.SESSIONS",
    "MATCH (:User {username: $username})-[:HAS_SESSION]->(s:Session) RETURN s {.*} AS s",
)
COUNT_USERNAME = cypher(
    "tests.accounts.COUNT_USERNAME", "MATCH (u:User {username: $username}) RETURN count(u) AS n"
)
#: Cheap argon2id parameters: stand in for "the parameters of an older deployment".
OLD_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
NO_LIMITS = {name: Limit(10_000, 60, limit.scope) for name, limit in LIMITS.items()}


def build_accounts(
    settings: Settings, graph_store: GraphStore, redis: aioredis.Redis, hasher: PasswordHasher | None = None
) -> tuple[AccountService, AuthService]:
    keys = RedisKeys(settings.redis_prefix)
    tokens = AccessTokens(
        settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=900
    )
    sessions = SessionService(graph_store, SessionCache(redis, keys, refresh_ttl=3600), tokens)
    limits = RateLimitService(GcraLimiter(redis), keys, NO_LIMITS)
    devices = DeviceTokens(settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    accounts = AccountService(graph_store, Passwords(hasher), sessions, limits, devices)
    return accounts, AuthService(tokens, sessions)


@pytest.fixture(scope="module")
def accounts(settings: Settings, graph_store: GraphStore, redis: aioredis.Redis) -> AccountService:
    return build_accounts(settings, graph_store, redis)[0]


async def test_register_writes_user_session_and_event_together(
    accounts: AccountService, graph_store: GraphStore
) -> None:
    result = await accounts.register_user(
        username="Writer",
        email="Writer@Example.com",
        password=PASSWORD,
        display_name=None,
        client_ip="1.2.3.4",
    )
    [row] = await graph_store.read(STORED_USER, {"username": "writer"})
    user = row["u"]
    password_hash = user.pop("password_hash")
    assert password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert user == {
        "id": result.user.id,
        "username": "writer",
        "email": "writer@example.com",
        "is_private": False,
        "is_verified": False,
        "created_at": result.user.created_at,
        "follower_count": 0,
        "following_count": 0,
        "post_count": 0,
        "session_version": 0,
    }
    [session] = await graph_store.read(SESSIONS, {"username": "writer"})
    assert session["s"]["revoked"] is False and session["s"]["version"] == 0
    [event] = await graph_store.read(USER_EVENTS, {"id": result.user.id})
    outbox = event["o"]
    assert (outbox["topic"], outbox["type"], outbox["key"]) == ("users", "user.registered", result.user.id)
    envelope = orjson.loads(outbox["payload"])
    assert envelope["id"] == outbox["id"]
    assert envelope["actor_id"] == envelope["subject_id"] == result.user.id
    assert envelope["data"] == {
        "username": "writer",
        "display_name": None,
        "created_at": result.user.created_at,
    }
    assert "email" not in outbox["payload"] and "argon2" not in outbox["payload"]


async def test_concurrent_registrations_of_one_username_make_one_user(
    accounts: AccountService, graph_store: GraphStore
) -> None:
    attempts = [
        accounts.register_user(
            username=name,
            email=f"racer{i}@example.com",
            password=PASSWORD,
            display_name=None,
            client_ip="1.2.3.5",
        )
        for i, name in enumerate(["racer", "RACER", "Racer", "racer", "rAcEr", "racer"])
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(e, BadInput) and e.field == "username" for e in losers), losers
    assert (await graph_store.read(COUNT_USERNAME, {"username": "racer"})) == [{"n": 1}]


async def test_login_rehashes_a_password_hashed_with_old_parameters(
    settings: Settings, graph_store: GraphStore, redis: aioredis.Redis
) -> None:
    old_accounts, _ = build_accounts(settings, graph_store, redis, OLD_HASHER)
    await old_accounts.register_user(
        username="rehash",
        email="rehash@example.com",
        password=PASSWORD,
        display_name=None,
        client_ip="1.2.3.6",
    )
    [before] = await graph_store.read(STORED_USER, {"username": "rehash"})
    assert before["u"]["password_hash"].startswith("$argon2id$v=19$m=8192,t=1,p=1$")

    new_accounts, auth = build_accounts(settings, graph_store, redis)  # today's parameters
    result = await new_accounts.log_in(login="rehash", password=PASSWORD, client_ip="1.2.3.6")
    [after] = await graph_store.read(STORED_USER, {"username": "rehash"})
    assert after["u"]["password_hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(after["u"]["password_hash"], PASSWORD)
    principal = await auth.authenticate(f"Bearer {result.tokens.access_token}")
    assert principal.user_id == result.user.id and principal.session_version == 0
    again = await new_accounts.log_in(login="rehash@example.com", password=PASSWORD, client_ip="1.2.3.6")
    [final] = await graph_store.read(STORED_USER, {"username": "rehash"})
    assert final["u"]["password_hash"] == after["u"]["password_hash"]  # no second re-hash
    assert again.user.id == result.user.id


async def test_users_by_ids_keeps_order_and_marks_missing(
    accounts: AccountService, graph_store: GraphStore
) -> None:
    made = [
        await accounts.register_user(
            username=f"order{i}",
            email=f"order{i}@example.com",
            password=PASSWORD,
            display_name=None,
            client_ip="1.2.3.7",
        )
        for i in range(3)
    ]
    ids = [u.user.id for u in made]
    profiles = UserService(graph_store)
    rounds = graph_store.round_trips
    found = await profiles.users_by_ids([ids[2], "missing", ids[0], ids[2], ids[1]])
    assert graph_store.round_trips == rounds + 1
    assert [u.username if u else None for u in found] == ["order2", None, "order0", "order2", "order1"]
    assert await profiles.users_by_ids([]) == []
