"""The Idempotency-Key header (API.md): byte-identical replays, conflicts, concurrency, Redis outages."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from tests.support.factories import graphql, make_user, random_ip
from tests.support.posts import like_edges, outbox_events, post_counts, publish_post, restart_redis
from tests.support.uploads import create_post, image, upload

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from runtime.settings import Settings
    from tests.support.factories import TestUser
    from tests.support.posts import TestPost

LIKE = "mutation Like($input: PostIdInput!) { likePost(input: $input) { id likeCount viewerHasLiked } }"
UNLIKE = "mutation Unlike($input: PostIdInput!) { unlikePost(input: $input) { id likeCount } }"
COMMENT = "mutation Comment($input: AddCommentInput!) { addComment(input: $input) { id text createdAt } }"
REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id username } } }"


async def _post(
    api: httpx.AsyncClient, query: str, variables: dict[str, Any], *, user: TestUser | None = None,
    key: str | None = None, ip: str | None = None,
) -> httpx.Response:  # fmt: skip
    headers: dict[str, str] = {}
    if user is not None:
        headers["Authorization"] = f"Bearer {user.token}"
    if key is not None:
        headers["Idempotency-Key"] = key
    if ip is not None:
        headers["X-Forwarded-For"] = ip
    response = await api.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response


def _codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


def _key() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
async def author(api: httpx.AsyncClient) -> TestUser:
    return await make_user(api, f"author_{secrets.token_hex(3)}")


@pytest.fixture
async def fan(api: httpx.AsyncClient) -> TestUser:
    return await make_user(api, f"fan_{secrets.token_hex(3)}")


@pytest.fixture
async def post(api: httpx.AsyncClient, app: Starlette, author: TestUser) -> TestPost:
    return await publish_post(api, app, author)


async def test_a_replay_is_byte_identical_and_does_not_run_again(
    api: httpx.AsyncClient, app: Starlette, post: TestPost, fan: TestUser
) -> None:
    key, variables = _key(), {"input": {"postId": post.gid}}
    first = await _post(api, LIKE, variables, user=fan, key=key)
    await graphql(api, UNLIKE, variables, token=fan.token)  # the state changes; a replay must not notice
    second = await _post(api, LIKE, variables, user=fan, key=key)
    assert first.json()["data"]["likePost"]["likeCount"] == 1
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    graph = app.state.resources.graph
    assert await like_edges(graph, post.id) == 0  # unliked, and the replay did not like again
    assert await outbox_events(graph, "like.created", post.id) == 1


async def test_a_replayed_comment_is_written_once(
    api: httpx.AsyncClient, app: Starlette, post: TestPost, fan: TestUser
) -> None:
    key, variables = _key(), {"input": {"postId": post.gid, "text": "Only once, please"}}
    responses = [await _post(api, COMMENT, variables, user=fan, key=key) for _ in range(3)]
    assert responses[1].content == responses[2].content == responses[0].content
    assert (await post_counts(app.state.resources.graph, post.id))["comment_count"] == 1


async def test_the_same_key_with_other_variables_or_operation_is_a_conflict(
    api: httpx.AsyncClient, app: Starlette, author: TestUser, post: TestPost, fan: TestUser
) -> None:
    other = await publish_post(api, app, author, caption="Another one")
    key = _key()
    assert _codes(await _post(api, LIKE, {"input": {"postId": post.gid}}, user=fan, key=key)) == []
    conflict = await _post(api, LIKE, {"input": {"postId": other.gid}}, user=fan, key=key)
    assert conflict.json() == {
        "data": None,
        "errors": [{"message": "This Idempotency-Key was already used for a different request.",
                    "extensions": {"code": "CONFLICT"}}],
    }  # fmt: skip
    assert _codes(await _post(api, UNLIKE, {"input": {"postId": post.gid}}, user=fan, key=key)) == [
        "CONFLICT"
    ]
    assert await like_edges(app.state.resources.graph, other.id) == 0
    same_but_reformatted = (
        "mutation Like($input: PostIdInput!) {\n  likePost(input: $input) { id likeCount viewerHasLiked }\n}"
    )
    replay = await _post(api, same_but_reformatted, {"input": {"postId": post.gid}}, user=fan, key=key)
    assert replay.headers["idempotent-replayed"] == "true"


async def test_keys_are_per_user(api: httpx.AsyncClient, post: TestPost, fan: TestUser) -> None:
    other_fan = await make_user(api, f"other_{secrets.token_hex(3)}")
    key, variables = _key(), {"input": {"postId": post.gid}}
    mine = await _post(api, LIKE, variables, user=fan, key=key)
    theirs = await _post(api, LIKE, variables, user=other_fan, key=key)
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["data"]["likePost"]["likeCount"] == 1
    assert theirs.json()["data"]["likePost"]["likeCount"] == 2


async def test_concurrent_duplicates_run_once_and_the_other_is_a_conflict(
    api: httpx.AsyncClient, app: Starlette, post: TestPost, fan: TestUser
) -> None:
    key, variables = _key(), {"input": {"postId": post.gid, "text": "racing"}}
    responses = await asyncio.gather(*(_post(api, COMMENT, variables, user=fan, key=key) for _ in range(2)))
    assert sorted(tuple(_codes(r)) for r in responses) == [(), ("CONFLICT",)]
    assert (await post_counts(app.state.resources.graph, post.id))["comment_count"] == 1
    winner = next(r for r in responses if not _codes(r))
    replay = await _post(api, COMMENT, variables, user=fan, key=key)
    assert replay.content == winner.content


async def test_with_redis_down_a_keyed_mutation_is_refused_and_an_unkeyed_one_runs(
    api: httpx.AsyncClient, app: Starlette, stack: EmbeddedStack, redis: aioredis.Redis,
    post: TestPost, fan: TestUser,
) -> None:  # fmt: skip
    variables = {"input": {"postId": post.gid}}
    await stack.stop_service("redis")
    try:
        refused = await _post(api, LIKE, variables, user=fan, key=_key())
        assert refused.json()["data"] is None
        assert _codes(refused) == ["SERVICE_UNAVAILABLE"]
        assert await like_edges(app.state.resources.graph, post.id) == 0
        unkeyed = await _post(api, LIKE, variables, user=fan)
        assert unkeyed.json()["data"]["likePost"]["viewerHasLiked"] is True
    finally:
        await restart_redis(stack, redis, app.state.resources.redis)
    assert await like_edges(app.state.resources.graph, post.id) == 1


async def test_with_the_graph_down_a_keyed_mutation_gets_a_graphql_error_not_a_crash(
    api: httpx.AsyncClient, app: Starlette, stack: EmbeddedStack, post: TestPost, fan: TestUser
) -> None:
    # ``fan`` never sent a request: its session state is not cached, so finding the caller reads the graph
    await stack.stop_service("graph")
    try:
        refused = await _post(api, LIKE, {"input": {"postId": post.gid}}, user=fan, key=_key())
    finally:
        await stack.start_service("graph")
    assert refused.json() == {
        "data": None,
        "errors": [
            {
                "message": "Sign-in state cannot be checked right now; try again shortly.",
                "extensions": {"code": "SERVICE_UNAVAILABLE"},
            }
        ],
    }
    assert await like_edges(app.state.resources.graph, post.id) == 0


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_a_malformed_key_is_bad_user_input(
    api: httpx.AsyncClient, app: Starlette, post: TestPost, fan: TestUser, key: str
) -> None:
    response = await _post(api, LIKE, {"input": {"postId": post.gid}}, user=fan, key=key)
    assert response.json()["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "Idempotency-Key",
    }
    assert await like_edges(app.state.resources.graph, post.id) == 0


async def test_the_longest_key_works(api: httpx.AsyncClient, post: TestPost, fan: TestUser) -> None:
    key = "k" * 255
    first = await _post(api, LIKE, {"input": {"postId": post.gid}}, user=fan, key=key)
    assert _codes(first) == []
    assert (
        await _post(api, LIKE, {"input": {"postId": post.gid}}, user=fan, key=key)
    ).content == first.content


async def test_a_refused_mutation_frees_its_key(
    api: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings, post: TestPost, fan: TestUser
) -> None:
    key = _key()
    bad = await _post(api, COMMENT, {"input": {"postId": post.gid, "text": " "}}, user=fan, key=key)
    assert bad.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "text"}
    assert await redis.exists(f"{settings.redis_prefix}idem:{{user:{fan.id}}}:{key}") == 0
    fixed = await _post(api, COMMENT, {"input": {"postId": post.gid, "text": "fixed"}}, user=fan, key=key)
    assert _codes(fixed) == [] and "idempotent-replayed" not in fixed.headers


async def test_an_anonymous_register_replays_instead_of_registering_twice(
    api: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings
) -> None:
    ip, key = random_ip(), _key()
    name = f"new_{secrets.token_hex(3)}"
    variables = {"input": {"username": name, "email": f"{name}@example.com", "password": "long enough pw"}}
    first = await _post(api, REGISTER, variables, key=key, ip=ip)
    second = await _post(api, REGISTER, variables, key=key, ip=ip)
    assert first.json()["data"]["register"]["user"]["username"] == name
    assert second.content == first.content
    record = await redis.hgetall(f"{settings.redis_prefix}idem:{{anon:{ip}}}:{key}")
    assert record[b"state"] == b"done"
    assert first.json()["data"]["register"]["accessToken"].encode() not in record[b"body"]  # sealed
    assert 86_000 < await redis.ttl(f"{settings.redis_prefix}idem:{{anon:{ip}}}:{key}") <= 86_400


LOGIN = """
mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken deviceToken } }
"""


async def test_a_stored_replay_holds_no_usable_credential_and_still_replays_them(
    api: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings, fan: TestUser
) -> None:
    ip, key = random_ip(), _key()
    variables = {"input": {"login": fan.username, "password": fan.password}}
    first = await _post(api, LOGIN, variables, key=key, ip=ip)
    replay = await _post(api, LOGIN, variables, key=key, ip=ip)
    tokens = first.json()["data"]["login"]

    stored = b"".join(
        v for v in (await redis.hgetall(f"{settings.redis_prefix}idem:{{anon:{ip}}}:{key}")).values()
    )
    for secret in (tokens["accessToken"], tokens["refreshToken"], tokens["deviceToken"], fan.password):
        assert secret.encode() not in stored
    payload = orjson.dumps(
        {"document": LOGIN.strip(), "operationName": "Login", "variables": variables}, option=orjson.OPT_SORT_KEYS
    )
    assert hashlib.sha256(payload).hexdigest().encode() not in stored  # the fingerprint is an HMAC
    assert replay.content == first.content and replay.headers["idempotent-replayed"] == "true"
    viewer = await graphql(api, "{ viewer { username } }", token=tokens["accessToken"])
    assert viewer["data"]["viewer"]["username"] == fan.username


async def test_service_unavailable_is_not_stored_so_a_retry_with_the_key_runs(
    api: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings, stack: EmbeddedStack, author: TestUser
) -> None:
    data = image("rocket.jpg")
    created = await create_post(api, author, [(data, "image/jpeg")], "retry me")
    assert (await upload(created["uploads"][0], data, "image/jpeg")).status_code == 204
    post_gid = created["post"]["id"]
    key = _key()
    complete = "mutation($id: ID!) { completePostUpload(input: {postId: $id}) { id status } }"
    await stack.stop_service("s3")
    try:
        down = await _post(api, complete, {"id": post_gid}, user=author, key=key)
    finally:
        await stack.start_service("s3")
    assert _codes(down) == ["SERVICE_UNAVAILABLE"]
    assert await redis.exists(f"{settings.redis_prefix}idem:{{user:{author.id}}}:{key}") == 0

    retried = await _post(api, complete, {"id": post_gid}, user=author, key=key)
    assert retried.json()["data"]["completePostUpload"]["status"] == "PROCESSING"
    assert "idempotent-replayed" not in retried.headers
    assert (await _post(api, complete, {"id": post_gid}, user=author, key=key)).content == retried.content


async def test_queries_ignore_the_key(
    api: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings
) -> None:
    key = _key()
    for _ in range(2):
        response = await _post(api, "{ __typename }", {}, key=key, ip="10.9.9.9")
        assert response.json() == {"data": {"__typename": "Query"}}
        assert "idempotent-replayed" not in response.headers
    assert await redis.exists(f"{settings.redis_prefix}idem:{{anon:10.9.9.9}}:{key}") == 0
