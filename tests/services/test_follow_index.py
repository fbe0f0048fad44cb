"""Followers/following pages from the Redis edge indexes (``services.follow_index``), verified in the graph.

The API in-process, no fan-out worker: what the index shows right after a write comes from the write itself
(a follow) or from the graph's verification of every page (an unfollow, a block), never from an event. A read
that finds the index missing is served by the graph and asks for it; ``_build`` runs the ``edge-indexes`` job's
step as the worker would.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from cache.keys import RedisKeys
from schema.base import from_global_id
from tests.support.factories import graphql, make_user
from tests.support.posts import block, follow
from workers import edge_indexes

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from runtime.settings import Settings
    from tests.support.factories import TestUser

FOLLOWERS = """
query($u: String!, $first: Int, $after: String) { user(username: $u) { followers(first: $first, after: $after) {
  totalCount edges { cursor node { username } } pageInfo { hasNextPage endCursor } } } }
"""
FOLLOWING = """
query($u: String!) { user(username: $u) { following(first: 50) { totalCount edges { node { username } } } } }
"""
UNFOLLOW = "mutation($id: ID!) { unfollow(input: {userId: $id}) { status } }"
PRIVATE = "mutation { updateProfile(input: {isPrivate: true}) { isPrivate } }"


def _names(body: dict[str, Any], field: str = "followers") -> list[str]:
    assert body.get("errors") is None, body
    return [e["node"]["username"] for e in body["data"]["user"][field]["edges"]]


async def _all_followers(api: httpx.AsyncClient, owner: TestUser, viewer: TestUser | None, first: int) -> list[str]:
    names: list[str] = []
    after = None
    while True:
        body = await graphql(api, FOLLOWERS, {"u": owner.username, "first": first, "after": after},
                             token=viewer.token if viewer else None)  # fmt: skip
        names += _names(body)
        info = body["data"]["user"]["followers"]["pageInfo"]
        if not info["hasNextPage"]:
            return names
        after = info["endCursor"]


async def _build(app: Starlette) -> int:
    """The ``edge-indexes`` job's step: build every index a read asked for."""
    return await edge_indexes.make_step(app.state.services)()


async def _owner_with_followers(api: httpx.AsyncClient, n: int) -> tuple[TestUser, list[TestUser]]:
    tag = secrets.token_hex(2)
    owner = await make_user(api, f"fi_owner_{tag}")
    fans = [await make_user(api, f"fi_fan{i}_{tag}") for i in range(n)]
    for fan in fans:
        await follow(api, fan, owner)
    return owner, fans


async def test_pages_come_from_the_index_newest_first_and_cost_the_page(
    app: Starlette, api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    owner, fans = await _owner_with_followers(api, 7)
    reader = app.state.services.follows.index
    graph = app.state.resources.graph
    shipped: list[int] = []
    real_read = graph.read

    async def recording_read(stmt: Any, params: Any = None) -> Any:
        if stmt.name == "follows.FOLLOWER_PAGE_USERS":
            shipped.append(sum(len(p["ids"]) for p in params["pages"]))
        return await real_read(stmt, params)

    graph.read = recording_read
    try:
        rebuilds = reader.rebuilds
        assert await _all_followers(api, owner, None, 2) == [f.username for f in reversed(fans)]  # the graph's
        assert shipped == [] and reader.rebuilds == rebuilds  # missing index: asked for, not built on a request
        assert await _build(app) >= 1
        assert reader.rebuilds == rebuilds + 1  # built once, by the job
        assert await _all_followers(api, owner, None, 3) == [f.username for f in reversed(fans)]
        assert reader.rebuilds == rebuilds + 1  # then every page comes from it
        assert shipped  # ... verified in the graph
    finally:
        graph.read = real_read
    assert max(shipped) <= 3 + 1 + 5  # a page's verification names at most first + 1 + slack users
    key = RedisKeys(settings.redis_prefix).edge_index("followers", owner.id)
    assert await cache_redis.zcard(key) == 7 + 1  # the followers and the built marker


async def test_a_follow_shows_at_once_and_an_unfollow_or_block_is_gone_at_once(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    owner, fans = await _owner_with_followers(api, 3)
    assert await _all_followers(api, owner, None, 10) == [f.username for f in reversed(fans)]
    await _build(app)
    newcomer = await make_user(api, f"fi_new_{secrets.token_hex(2)}")
    await follow(api, newcomer, owner)
    assert (await _all_followers(api, owner, None, 10))[0] == newcomer.username  # read-your-writes
    await graphql(api, FOLLOWING, {"u": newcomer.username})
    await _build(app)  # the newcomer's following index
    following = await graphql(api, FOLLOWING, {"u": newcomer.username})
    assert _names(following, "following") == [owner.username]

    body = await graphql(api, UNFOLLOW, {"id": owner.gid}, token=fans[0].token)
    assert body.get("errors") is None, body
    await block(api, fans[1], owner)  # the block removes fans[1]'s follow
    expected = [newcomer.username, fans[2].username]
    assert await _all_followers(api, owner, None, 10) == expected  # no event handled: the graph verified
    body = await graphql(api, FOLLOWERS, {"u": owner.username, "first": 10})
    assert body["data"]["user"]["followers"]["totalCount"] == 2


async def test_a_stale_index_entry_is_never_shown(api: httpx.AsyncClient, app: Starlette) -> None:
    owner, fans = await _owner_with_followers(api, 2)
    assert await _all_followers(api, owner, None, 10) == [f.username for f in reversed(fans)]
    await _build(app)
    stranger = await make_user(api, f"fi_stale_{secrets.token_hex(2)}")
    index = app.state.services.follows.index.index
    await index.add("followers", owner.id, stranger.id, 2**40)  # as if a follow had been undone unseen
    assert await _all_followers(api, owner, None, 1) == [f.username for f in reversed(fans)]


async def test_what_the_viewer_may_not_see_is_not_listed(api: httpx.AsyncClient, app: Starlette) -> None:
    owner, fans = await _owner_with_followers(api, 3)
    await _all_followers(api, owner, None, 10)
    await _build(app)
    viewer = await make_user(api, f"fi_viewer_{secrets.token_hex(2)}")
    await block(api, fans[0], viewer)  # fans[0] blocks the viewer: absent from every list the viewer gets
    assert await _all_followers(api, owner, viewer, 2) == [fans[2].username, fans[1].username]
    assert await _all_followers(api, owner, None, 2) == [f.username for f in reversed(fans)]

    assert (await graphql(api, PRIVATE, token=owner.token)).get("errors") is None
    hidden = await graphql(api, FOLLOWERS, {"u": owner.username, "first": 5}, token=viewer.token)
    assert hidden["data"]["user"]["followers"] == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
    mine = await _all_followers(api, owner, owner, 2)
    assert mine == [f.username for f in reversed(fans)]
    assert from_global_id(owner.gid, field="id")[1] == owner.id
