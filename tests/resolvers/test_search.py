"""searchUsers and searchPosts over GraphQL on the real stack, and createPost's location.

Users, follows, blocks and posts are made through the API (posts through the real upload flow); the index is
filled by the ``indexer`` worker's handler from the events those writes left in the outbox, as the worker
would (``tests.support.search.index_outbox``). The search backend is Tantivy, in the module's own directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from search.documents import PostQuery
from tests.support.factories import graphql, make_user
from tests.support.posts import approve, block, delete_post, follow, publish_post
from tests.support.search import SEARCH_POSTS, SEARCH_USERS, index_outbox, post_ids

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from runtime.settings import Settings
    from tests.support.factories import TestUser
    from tests.support.posts import TestPost

LISBON = {"latitude": 38.7223, "longitude": -9.1393}
NORTH_8KM = {"latitude": 38.7223 + 8 / 111.195, "longitude": -9.1393, "name": "Odivelas"}
NORTH_15KM = {"latitude": 38.7223 + 15 / 111.195, "longitude": -9.1393}


@dataclass
class World:
    """The module's users and posts."""

    viewer: TestUser
    users: dict[str, TestUser]
    posts: dict[str, TestPost]


@pytest.fixture(autouse=True)
async def fresh_search_budgets(redis: aioredis.Redis, settings: Settings) -> None:
    """Each test starts with full ``search`` budgets (20 a minute would not last the module)."""
    async for key in redis.scan_iter(match=f"{settings.redis_prefix}rate:*:search", count=500):
        await redis.unlink(key)


@pytest.fixture(scope="module")
async def world(api: httpx.AsyncClient, app: Starlette) -> World:
    viewer = await make_user(api, "sx_viewer")
    users = {
        "carlos": await make_user(api, "carlos", display_name="Carlos Mendes"),
        "alinta": await make_user(api, "alinta_k", display_name="Alinta K"),
        "sofi1": await make_user(api, "sofi_r1", display_name="Sofia Reyes"),
        "sofi2": await make_user(api, "sofi_r2", display_name="Sofia Reyes"),
        "blocker": await make_user(api, "carla_blocks", display_name="Carla Blocks"),
        "private": await make_user(api, "priv_sunsets", private=True),
        "fan": await make_user(api, "sx_fan"),
    }
    for i in range(2):  # the second namesake is the more followed one
        await follow(api, await make_user(api, f"sx_follower{i}"), users["sofi2"])
    await block(api, users["blocker"], viewer)
    await follow(api, users["fan"], users["private"])
    await approve(api, users["private"], users["fan"])
    made = [
        ("golden", "carlos", "Golden sunset over the bay #Sunset", {**LISBON, "name": "Lisboa"}),
        ("therapy", "alinta", "Sunsets are my therapy", None),
        ("coffee15", "alinta", "Morning coffee #coffee", NORTH_15KM),
        ("coffee8", "carlos", "Coffee with a view #Coffee", NORTH_8KM),
        ("private", "private", "A private sunset #sunset", None),
        ("blocked", "blocker", "Sunset seen by a blocker", None),
    ]
    posts = {
        key: await publish_post(api, app, users[author], caption=caption, location=location)
        for key, author, caption, location in made
    }
    await index_outbox(app)
    return World(viewer, users, posts)


async def _users(api: httpx.AsyncClient, query: str, viewer: TestUser | None, first: int = 10) -> list[str]:
    body = await graphql(api, SEARCH_USERS, {"q": query, "first": first}, token=viewer.token if viewer else None)
    assert "errors" not in body, body
    return [u["username"] for u in body["data"]["searchUsers"]]


async def _posts(api: httpx.AsyncClient, viewer: TestUser | None, **variables: Any) -> dict[str, Any]:
    body = await graphql(api, SEARCH_POSTS, variables, token=viewer.token if viewer else None)
    assert "errors" not in body, body
    return body


# -- users ---------------------------------------------------------------------------------------------------


async def test_a_user_is_found_with_one_typo_in_a_six_letter_name(api: httpx.AsyncClient, world: World) -> None:
    assert (await _users(api, "carlis", world.viewer))[:1] == ["carlos"]


async def test_a_user_is_found_by_a_three_letter_prefix(api: httpx.AsyncClient, world: World) -> None:
    assert await _users(api, "ali", world.viewer) == ["alinta_k"]


async def test_the_more_followed_namesake_ranks_first(api: httpx.AsyncClient, world: World) -> None:
    assert (await _users(api, "sofia reyes", world.viewer))[:2] == ["sofi_r2", "sofi_r1"]


async def test_a_user_who_blocked_the_viewer_is_never_found(api: httpx.AsyncClient, world: World) -> None:
    assert "carla_blocks" not in await _users(api, "carla", world.viewer)
    assert "carla_blocks" not in await _users(api, "carla_blocks", world.viewer)
    assert "carla_blocks" in await _users(api, "carla", world.users["fan"])  # others find her
    assert "carla_blocks" in await _users(api, "carla", None)


async def test_private_accounts_are_found_and_anonymous_viewers_may_search(
    api: httpx.AsyncClient, world: World
) -> None:
    query = '{ searchUsers(query: "priv_sunsets") { username isPrivate posts { edges { node { id } } } } }'
    body = await graphql(api, query)
    expected = {"username": "priv_sunsets", "isPrivate": True, "posts": {"edges": []}}
    assert body["data"]["searchUsers"][:1] == [expected]


async def test_profile_changes_reach_the_index(api: httpx.AsyncClient, app: Starlette, world: World) -> None:
    me = world.users["alinta"]
    body = await graphql(api, 'mutation { updateProfile(input: {displayName: "Zebulon Q"}) { id } }', token=me.token)
    assert "errors" not in body, body
    await index_outbox(app)
    assert await _users(api, "zebulon", world.viewer) == ["alinta_k"]


@pytest.mark.parametrize(
    ("query", "first", "field"),
    [("", 10, "query"), ("   ", 10, "query"), ("x" * 101, 10, "query"), ("a\x00b", 10, "query"),
     ("carlos", 0, "first"), ("carlos", 101, "first")],
)  # fmt: skip
async def test_bad_user_searches(api: httpx.AsyncClient, world: World, query: str, first: int, field: str) -> None:
    body = await graphql(api, SEARCH_USERS, {"q": query, "first": first}, token=world.viewer.token)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_search_is_limited_to_20_a_minute_across_both_fields(api: httpx.AsyncClient, world: World) -> None:
    busy = await make_user(api, "sx_busy")
    for i in range(20):
        query = SEARCH_USERS if i % 2 else SEARCH_POSTS
        variables = {"q": "carlos"} if i % 2 else {"q": "sunset"}
        assert "errors" not in await graphql(api, query, variables, token=busy.token)
    body = await graphql(api, SEARCH_USERS, {"q": "carlos"}, token=busy.token)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["retryAfter"] >= 1


# -- posts ---------------------------------------------------------------------------------------------------


async def test_a_post_is_found_by_a_stemmed_word(api: httpx.AsyncClient, world: World) -> None:
    body = await _posts(api, world.viewer, q="sunsets")
    assert post_ids(body) == [world.posts["therapy"].gid, world.posts["golden"].gid]  # newest first
    assert body["data"]["searchPosts"]["edges"][1]["node"]["location"] == {**LISBON, "name": "Lisboa"}


async def test_a_post_is_found_by_hashtag_case_folded(api: httpx.AsyncClient, world: World) -> None:
    assert post_ids(await _posts(api, world.viewer, tag="#SUNSET")) == [world.posts["golden"].gid]
    assert post_ids(await _posts(api, world.viewer, tag="coffee")) == [
        world.posts["coffee8"].gid, world.posts["coffee15"].gid,
    ]  # fmt: skip


async def test_a_post_within_10_km_is_found_but_not_one_at_15_km(api: httpx.AsyncClient, world: World) -> None:
    near10 = {**LISBON, "radiusKm": 10}
    assert post_ids(await _posts(api, world.viewer, near=near10)) == [
        world.posts["coffee8"].gid, world.posts["golden"].gid,
    ]  # fmt: skip
    near20 = {**LISBON, "radiusKm": 20}
    assert post_ids(await _posts(api, world.viewer, near=near20)) == [
        world.posts["coffee8"].gid, world.posts["coffee15"].gid, world.posts["golden"].gid,
    ]  # fmt: skip
    both = await _posts(api, world.viewer, near=near10, tag="coffee", q="coffee view")
    assert post_ids(both) == [world.posts["coffee8"].gid]


async def test_pages_are_keyset_pages_newest_first(api: httpx.AsyncClient, world: World) -> None:
    seen, after = [], None
    for _ in range(5):
        body = await _posts(api, world.viewer, near={**LISBON, "radiusKm": 20}, first=1, after=after)
        seen += post_ids(body)
        info = body["data"]["searchPosts"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == [world.posts[k].gid for k in ("coffee8", "coffee15", "golden")]


@pytest.mark.parametrize(
    ("who", "sees"),
    [("anonymous", False), ("self", True), ("follower", True), ("stranger", False)],
)
async def test_a_private_accounts_post_is_in_the_index_but_shown_only_to_followers(
    api: httpx.AsyncClient, app: Starlette, world: World, who: str, sees: bool
) -> None:
    private_post = world.posts["private"]
    indexed = await app.state.resources.search.search_posts(PostQuery(text="private sunset"))
    assert [hit.id for hit in indexed.hits] == [private_post.id]
    viewer = {"anonymous": None, "self": world.users["private"], "follower": world.users["fan"],
              "stranger": world.viewer}[who]  # fmt: skip
    found = post_ids(await _posts(api, viewer, q="private sunset"))
    assert found == ([private_post.gid] if sees else [])


async def test_posts_across_a_block_are_never_returned(api: httpx.AsyncClient, world: World) -> None:
    blocked = world.posts["blocked"].gid
    assert blocked not in post_ids(await _posts(api, world.viewer, q="sunset"))  # the author blocks the viewer
    assert blocked in post_ids(await _posts(api, world.users["fan"], q="sunset"))


async def test_a_deleted_post_leaves_the_results(api: httpx.AsyncClient, app: Starlette, world: World) -> None:
    gone = await publish_post(api, app, world.users["carlos"], caption="Ephemeral sunset #gonesoon")
    await index_outbox(app)
    assert post_ids(await _posts(api, world.viewer, tag="gonesoon")) == [gone.gid]
    await delete_post(api, world.users["carlos"], gone)
    # hidden at once (the graph filters at read time), then dropped from the index by the worker
    assert post_ids(await _posts(api, world.viewer, tag="gonesoon")) == []
    await index_outbox(app)
    assert (await app.state.resources.search.search_posts(PostQuery(hashtag="gonesoon"))).hits == []


async def test_a_page_costs_the_same_graph_round_trips_whatever_its_size(
    api: httpx.AsyncClient, app: Starlette, world: World
) -> None:
    graph = app.state.resources.graph
    costs = []
    for first in (1, 3):
        await _posts(api, world.viewer, near={**LISBON, "radiusKm": 20}, first=first)  # warm the like counters
        before = graph.round_trips
        await _posts(api, world.viewer, near={**LISBON, "radiusKm": 20}, first=first)
        costs.append(graph.round_trips - before)
    assert costs[0] == costs[1] <= 3


@pytest.mark.parametrize(
    ("variables", "field"),
    [({}, "query"), ({"q": "   "}, "query"), ({"tag": "#"}, "hashtag"), ({"tag": "two words"}, "hashtag"),
     ({"near": {**LISBON, "radiusKm": 0}}, "near.radiusKm"),
     ({"near": {**LISBON, "radiusKm": 501}}, "near.radiusKm"),
     ({"near": {"latitude": 91, "longitude": 0, "radiusKm": 1}}, "near.latitude"),
     ({"near": {"latitude": 0, "longitude": -180.5, "radiusKm": 1}}, "near.longitude"),
     ({"q": "sunset", "after": "not-a-cursor"}, "after"), ({"q": "sunset", "first": 0}, "first")],
)  # fmt: skip
async def test_bad_post_searches(api: httpx.AsyncClient, world: World, variables: dict[str, Any], field: str) -> None:
    body = await graphql(api, SEARCH_POSTS, variables, token=world.viewer.token)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


# -- createPost's location -------------------------------------------------------------------------------------

CREATE = """
mutation($input: CreatePostInput!) { createPost(input: $input) { post { id location { latitude longitude name } } } }
"""


@pytest.mark.parametrize(
    ("location", "field"),
    [({"latitude": 90.5, "longitude": 0}, "location.latitude"),
     ({"latitude": -91, "longitude": 0}, "location.latitude"),
     ({"latitude": 0, "longitude": 180.01}, "location.longitude"),
     ({"latitude": 0, "longitude": 0, "name": "x" * 101}, "location.name"),
     ({"latitude": 0, "longitude": 0, "name": "bad\\nname"}, "location.name")],
)  # fmt: skip
async def test_create_post_rejects_a_bad_location(
    api: httpx.AsyncClient, world: World, location: dict[str, Any], field: str
) -> None:
    if "name" in location:
        location = {**location, "name": location["name"].replace("\\n", "\n")}
    media = [{"contentType": "image/jpeg", "byteSize": 10}]
    variables = {"input": {"caption": "x", "media": media, "location": location}}
    body = await graphql(api, CREATE, variables, token=world.viewer.token)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_create_post_keeps_a_good_location_and_none_without(api: httpx.AsyncClient, world: World) -> None:
    media = [{"contentType": "image/jpeg", "byteSize": 10}]
    at_pole = {"latitude": -90, "longitude": 180, "name": "  South Pole  "}
    body = await graphql(api, CREATE, {"input": {"media": media, "location": at_pole}}, token=world.viewer.token)
    expected = {"latitude": -90.0, "longitude": 180.0, "name": "South Pole"}
    assert body["data"]["createPost"]["post"]["location"] == expected
    body = await graphql(api, CREATE, {"input": {"media": media}}, token=world.viewer.token)
    assert body["data"]["createPost"]["post"]["location"] is None
