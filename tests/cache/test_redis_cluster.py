"""Both Redis roles on a real 3-master Redis Cluster (the embedded ``redis-server`` with
``--cluster-enabled yes``; ``devstack.redis_cluster``): the home feed and its fan-out, sessions, rate limits
and idempotency, through the API as a client sees them.

Every user-scoped key is hash-tagged ``{uid}``, so a user's keys share one slot while different users' keys
spread over the three masters; what crosses slots (the like counters' ``MGET``, a fan-out pipeline over many
followers, ``UNLINK`` of many keys) is split per slot/node by the client (``cache.client``). A multi-key
command that crossed slots would fail here with ``CROSSSLOT``.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import pytest
from redis.asyncio.cluster import RedisCluster

from cache.keys import RedisKeys
from devstack.redis_cluster import LocalRedisCluster
from schema.base import from_global_id, to_global_id
from tests.support.factories import graphql, make_user
from tests.support.fanout import event_for, feed_ids, follow, open_feeds, publish_and_fan_out
from workers.fanout import make_handler

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from runtime.settings import Settings

pytestmark = pytest.mark.redis_cluster

FEED = """
query($first: Int) {
  feed(first: $first) {
    edges { node { id likeCount viewerHasLiked author { username } } }
    pageInfo { hasNextPage }
  }
}
"""
LIKE = "mutation($input: PostIdInput!) { likePost(input: $input) { id likeCount viewerHasLiked } }"
DELETE_POST = "mutation($id: ID!) { deletePost(input: {postId: $id}) { status } }"
REFRESH = "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { accessToken refreshToken } }"
LOGOUT = "mutation { logout }"
VIEWER = "{ viewer { username } }"


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalRedisCluster]:
    """A 3-master Redis Cluster for this module, stopped after it."""
    local = LocalRedisCluster(tmp_path_factory.mktemp("redis_cluster"), masters=3)
    await local.start()
    try:
        yield local
    finally:
        await local.stop()


@pytest.fixture(scope="module")
def settings(settings: Settings, cluster: LocalRedisCluster) -> Settings:
    """The module's settings with both Redis roles on the cluster, a celebrity threshold of 5 and a likePost
    budget of 5 per minute (the rate-limit test exhausts it)."""
    limits = settings.rate_limits.replace("likePost=1000/60", "likePost=5/60")
    return settings.model_copy(
        update={"redis_url": cluster.url, "cache_redis_url": cluster.url, "celebrity_threshold": 5,
                "rate_limits": limits}
    )  # fmt: skip


def _ids(body: dict[str, Any]) -> list[str]:
    assert body.get("errors") is None, body
    return [from_global_id(e["node"]["id"], field="id")[1] for e in body["data"]["feed"]["edges"]]


def _gid(post_id: str) -> str:
    return to_global_id("Post", post_id)


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def _nodes_holding(client: aioredis.Redis, keys: list[str]) -> set[str]:
    cluster = client
    assert isinstance(cluster, RedisCluster)
    await cluster.initialize()
    return {cluster.get_node_from_key(key).name for key in keys}


async def test_the_roles_run_on_three_masters_and_user_keys_spread_over_them(
    app: Starlette, settings: Settings
) -> None:
    client = app.state.resources.cache
    assert isinstance(client, RedisCluster)
    await client.initialize()  # the slot map (redis-py discovers it on first use)
    assert len(client.get_primaries()) == 3
    keys = RedisKeys(settings.redis_prefix)
    users = [f"user-{i}" for i in range(30)]
    assert len(await _nodes_holding(client, [keys.feed(u) for u in users])) == 3
    for user in users:  # one user's keys share a slot (multi-key scripts and transactions stay legal)
        assert len({client.keyslot(k) for k in (keys.feed(user), keys.posts(user), keys.rate(user, "feed"),
                                                keys.session_version(user), keys.notify_held(user))}) == 1


async def test_fan_out_reaches_followers_on_every_master_and_the_feed_pages_in_order(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    author = await make_user(api, f"cl_author_{secrets.token_hex(2)}")
    followers = [await make_user(api, f"cl_fan{i}_{secrets.token_hex(2)}") for i in range(4)]
    for fan in followers:
        await follow(api, fan, author)
    await open_feeds(app, author, *followers)  # live feeds: fan-out pushes only into those
    handler = make_handler(app.state.services)
    posts = [await publish_and_fan_out(app, graph_store, handler, author) for _ in range(3)]

    keys = RedisKeys(settings.redis_prefix)
    feed_keys = [keys.feed(u.id) for u in (author, *followers)]
    assert len(await _nodes_holding(cache_redis, feed_keys)) >= 1  # one pipeline per chunk, split per node
    for user in (author, *followers):
        assert set(await feed_ids(cache_redis, settings, user)) == set(posts)
        assert _ids(await graphql(api, FEED, {"first": 10}, token=user.token)) == posts[::-1]


async def test_a_celebrity_is_pulled_and_likes_count_across_slots(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    celebrity = await make_user(api, f"cl_celeb_{secrets.token_hex(2)}")
    fans = [await make_user(api, f"cl_cfan{i}_{secrets.token_hex(2)}") for i in range(5)]
    for fan in fans:
        await follow(api, fan, celebrity)
    handler = make_handler(app.state.services)
    posts = [await publish_and_fan_out(app, graph_store, handler, celebrity) for _ in range(4)]
    for i, post_id in enumerate(posts):  # post i gets i likes: four counters, spread over the slots
        for fan in fans[:i]:
            body = await graphql(api, LIKE, {"input": {"postId": _gid(post_id)}}, token=fan.token)
            assert body.get("errors") is None, body

    body = await graphql(api, FEED, {"first": 10}, token=fans[0].token)
    assert _ids(body) == posts[::-1]
    counts = [e["node"]["likeCount"] for e in body["data"]["feed"]["edges"]]
    assert counts == [3, 2, 1, 0]
    liked = [e["node"]["viewerHasLiked"] for e in body["data"]["feed"]["edges"]]
    assert liked == [True, True, True, False]


async def test_a_deleted_post_leaves_every_feed(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    author = await make_user(api, f"cl_del_{secrets.token_hex(2)}")
    fan = await make_user(api, f"cl_delfan_{secrets.token_hex(2)}")
    await follow(api, fan, author)
    await open_feeds(app, author, fan)
    handler = make_handler(app.state.services)
    kept_id, gone_id = [await publish_and_fan_out(app, graph_store, handler, author) for _ in range(2)]
    body = await graphql(api, DELETE_POST, {"id": _gid(gone_id)}, token=author.token)
    assert body.get("errors") is None, body
    await handler(await event_for(graph_store, "post.deleted", subject_id=gone_id))

    assert set(await feed_ids(cache_redis, settings, fan)) == {kept_id}
    assert _ids(await graphql(api, FEED, {"first": 10}, token=fan.token)) == [kept_id]


async def test_sessions_refresh_rotate_and_logout_revokes(api: httpx.AsyncClient) -> None:
    user = await make_user(api, f"cl_sess_{secrets.token_hex(2)}")
    assert (await graphql(api, VIEWER, token=user.token))["data"]["viewer"]["username"] == user.username
    rotated = await graphql(api, REFRESH, {"t": user.refresh_token})
    assert rotated.get("errors") is None, rotated
    fresh = rotated["data"]["refreshToken"]
    assert _code(await graphql(api, REFRESH, {"t": user.refresh_token})) == "UNAUTHENTICATED"  # reuse
    assert _code(await graphql(api, REFRESH, {"t": fresh["refreshToken"]})) == "UNAUTHENTICATED"  # family revoked

    other = await make_user(api, f"cl_sess2_{secrets.token_hex(2)}")
    assert (await graphql(api, LOGOUT, token=other.token)).get("errors") is None
    assert _code(await graphql(api, VIEWER, token=other.token)) == "UNAUTHENTICATED"


async def test_rate_limits_hold_on_the_cluster(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    author = await make_user(api, f"cl_rl_{secrets.token_hex(2)}")
    liker = await make_user(api, f"cl_rlfan_{secrets.token_hex(2)}")
    handler = make_handler(app.state.services)
    posts = [await publish_and_fan_out(app, graph_store, handler, author) for _ in range(6)]
    codes = [_code(await graphql(api, LIKE, {"input": {"postId": _gid(p)}}, token=liker.token)) for p in posts]
    assert codes == [None] * 5 + ["RATE_LIMITED"]


async def test_an_idempotent_replay_is_identical_and_runs_once(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    author = await make_user(api, f"cl_idem_{secrets.token_hex(2)}")
    fan = await make_user(api, f"cl_idemfan_{secrets.token_hex(2)}")
    post_id = await publish_and_fan_out(app, graph_store, make_handler(app.state.services), author)
    headers = {"Authorization": f"Bearer {fan.token}", "Idempotency-Key": secrets.token_urlsafe(16)}
    payload = {"query": LIKE, "variables": {"input": {"postId": _gid(post_id)}}}
    first = await api.post("/graphql", json=payload, headers=headers)
    second = await api.post("/graphql", json=payload, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["likePost"]["likeCount"] == 1
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert (await app.state.services.engagement.like_counts([post_id]))[0] == 1

