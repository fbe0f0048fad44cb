"""hashtag(name:) and trendingHashtags(window:) over GraphQL on the real stack.

Posts go through the real flow, their publication stamped at chosen times (``publish_post_at``); the trend
counters are filled by the ``hashtags`` worker's handler from the outbox events (``count_trends``), and
``trendingHashtags`` reads them at the hashtag service's clock, which the tests move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from schema.base import to_global_id
from services.core.clock import now_ms
from tests.support.factories import graphql, make_user
from tests.support.posts import approve, block, follow, restart_redis
from tests.support.search import count_trends, publish_post_at

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from tests.support.factories import TestUser

MIN = 60_000
HASHTAG = """
query($name: String!, $first: Int, $after: String) {
  hashtag(name: $name) {
    name postCount
    posts(first: $first, after: $after) { edges { node { id hashtags } } pageInfo { hasNextPage endCursor } }
  }
}
"""
TRENDING = """
query($w: TrendWindow, $first: Int) { trendingHashtags(window: $w, first: $first) { name postCount delta } }
"""
DELETE = "mutation($id: ID!) { deletePost(input: {postId: $id}) { status } }"


@dataclass
class World:
    """The module's users, posts (raw ids) and the time ``now`` the posts were stamped around."""

    users: dict[str, TestUser]
    posts: dict[str, str]
    now: int


@pytest.fixture(scope="module")
async def world(api: httpx.AsyncClient, app: Starlette) -> World:
    names = ("viewer", "a1", "a2", "a3", "private", "fan", "blocker", "spammer")
    users = {n: await make_user(api, f"ht_{n}", private=n == "private") for n in names}
    await follow(api, users["fan"], users["private"])
    await approve(api, users["private"], users["fan"])
    await block(api, users["blocker"], users["viewer"])
    now = now_ms()
    posts = {
        "a1": await publish_post_at(app, users["a1"], "Sunset at the pier #Sunset #beach", now - 70 * MIN),
        "a2": await publish_post_at(app, users["a2"], "#sunset again", now - 5 * MIN),
        "a3": await publish_post_at(app, users["a3"], "#SUNSET and #Beach", now - 3 * MIN),
        "private": await publish_post_at(app, users["private"], "a private #sunset", now - 2 * MIN),
        "blocker": await publish_post_at(app, users["blocker"], "#sunset by a blocker", now - MIN),
    }
    for i in range(50):  # one author, one tag, fifty posts spread over ten 5-minute buckets
        posts[f"spam{i}"] = await publish_post_at(app, users["spammer"], f"buy now #spam {i}", now - 50 * MIN + i * MIN)
    await count_trends(app)
    return World(users, posts, now)


@pytest.fixture(autouse=True)
def clock_at_world_time(app: Starlette, world: World) -> None:
    """Trending is read at the world's time unless a test moves the clock."""
    app.state.services.hashtags.clock = lambda: world.now


async def _trending(api: httpx.AsyncClient, window: str, first: int = 10) -> list[dict[str, Any]]:
    body = await graphql(api, TRENDING, {"w": window, "first": first})
    assert "errors" not in body, body
    return body["data"]["trendingHashtags"]  # type: ignore[no-any-return]


# -- hashtag(name:) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", ["blocker", "a3", "a2", "a1"]), ("viewer", ["a3", "a2", "a1"]),
     ("fan", ["blocker", "private", "a3", "a2", "a1"]), ("private", ["blocker", "private", "a3", "a2", "a1"]),
     ("blocker", ["blocker", "a3", "a2", "a1"])],
)  # fmt: skip
async def test_a_tag_shows_only_the_posts_the_viewer_may_see_newest_first(
    api: httpx.AsyncClient, world: World, who: str, expected: list[str]
) -> None:
    token = None if who == "anonymous" else world.users[who].token
    body = await graphql(api, HASHTAG, {"name": "#Sunset"}, token=token)
    tag = body["data"]["hashtag"]
    assert (tag["name"], tag["postCount"]) == ("sunset", len(expected))
    assert [e["node"]["id"] for e in tag["posts"]["edges"]] == [to_global_id("Post", world.posts[k]) for k in expected]
    assert all("sunset" in e["node"]["hashtags"] for e in tag["posts"]["edges"])


async def test_tag_pages_are_keyset_pages(api: httpx.AsyncClient, world: World) -> None:
    seen: list[str] = []
    after = None
    for _ in range(30):
        body = await graphql(api, HASHTAG, {"name": "spam", "first": 7, "after": after})
        page = body["data"]["hashtag"]["posts"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 50


async def test_unknown_and_malformed_tags(api: httpx.AsyncClient) -> None:
    assert (await graphql(api, HASHTAG, {"name": "neverused"}))["data"]["hashtag"] is None
    for bad in ("#", "two words", "#2020", "x" * 101):
        (error,) = (await graphql(api, HASHTAG, {"name": bad}))["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}


# -- trendingHashtags -----------------------------------------------------------------------------------------


async def test_the_hour_counts_authors_in_the_last_hour_with_delta_against_the_hour_before(
    api: httpx.AsyncClient, world: World
) -> None:
    # sunset: a2, a3, private, blocker now; a1 70 min ago. beach: a3 now, a1 before. spam: one author.
    assert await _trending(api, "HOUR") == [
        {"name": "sunset", "postCount": 4, "delta": 3},
        {"name": "beach", "postCount": 1, "delta": 0},
        {"name": "spam", "postCount": 1, "delta": 1},
    ]


async def test_the_day_and_week_hold_everything(api: httpx.AsyncClient, world: World) -> None:
    expected = [{"name": "sunset", "postCount": 5, "delta": 5}, {"name": "beach", "postCount": 2, "delta": 2},
                {"name": "spam", "postCount": 1, "delta": 1}]  # fmt: skip
    assert await _trending(api, "DAY") == expected
    assert await _trending(api, "WEEK") == expected
    assert await _trending(api, "DAY", first=1) == expected[:1]


async def test_the_window_slides_with_the_clock(api: httpx.AsyncClient, app: Starlette, world: World) -> None:
    app.state.services.hashtags.clock = lambda: world.now + 40 * MIN
    # the hour now starts 20 min before world.now: the early spam, a1 and nothing else have left it
    assert await _trending(api, "HOUR") == [
        {"name": "sunset", "postCount": 4, "delta": 3},
        {"name": "beach", "postCount": 1, "delta": 0},
        {"name": "spam", "postCount": 1, "delta": 0},
    ]
    app.state.services.hashtags.clock = lambda: world.now + 2 * 60 * MIN
    assert await _trending(api, "HOUR") == []
    assert [t["name"] for t in await _trending(api, "DAY")] == ["sunset", "beach", "spam"]


async def test_bad_trending_arguments(api: httpx.AsyncClient) -> None:
    (error,) = (await graphql(api, TRENDING, {"w": "HOUR", "first": 0}))["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    body = await graphql(api, TRENDING, {"w": "YEAR"})
    assert body["errors"] and body.get("data") is None


async def test_deleted_posts_leave_the_counts(api: httpx.AsyncClient, app: Starlette, world: World) -> None:
    body = await graphql(api, DELETE, {"id": to_global_id("Post", world.posts["a3"])}, token=world.users["a3"].token)
    assert "errors" not in body, body
    await count_trends(app)
    await count_trends(app)  # redelivered: no second removal
    assert await _trending(api, "HOUR") == [
        {"name": "sunset", "postCount": 3, "delta": 2},
        {"name": "spam", "postCount": 1, "delta": 1},
    ]
    body = await graphql(api, HASHTAG, {"name": "beach"})
    assert body["data"]["hashtag"]["postCount"] == 1


async def test_trending_without_redis_is_service_unavailable(
    api: httpx.AsyncClient, app: Starlette, stack: EmbeddedStack
) -> None:
    await stack.stop_service("redis")
    try:
        body = await graphql(api, TRENDING, {"w": "HOUR"})
    finally:
        await restart_redis(stack, app.state.resources.redis)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
