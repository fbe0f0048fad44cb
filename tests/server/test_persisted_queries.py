"""Automatic persisted queries with the exact request shapes of Apollo Client's persisted-queries link:
hash first (POST, or GET with ``useGETForHashedQueries``), ``PERSISTED_QUERY_NOT_FOUND``, then the query with
its hash (POST), which registers it in Redis; later hashes alone run it."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

import orjson

from tests.support.factories import make_user
from tests.support.posts import publish_post, restart_redis

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from runtime.settings import Settings

APOLLO_ACCEPT = {"accept": "application/graphql-response+json,application/json;q=0.9"}
NOT_FOUND = {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _extensions(query: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": _hash(query)}}


def _unique_query() -> str:
    return f"query Viewer{secrets.token_hex(4)} {{ __typename viewer {{ username }} }}"


async def _get(api: httpx.AsyncClient, query: str, name: str, headers: dict[str, str] | None = None) -> httpx.Response:
    params = {"operationName": name, "variables": "{}", "extensions": orjson.dumps(_extensions(query)).decode()}
    return await api.get("/graphql", params=params, headers={**APOLLO_ACCEPT, **(headers or {})})


async def test_the_apollo_handshake_over_post(
    api: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings
) -> None:
    query = _unique_query()
    name = query.split()[1]
    hashed = {"operationName": name, "variables": {}, "extensions": _extensions(query)}

    miss = await api.post("/graphql", json=hashed, headers=APOLLO_ACCEPT)
    assert (miss.status_code, miss.json()) == (200, NOT_FOUND)

    registered = await api.post("/graphql", json={**hashed, "query": query}, headers=APOLLO_ACCEPT)
    assert registered.json() == {"data": {"__typename": "Query", "viewer": None}}
    key = f"{settings.redis_prefix}apq:{_hash(query)}"
    assert (await redis.get(key)).decode() == query
    assert 0 < await redis.ttl(key) <= settings.persisted_query_ttl

    hit = await api.post("/graphql", json=hashed, headers=APOLLO_ACCEPT)
    assert hit.json() == {"data": {"__typename": "Query", "viewer": None}}


async def test_the_apollo_handshake_with_get_for_hashed_queries(api: httpx.AsyncClient) -> None:
    query = _unique_query()
    name = query.split()[1]
    fan = await make_user(api, f"apq_{secrets.token_hex(3)}")
    auth = {"Authorization": f"Bearer {fan.token}"}

    assert (await _get(api, query, name, auth)).json() == NOT_FOUND
    await api.post("/graphql", json={"query": query, "extensions": _extensions(query)}, headers=auth)
    for accept in (APOLLO_ACCEPT["accept"], "*/*", "text/html,*/*"):  # never mistaken for a GraphiQL page load
        hit = await _get(api, query, name, {**auth, "accept": accept})
        assert hit.json() == {"data": {"__typename": "Query", "viewer": {"username": fan.username}}}


async def test_a_hash_that_is_not_the_querys_or_another_version_is_a_400(api: httpx.AsyncClient) -> None:
    query = _unique_query()
    mismatch = await api.post("/graphql", json={"query": query, "extensions": _extensions(query + " ")})
    assert (mismatch.status_code, mismatch.json()["errors"][0]) == (
        400, {"message": "provided sha does not match query", "extensions": {"code": "BAD_REQUEST"}}
    )  # fmt: skip
    version = await api.post("/graphql", json={"query": query, "extensions": _extensions(query, version=2)})
    assert version.status_code == 400
    assert version.json()["errors"][0]["message"] == "Unsupported persisted query version."
    bad = await api.post("/graphql", json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "xyz"}}})
    assert bad.json()["errors"][0]["message"] == "persistedQuery.sha256Hash must be 64 hexadecimal digits."


async def test_a_document_that_does_not_validate_is_not_registered(
    api: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings
) -> None:
    query = "{ nosuchfield }"
    body = await api.post("/graphql", json={"query": query, "extensions": _extensions(query)})
    assert body.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await redis.exists(f"{settings.redis_prefix}apq:{_hash(query)}") == 0


async def test_a_keyed_mutation_sent_by_hash_replays_once(api: httpx.AsyncClient, app: Starlette) -> None:
    author, fan = [await make_user(api, f"{n}_{secrets.token_hex(3)}") for n in ("apqa", "apqf")]
    post = await publish_post(api, app, author)
    mutation = "mutation LikePost($input: PostIdInput!) { likePost(input: $input) { id likeCount viewerHasLiked } }"
    variables = {"input": {"postId": post.gid}}
    headers = {"Authorization": f"Bearer {fan.token}", "Idempotency-Key": secrets.token_hex(8)}
    hashed = {"operationName": "LikePost", "variables": variables, "extensions": _extensions(mutation)}

    assert (await api.post("/graphql", json=hashed, headers=headers)).json() == NOT_FOUND
    first = await api.post("/graphql", json={**hashed, "query": mutation}, headers=headers)
    replay = await api.post("/graphql", json=hashed, headers=headers)

    assert first.json()["data"]["likePost"]["likeCount"] == 1
    assert replay.content == first.content and replay.headers["idempotent-replayed"] == "true"
    get = await api.get("/graphql", params={"extensions": orjson.dumps(_extensions(mutation)).decode(),
                                            "variables": orjson.dumps(variables).decode()})  # fmt: skip
    assert get.status_code == 405  # a registered mutation still never runs over GET


async def test_with_redis_down_a_hash_is_not_found_and_the_full_query_still_runs(
    api: httpx.AsyncClient, app: Starlette, stack: EmbeddedStack, redis: aioredis.Redis
) -> None:
    query = _unique_query()
    await stack.stop_service("redis")
    try:
        assert (await api.post("/graphql", json={"extensions": _extensions(query)})).json() == NOT_FOUND
        ran = await api.post("/graphql", json={"query": query, "extensions": _extensions(query)})
        assert ran.json() == {"data": {"__typename": "Query", "viewer": None}}
    finally:
        await restart_redis(stack, redis, app.state.resources.redis)
