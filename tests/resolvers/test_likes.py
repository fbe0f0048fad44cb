"""Likes over GraphQL on the real stack: idempotent edges, Redis counters, write-back, visibility, likers."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

import pytest

from tests.support.factories import graphql, make_user
from tests.support.posts import (
    approve,
    block,
    delete_post,
    follow,
    like_edges,
    outbox_events,
    post_counts,
    publish_post,
    restart_redis,
    stop_redis,
)
from workers.counters import JOB

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from runtime.settings import Settings
    from tests.support.factories import TestUser
    from tests.support.posts import TestPost

LIKE = "mutation($input: PostIdInput!) { likePost(input: $input) { id likeCount viewerHasLiked } }"
UNLIKE = "mutation($input: PostIdInput!) { unlikePost(input: $input) { id likeCount viewerHasLiked } }"
POST = "query($id: ID!) { post(id: $id) { likeCount viewerHasLiked } }"
LIKERS = """
query($id: ID!, $first: Int, $after: String) {
  post(id: $id) { likers(first: $first, after: $after) {
    totalCount edges { cursor node { username } } pageInfo { hasNextPage endCursor } } }
}
"""


def _name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(3)}"


async def _user(api: httpx.AsyncClient, prefix: str, **kwargs: object) -> TestUser:
    return await make_user(api, _name(prefix), **kwargs)  # type: ignore[arg-type]


async def _like(api: httpx.AsyncClient, user: TestUser | None, post: TestPost, query: str = LIKE) -> dict:
    return await graphql(api, query, {"input": {"postId": post.gid}}, token=user.token if user else None)


def _codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@pytest.fixture
async def author(api: httpx.AsyncClient) -> TestUser:
    return await _user(api, "author")


@pytest.fixture
async def post(api: httpx.AsyncClient, app: Starlette, author: TestUser) -> TestPost:
    return await publish_post(api, app, author)


async def test_liking_twice_is_one_edge_one_count_and_one_event(
    api: httpx.AsyncClient, app: Starlette, cache_redis: aioredis.Redis, settings: Settings, post: TestPost
) -> None:
    fan = await _user(api, "fan")
    first = await _like(api, fan, post)
    second = await _like(api, fan, post)
    assert first == second == {"data": {"likePost": {"id": post.gid, "likeCount": 1, "viewerHasLiked": True}}}
    graph = app.state.resources.graph
    assert await like_edges(graph, post.id) == 1
    assert await outbox_events(graph, "like.created", post.id) == 1
    assert await cache_redis.get(f"{settings.redis_prefix}like_ct:{{{post.id}}}") == b"1:1"  # count:version


async def test_unliking_twice_is_fine_and_counts_once(
    api: httpx.AsyncClient, app: Starlette, post: TestPost
) -> None:
    fan, other = await _user(api, "fan"), await _user(api, "other")
    await _like(api, fan, post)
    await _like(api, other, post)
    assert (await _like(api, fan, post, UNLIKE))["data"]["unlikePost"] == {
        "id": post.gid, "likeCount": 1, "viewerHasLiked": False,
    }  # fmt: skip
    assert (await _like(api, fan, post, UNLIKE))["data"]["unlikePost"]["likeCount"] == 1
    never_liked = await _user(api, "never")
    assert (await _like(api, never_liked, post, UNLIKE))["data"]["unlikePost"]["likeCount"] == 1
    graph = app.state.resources.graph
    assert await like_edges(graph, post.id) == 1
    assert await outbox_events(graph, "like.removed", post.id) == 1


async def test_like_needs_a_signed_in_viewer_and_a_post_id(api: httpx.AsyncClient, post: TestPost) -> None:
    assert _codes(await _like(api, None, post)) == ["UNAUTHENTICATED"]
    fan = await _user(api, "fan")
    body = await graphql(api, LIKE, {"input": {"postId": "bm90LWEtcG9zdA"}}, token=fan.token)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "postId"}


@pytest.mark.parametrize("case", ["deleted", "author_blocks_viewer", "viewer_blocks_author", "private"])
async def test_like_on_a_deleted_or_hidden_post_is_not_found_and_writes_nothing(
    api: httpx.AsyncClient, app: Starlette, case: str
) -> None:
    author = await _user(api, "author", private=case == "private")
    post = await publish_post(api, app, author)
    fan = await _user(api, "fan")
    if case == "deleted":
        await delete_post(api, author, post)
    elif case == "author_blocks_viewer":
        await block(api, author, fan)
    elif case == "viewer_blocks_author":
        await block(api, fan, author)
    body = await _like(api, fan, post)
    assert body["data"] is None
    assert _codes(body) == ["NOT_FOUND"]
    assert _codes(await _like(api, fan, post, UNLIKE)) == ["NOT_FOUND"]
    graph = app.state.resources.graph
    assert await like_edges(graph, post.id) == 0
    assert await outbox_events(graph, "like.created", post.id) == 0


async def test_an_approved_follower_may_like_a_private_post(api: httpx.AsyncClient, app: Starlette) -> None:
    author = await _user(api, "private", private=True)
    post = await publish_post(api, app, author)
    fan = await _user(api, "fan")
    assert await follow(api, fan, author) == "REQUESTED"
    assert _codes(await _like(api, fan, post)) == ["NOT_FOUND"]
    await approve(api, author, fan)
    assert (await _like(api, fan, post))["data"]["likePost"]["likeCount"] == 1


async def test_an_evicted_counter_is_recounted_from_the_graph(
    api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings, post: TestPost
) -> None:
    fans = [await _user(api, "fan") for _ in range(3)]
    for fan in fans:
        await _like(api, fan, post)
    key = f"{settings.redis_prefix}like_ct:{{{post.id}}}"
    assert await cache_redis.delete(key) == 1
    await _like(api, fans[0], post)  # a like while the counter is gone must not restart it at 1
    body = await graphql(api, POST, {"id": post.gid}, token=fans[1].token)
    assert body["data"]["post"] == {"likeCount": 3, "viewerHasLiked": True}
    assert await cache_redis.get(key) == b"3:3"
    assert 0 < await cache_redis.ttl(key) <= 3600


async def test_the_counters_job_writes_counts_back_to_the_graph(
    api: httpx.AsyncClient, app: Starlette, post: TestPost
) -> None:
    graph = app.state.resources.graph
    fans = [await _user(api, "fan") for _ in range(2)]
    for fan in fans:
        await _like(api, fan, post)
    assert (await post_counts(graph, post.id))["like_count"] == 0
    step = JOB.make_step(app.state.services)
    assert await step() >= 1
    assert (await post_counts(graph, post.id))["like_count"] == 2
    await _like(api, fans[0], post, UNLIKE)
    await step()
    assert (await post_counts(graph, post.id))["like_count"] == 1
    assert await step() == 0  # nothing changed since


async def test_like_count_falls_back_to_the_graph_when_redis_is_down(
    api: httpx.AsyncClient, app: Starlette, stack: EmbeddedStack, redis: aioredis.Redis, post: TestPost
) -> None:
    fans = [await _user(api, "fan") for _ in range(3)]
    for fan in fans[:2]:
        await _like(api, fan, post)
    await JOB.make_step(app.state.services)()
    await stop_redis(stack)
    try:
        body = await graphql(api, POST, {"id": post.gid}, token=fans[0].token)
        assert body == {"data": {"post": {"likeCount": 2, "viewerHasLiked": True}}}
        late = await _like(api, fans[2], post)  # the edge is written; the counter change is lost for now
        assert late["data"]["likePost"]["viewerHasLiked"] is True
    finally:
        await restart_redis(stack, redis, app.state.resources.redis, app.state.resources.cache)
    assert await like_edges(app.state.resources.graph, post.id) == 3
    body = await graphql(api, POST, {"id": post.gid}, token=fans[0].token)
    assert body == {"data": {"post": {"likeCount": 3, "viewerHasLiked": True}}}  # invalidated, recounted


async def test_likers_are_newest_first_with_keyset_pages(api: httpx.AsyncClient, post: TestPost) -> None:
    fans = [await _user(api, "liker") for _ in range(5)]
    for fan in fans:
        await _like(api, fan, post)
    viewer = await _user(api, "viewer")
    seen: list[str] = []
    after = None
    while True:
        body = await graphql(api, LIKERS, {"id": post.gid, "first": 2, "after": after}, token=viewer.token)
        likers = body["data"]["post"]["likers"]
        assert likers["totalCount"] == 5
        seen += [e["node"]["username"] for e in likers["edges"]]
        if not likers["pageInfo"]["hasNextPage"]:
            break
        after = likers["pageInfo"]["endCursor"]
    assert seen == [f.username for f in reversed(fans)]
    await block(api, fans[2], viewer)
    body = await graphql(api, LIKERS, {"id": post.gid, "first": 10}, token=viewer.token)
    assert [e["node"]["username"] for e in body["data"]["post"]["likers"]["edges"]] == [
        f.username for f in reversed(fans) if f is not fans[2]
    ]
    bad = await graphql(api, LIKERS, {"id": post.gid, "first": 101}, token=viewer.token)
    assert bad["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}


USER_POSTS = """
query($username: String!, $first: Int) {
  user(username: $username) { posts(first: $first) { edges { node { likeCount viewerHasLiked } } } }
}
"""


async def test_a_page_of_posts_costs_the_same_graph_round_trips_whatever_its_size(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    author = await _user(api, "prolific")
    posts = [await publish_post(api, app, author, caption=f"post {i}") for i in range(5)]
    fan = await _user(api, "fan")
    for post in posts[::2]:
        await _like(api, fan, post)
    graph = app.state.resources.graph

    async def trips(first: int) -> tuple[int, list[dict]]:
        await graphql(api, USER_POSTS, {"username": author.username, "first": first}, token=fan.token)  # warm
        before = graph.round_trips
        body = await graphql(api, USER_POSTS, {"username": author.username, "first": first}, token=fan.token)
        return graph.round_trips - before, [e["node"] for e in body["data"]["user"]["posts"]["edges"]]

    small, small_nodes = await trips(2)
    large, large_nodes = await trips(5)
    assert small == large
    assert large_nodes == [
        {"likeCount": int(i % 2 == 0), "viewerHasLiked": i % 2 == 0} for i in (4, 3, 2, 1, 0)
    ]
    assert small_nodes == large_nodes[:2]


async def test_concurrent_likes_by_one_user_make_one_edge(
    api: httpx.AsyncClient, app: Starlette, post: TestPost
) -> None:
    fan = await _user(api, "eager")
    bodies = await asyncio.gather(*(_like(api, fan, post) for _ in range(10)))
    assert all("errors" not in b for b in bodies)
    graph = app.state.resources.graph
    assert await like_edges(graph, post.id) == 1
    assert await outbox_events(graph, "like.created", post.id) == 1
    assert (await graphql(api, POST, {"id": post.gid}, token=fan.token))["data"]["post"]["likeCount"] == 1
