"""``feed(first, after)`` over GraphQL on the real stack (celebrity threshold 3 followers).

The module's world: ``viewer`` follows ``author`` (pushed: fewer than 3 followers) and ``celebrity`` (pulled:
3 followers); ``stranger`` posts too but is not followed. Every post goes through the real upload flow and
its ``post.published`` event through the fan-out handler, as the worker would.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from cache.feed import BUILT
from cache.keys import RedisKeys
from schema.base import from_global_id, to_global_id
from tests.support.factories import graphql, make_user
from tests.support.fanout import created_at, follow, publish_and_fan_out, publish_post
from tests.support.metrics import metric_value
from tests.support.posts import restart_redis, stop_redis
from workers.fanout import make_handler

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from graph.store import GraphStore
    from runtime.settings import Settings
    from tests.support.factories import TestUser

FEED = """
query($first: Int, $after: String) {
  feed(first: $first, after: $after) {
    edges { cursor node { id createdAt author { username } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""
FEED_FULL = """
query($first: Int) {
  feed(first: $first) {
    edges { cursor node {
      id caption hashtags createdAt status likeCount commentCount viewerHasLiked
      author { id username followerCount viewerFollows } media { url(size: THUMBNAIL) } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
UNFOLLOW = "mutation($id: ID!) { unfollow(input: {userId: $id}) { status } }"
BLOCK = "mutation($id: ID!) { block(input: {userId: $id}) { id } }"
DELETE_POST = "mutation($id: ID!) { deletePost(input: {postId: $id}) { status } }"
LIKE = "mutation($id: ID!) { likePost(input: {postId: $id}) { likeCount } }"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """This module's settings with ``celebrity_threshold=3``."""
    return settings.model_copy(update={"celebrity_threshold": 3})


@dataclass
class World:
    """The module's users and the posts each published (raw ids with created_at ms)."""

    viewer: TestUser
    author: TestUser
    celebrity: TestUser
    stranger: TestUser
    posts: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    public_posts: list[tuple[int, str]] = field(default_factory=list)  # every post of the module (cold start)

    def expected(self, *users: TestUser) -> list[str]:
        """Post ids of ``users`` newest first by (created_at, id): the feed's order."""
        rows = [row for u in users for row in self.posts.get(u.username, [])]
        return [post_id for _, post_id in sorted(rows, reverse=True)]


async def _post(app: Starlette, graph: GraphStore, world: World, user: TestUser) -> str:
    post_id = await publish_and_fan_out(app, graph, make_handler(app.state.services), user)
    row = (await created_at(app, post_id), post_id)
    world.posts.setdefault(user.username, []).append(row)
    world.public_posts.append(row)
    return post_id


@pytest.fixture(scope="module")
async def world(app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore) -> World:
    """The module's users and 25 posts visible to ``viewer`` (plus 2 by ``stranger``)."""
    users = [await make_user(api, name) for name in ("fd_viewer", "fd_author", "fd_celeb", "fd_stranger")]
    result = World(*users)
    await follow(api, result.viewer, result.author)
    await follow(api, result.viewer, result.celebrity)
    for i in range(2):
        await follow(api, await make_user(api, f"fd_cfan{i}"), result.celebrity)
    for i in range(9):
        await _post(app, graph_store, result, result.author)
        await _post(app, graph_store, result, result.celebrity)
        if i % 3 == 0:
            await _post(app, graph_store, result, result.viewer)
            await _post(app, graph_store, result, result.stranger)
    for _ in range(4):
        await _post(app, graph_store, result, result.celebrity)
    return result


def _ids(body: dict[str, Any]) -> list[str]:
    assert body.get("errors") is None, body
    return [from_global_id(e["node"]["id"], field="id")[1] for e in body["data"]["feed"]["edges"]]


async def _all_pages(api: httpx.AsyncClient, user: TestUser, first: int) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        body = await graphql(api, FEED, {"first": first, "after": after}, token=user.token)
        ids += _ids(body)
        info = body["data"]["feed"]["pageInfo"]
        if not info["hasNextPage"]:
            return ids
        after = info["endCursor"]


def _code(body: dict[str, Any]) -> tuple[str, str | None]:
    error = body["errors"][0]["extensions"]
    return error["code"], error.get("field")


async def test_anonymous_viewer_is_unauthenticated(api: httpx.AsyncClient) -> None:
    body = await graphql(api, FEED, {"first": 5})
    assert body["data"] is None
    assert _code(body) == ("UNAUTHENTICATED", None)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"first": 0}, ("BAD_USER_INPUT", "first")),
        ({"first": 101}, ("BAD_USER_INPUT", "first")),
        ({"first": -3}, ("BAD_USER_INPUT", "first")),
        ({"first": 5, "after": "not-a-cursor"}, ("BAD_USER_INPUT", "after")),
        ({"first": 5, "after": "WyJ4Il0"}, ("BAD_USER_INPUT", "after")),  # ["x"]: wrong shape
    ],
)
async def test_bad_paging_arguments_are_bad_user_input(
    api: httpx.AsyncClient, world: World, variables: dict[str, Any], expected: tuple[str, str]
) -> None:
    body = await graphql(api, FEED, variables, token=world.viewer.token)
    assert body["data"] is None
    assert _code(body) == expected


async def test_feed_merges_pushed_and_celebrity_posts_newest_first(
    api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings, world: World
) -> None:
    expected = world.expected(world.viewer, world.author, world.celebrity)

    body = await graphql(api, FEED, {"first": 100}, token=world.viewer.token)

    assert _ids(body) == expected
    last_cursor = body["data"]["feed"]["edges"][-1]["cursor"]
    assert body["data"]["feed"]["pageInfo"] == {
        "hasNextPage": False, "hasPreviousPage": False, "endCursor": last_cursor,
    }  # fmt: skip
    pushed = {
        m.decode() for m in await cache_redis.zrange(RedisKeys(settings.redis_prefix).feed(world.viewer.id), 0, -1)
    }
    celebrity_posts = {p for _, p in world.posts["fd_celeb"]}
    assert celebrity_posts.isdisjoint(pushed)  # celebrities reach followers only through the read-time merge
    assert set(world.expected(world.author, world.viewer)) <= pushed


async def test_default_page_is_ten_posts(api: httpx.AsyncClient, world: World) -> None:
    body = await graphql(api, "{ feed { edges { node { id } } pageInfo { hasNextPage } } }", token=world.viewer.token)
    assert _ids(body) == world.expected(world.viewer, world.author, world.celebrity)[:10]
    assert body["data"]["feed"]["pageInfo"]["hasNextPage"] is True


async def test_pages_have_no_duplicates_or_gaps_while_new_posts_arrive(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, world: World
) -> None:
    expected = world.expected(world.viewer, world.author, world.celebrity)
    seen: list[str] = []
    after = None
    arrivals: list[str] = []
    while True:
        body = await graphql(api, FEED, {"first": 4, "after": after}, token=world.viewer.token)
        seen += _ids(body)
        info = body["data"]["feed"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
        who = world.author if len(arrivals) % 2 == 0 else world.celebrity
        arrivals.append(await _post(app, graph_store, world, who))  # newer than every page already served

    assert seen == expected
    assert len(arrivals) == math.ceil(len(expected) / 4) - 1  # one between every two pages
    fresh = _ids(await graphql(api, FEED, {"first": len(arrivals)}, token=world.viewer.token))
    assert fresh == arrivals[::-1]


async def test_round_trips_per_page_are_fixed(
    app: Starlette, api: httpx.AsyncClient, redis: aioredis.Redis, world: World
) -> None:
    graph = app.state.resources.graph
    feed_cache = app.state.services.feed.cache
    costs = {}
    for first in (5, 20, 5, 20):
        await graphql(api, FEED_FULL, {"first": first}, token=world.viewer.token)  # warm counters and sessions
        graph_before, cache_before = graph.round_trips, feed_cache.commands
        redis_before = (await redis.info("stats"))["total_commands_processed"]
        body = await graphql(api, FEED_FULL, {"first": first}, token=world.viewer.token)
        redis_after = (await redis.info("stats"))["total_commands_processed"]
        assert len(_ids(body)) == first
        costs[first] = (
            graph.round_trips - graph_before,
            feed_cache.commands - cache_before,
            redis_after - redis_before - 1,  # minus the first INFO itself
        )

    assert costs[5] == costs[20]
    graph_trips, feed_commands, _ = costs[5]
    # FEED_FILTER_HYDRATED (the filter also returns each post's counts, its author and the viewer's like,
    # primed into PostsById, UsersById, LikeCountsByPostId and ViewerLikesByPostId; the post content comes
    # from the process cache) + the author's relationship (viewerFollows). The viewer's context
    # (VIEWER_CONTEXT) is cached in Redis and read with the feed page. Was 3 with VIEWER_CONTEXT on every
    # page, 6 before the filter hydrated the page.
    assert graph_trips == 2
    # one pipeline: the feed page and the cached context as one script + the context epoch (GET; was 4 commands
    # before the script); then one celebrity posts page (ZREVRANGEBYSCORE + EXPIRE). No like-counter MGET: the
    # filter's counts are exact.
    assert feed_commands == 4


async def test_missing_feed_key_is_rebuilt_from_the_graph(
    api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings, world: World
) -> None:
    key = RedisKeys(settings.redis_prefix).feed(world.viewer.id)
    expected = world.expected(world.viewer, world.author, world.celebrity)
    rebuilds = metric_value("instagraph_feed_rebuilds_total")
    assert await cache_redis.delete(key) == 1

    assert await _all_pages(api, world.viewer, 6) == expected

    assert metric_value("instagraph_feed_rebuilds_total") == rebuilds + 1
    members = {m.decode(): s for m, s in await cache_redis.zrange(key, 0, -1, withscores=True)}
    assert members.pop(BUILT) == float("inf")
    assert set(members) == set(world.expected(world.viewer, world.author))  # celebrities stay pulled

    assert await cache_redis.delete(key) == 1
    concurrent = await asyncio.gather(*(graphql(api, FEED, {"first": 100}, token=world.viewer.token) for _ in range(4)))
    assert [_ids(body) for body in concurrent] == [expected] * 4
    # the rebuild lock let one request rebuild, the rest waited
    assert metric_value("instagraph_feed_rebuilds_total") == rebuilds + 2


async def test_the_feed_reads_on_when_the_cache_lost_its_scripts(
    api: httpx.AsyncClient, cache_redis: aioredis.Redis, world: World
) -> None:
    expected = world.expected(world.viewer, world.author, world.celebrity)
    assert await _all_pages(api, world.viewer, 6) == expected
    assert await cache_redis.script_flush() is True  # as after a restart: the page's script is gone
    degraded = metric_value("instagraph_feed_degraded_total")

    assert await _all_pages(api, world.viewer, 6) == expected  # loaded again, every page from the cache

    assert metric_value("instagraph_feed_degraded_total") == degraded


async def test_feed_is_served_from_the_graph_while_redis_is_down(
    app: Starlette, api: httpx.AsyncClient, cache_redis: aioredis.Redis, stack: EmbeddedStack, world: World
) -> None:
    expected = world.expected(world.viewer, world.author, world.celebrity)
    degraded = metric_value("instagraph_feed_degraded_total")
    await stop_redis(stack)
    try:
        pages = await _all_pages(api, world.viewer, 10)
    finally:  # both roles back, pooled connections dropped, the app's circuits closed again
        await restart_redis(stack, cache_redis, app.state.resources.redis, app.state.resources.cache)

    assert pages == expected
    served_by_graph = degraded + math.ceil(len(expected) / 10)  # one per page
    assert metric_value("instagraph_feed_degraded_total") == served_by_graph
    assert _ids(await graphql(api, FEED, {"first": 100}, token=world.viewer.token)) == expected
    assert metric_value("instagraph_feed_degraded_total") == served_by_graph  # back on Redis


async def test_unfollowed_blocked_and_deleted_authors_are_filtered_at_read(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis,
    settings: Settings, world: World,
) -> None:  # fmt: skip
    reader, kept, dropped, blocker, deleter = [
        await make_user(api, f"fd_{name}") for name in ("reader", "kept", "dropped", "blocker", "deleter")
    ]
    for user in (kept, dropped, blocker, deleter):
        await follow(api, reader, user)
    assert _ids(await graphql(api, FEED, {"first": 3}, token=reader.token)) == []  # the reader's feed is live
    local = World(reader, kept, blocker, deleter, public_posts=world.public_posts)  # one ledger of posts
    old = [await _post(app, graph_store, local, kept) for _ in range(2)]
    await _post(app, graph_store, local, deleter)
    for user in (dropped, blocker, dropped, blocker):  # the four newest posts will all be filtered out
        await _post(app, graph_store, local, user)
    gone = await _post(app, graph_store, local, deleter)
    key = RedisKeys(settings.redis_prefix).feed(reader.id)
    assert await cache_redis.zcard(key) == 8 + 1  # pushed by the fan-out, and the rebuilt marker

    assert (await graphql(api, UNFOLLOW, {"id": dropped.gid}, token=reader.token))["data"]["unfollow"]
    assert (await graphql(api, BLOCK, {"id": reader.gid}, token=blocker.token))["data"]["block"]
    body = await graphql(api, DELETE_POST, {"id": to_global_id("Post", gone)}, token=deleter.token)
    assert body["data"]["deletePost"]["status"] == "DELETED", body
    # no fan-out handler ran for the unfollow, the block or the delete: the read filters them out

    body = await graphql(api, FEED, {"first": 3}, token=reader.token)
    survivors = local.expected(kept, deleter)
    survivors.remove(gone)
    world.public_posts.remove(next(row for row in world.public_posts if row[1] == gone))
    assert len(survivors) == 3 and set(old) <= set(survivors)
    assert _ids(body) == survivors
    assert body["data"]["feed"]["pageInfo"]["hasNextPage"] is False
    remaining = {m.decode() for m in await cache_redis.zrange(key, 0, -1)} - {BUILT}
    assert remaining == set(survivors)  # filtered ids were removed lazily


async def test_viewer_following_nobody_gets_recent_popular_posts(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, world: World
) -> None:
    newcomer = await make_user(api, "fd_newcomer")
    private = await make_user(api, "fd_private", private=True)
    secret = await publish_post(app, private)
    top, second = world.posts["fd_stranger"][0][1], world.posts["fd_author"][0][1]
    likers = [await make_user(api, f"fd_liker{i}") for i in range(3)]
    for i, liker in enumerate(likers):
        for post_id in (top, second) if i < 2 else (top,):
            body = await graphql(api, LIKE, {"id": to_global_id("Post", post_id)}, token=liker.token)
            assert body.get("errors") is None, body
    await app.state.services.engagement.counters.write_back()  # the graph copy ranks the cold start

    pages = await _all_pages(api, newcomer, 7)

    # the cold start is explore: the liked posts first (velocity), then every other public post once (newest
    # first, diversified by author); the private author's post left out
    rest = {post_id for _, post_id in world.public_posts} - {top, second}
    assert pages[:2] == [top, second]
    assert len(pages) == len(set(pages)) and set(pages[2:]) == rest
    assert secret not in pages
