"""explore(first:, after:) over GraphQL on the real stack.

Posts go through the real flow with chosen publication times (``publish_post_at``); engagement is real likes
and comments through the API. The explore service's clock is moved by the tests (``clock`` fixture), which
also decides when a viewer's frozen ordering and the shared candidate pool are stale.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from schema.base import from_global_id, to_global_id
from services.core.clock import now_ms
from services.explore import diversify, velocity_score
from tests.support.factories import graphql, make_user
from tests.support.posts import approve, block, follow
from tests.support.search import publish_post_at

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser

MIN, HOUR = 60_000, 3_600_000
EXPLORE = """
query($first: Int, $after: String) {
  explore(first: $first, after: $after) {
    edges { cursor node { id author { username } likeCount viewerHasLiked } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
LIKE = "mutation($id: ID!) { likePost(input: {postId: $id}) { likeCount } }"
COMMENT = "mutation($id: ID!) { addComment(input: {postId: $id, text: \"nice\"}) { id } }"
DELETE = "mutation($id: ID!) { deletePost(input: {postId: $id}) { status } }"


@dataclass
class World:
    """Users, posts (raw ids) and the time the publication times are relative to."""

    users: dict[str, TestUser]
    posts: dict[str, str]
    now: int


@pytest.fixture(scope="module")
async def world(api: httpx.AsyncClient, app: Starlette) -> World:
    names = ("viewer", "followed", "hot", "warm", "plain", "private", "private_followed", "blocker", "blocked",
             "liker1", "liker2", "liker3")  # fmt: skip
    private = {"private", "private_followed"}
    users = {n: await make_user(api, f"ex_{n}", private=n in private) for n in names}
    viewer = users["viewer"]
    await follow(api, viewer, users["followed"])
    await follow(api, viewer, users["private_followed"])
    await approve(api, users["private_followed"], viewer)
    await block(api, users["blocker"], viewer)
    await block(api, viewer, users["blocked"])
    now = now_ms()
    posts: dict[str, str] = {}
    for key, author, age_min in [
        ("hot", "hot", 30), ("warm", "warm", 180), ("stale", "hot", 25 * 60), ("followed", "followed", 10),
        ("private", "private", 10), ("private_followed", "private_followed", 10), ("blocker", "blocker", 10),
        ("blocked", "blocked", 10), ("own", "viewer", 10), ("deleted", "plain", 10),
        *((f"hot{i}", "hot", 20 + i) for i in range(4)), *((f"warm{i}", "warm", 40 + i) for i in range(3)),
        *((f"plain{i}", "plain", 60 + i) for i in range(3)),
    ]:  # fmt: skip
        posts[key] = await publish_post_at(app, users[author], f"{key} photo", now - age_min * MIN)
    for liker in ("liker1", "liker2", "liker3"):
        for key in ("hot", "stale", "followed", "blocker"):
            await _ok(api, LIKE, posts[key], users[liker])
    await _ok(api, COMMENT, posts["warm"], users["liker1"])
    await _ok(api, DELETE, posts["deleted"], users["plain"])
    return World(users, posts, now)


async def _ok(api: httpx.AsyncClient, mutation: str, post_id: str, user: TestUser) -> None:
    body = await graphql(api, mutation, {"id": to_global_id("Post", post_id)}, token=user.token)
    assert "errors" not in body, body


@pytest.fixture(scope="module")
def offsets() -> itertools.count[int]:
    """Clock offsets, 11 min apart, one per test."""
    return itertools.count(0, 11 * MIN)


@pytest.fixture
def clock(app: Starlette, world: World, offsets: itertools.count[int]) -> list[int]:
    """The explore clock: ``clock[0]`` ms after the world's time, a fresh offset per test (so no ordering or
    pool of an earlier test is fresh any more); a test moves it by changing ``clock[0]``."""
    offset = [next(offsets)]
    app.state.services.explore.clock = lambda: world.now + offset[0]
    return offset


async def _page(
    api: httpx.AsyncClient, viewer: TestUser | None, first: int, after: str | None = None
) -> dict[str, Any]:
    body = await graphql(api, EXPLORE, {"first": first, "after": after}, token=viewer.token if viewer else None)
    assert "errors" not in body, body
    return body["data"]["explore"]  # type: ignore[no-any-return]


def _keys(world: World, page: dict[str, Any]) -> list[str]:
    by_id = {v: k for k, v in world.posts.items()}
    return [by_id[from_global_id(e["node"]["id"], field="id")[1]] for e in page["edges"]]


async def _all(api: httpx.AsyncClient, viewer: TestUser | None, first: int) -> list[dict[str, Any]]:
    pages, after = [], None
    for _ in range(50):
        page = await _page(api, viewer, first, after)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("explore did not end")


async def test_explore_excludes_followed_private_blocked_own_deleted_and_old_posts(
    api: httpx.AsyncClient, world: World, clock: list[int]
) -> None:
    keys = [k for page in await _all(api, world.users["viewer"], 50) for k in _keys(world, page)]
    assert set(keys) == {"hot", "warm", *(f"hot{i}" for i in range(4)), *(f"warm{i}" for i in range(3)),
                         *(f"plain{i}" for i in range(3))}  # fmt: skip
    assert len(keys) == len(set(keys))


async def test_explore_ranks_by_decayed_velocity_then_newest(
    api: httpx.AsyncClient, world: World, clock: list[int]
) -> None:
    page = await _page(api, world.users["viewer"], 50)
    keys = _keys(world, page)
    assert keys[:2] == ["hot", "warm"]  # 3 likes in 30 min beat 1 comment in 3 h
    assert velocity_score(3, 0, 30 * MIN) > velocity_score(1, 0, 180 * MIN) > 0
    assert page["edges"][0]["node"]["likeCount"] == 3 and page["edges"][0]["node"]["viewerHasLiked"] is False


async def test_a_page_has_at_most_two_posts_of_one_author(
    api: httpx.AsyncClient, world: World, clock: list[int]
) -> None:
    page = await _page(api, world.users["viewer"], 6)
    authors = Counter(e["node"]["author"]["username"] for e in page["edges"])
    assert authors == {"ex_hot": 2, "ex_warm": 2, "ex_plain": 2}


def test_diversify_keeps_the_cap_in_every_span_while_other_authors_are_left() -> None:
    items = [(f"a{i}", "A") for i in range(6)] + [(f"b{i}", "B") for i in range(3)] + [("c0", "C"), ("d0", "D")]
    ordered = diversify(items, max_per_author=2, span=4)
    assert sorted(ordered) == sorted(items)
    for start in range(len(ordered) - 3):
        window = Counter(author for _, author in ordered[start : start + 4])
        assert max(window.values()) <= 2 or set(a for _, a in ordered[start:]) == {"A"}


async def test_pages_of_a_session_are_stable_while_engagement_moves(
    api: httpx.AsyncClient, world: World, clock: list[int]
) -> None:
    reader = world.users["viewer"]
    whole = _keys(world, await _page(api, reader, 50))
    first = await _page(api, reader, 5)
    for liker in ("liker1", "liker2", "liker3"):  # plain2 jumps ahead of every post without engagement
        await _ok(api, LIKE, world.posts["plain2"], world.users[liker])
    clock[0] += 2 * MIN  # the pool is stale, the reader's ordering is not
    rest = await _all_after(api, world, reader, first["pageInfo"]["endCursor"])
    assert _keys(world, first) + rest == whole
    assert whole.index("plain2") > 2
    clock[0] += 6 * MIN  # a new session after the ordering's lifetime sees the new engagement
    assert _keys(world, await _page(api, reader, 3)) == ["hot", "plain2", "warm"]


async def _all_after(api: httpx.AsyncClient, world: World, viewer: TestUser, after: str) -> list[str]:
    keys: list[str] = []
    cursor: str | None = after
    while cursor is not None:
        page = await _page(api, viewer, 4, cursor)
        keys += _keys(world, page)
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    return keys


async def test_a_follow_during_the_session_removes_that_author_from_the_next_pages(
    api: httpx.AsyncClient, world: World, clock: list[int]
) -> None:
    reader = await make_user(api, "ex_follower")
    first = await _page(api, reader, 3)
    await follow(api, reader, world.users["plain"])
    rest = await _all_after(api, world, reader, first["pageInfo"]["endCursor"])
    assert rest and not any(k.startswith("plain") for k in rest)


async def test_a_new_post_waits_for_the_ordering_to_expire(
    api: httpx.AsyncClient, app: Starlette, world: World, clock: list[int]
) -> None:
    reader = await make_user(api, "ex_waiter")
    before = _keys(world, await _page(api, reader, 50))
    new = await publish_post_at(app, world.users["warm"], "brand new", world.now + clock[0])
    world.posts["brand_new"] = new
    assert _keys(world, await _page(api, reader, 50)) == before  # frozen for this viewer
    clock[0] += 6 * MIN
    assert "brand_new" in _keys(world, await _page(api, reader, 50))


async def test_anonymous_viewers_explore_public_posts(api: httpx.AsyncClient, world: World, clock: list[int]) -> None:
    keys = [k for page in await _all(api, None, 20) for k in _keys(world, page)]
    assert "followed" in keys and "blocker" in keys and "own" in keys
    assert not {"private", "private_followed", "deleted", "stale"} & set(keys)


@pytest.mark.parametrize(("variables", "field"), [({"first": 0}, "first"), ({"first": 101}, "first"),
                                                  ({"after": "bogus"}, "after")])  # fmt: skip
async def test_bad_explore_arguments(
    api: httpx.AsyncClient, world: World, variables: dict[str, Any], field: str
) -> None:
    body = await graphql(api, EXPLORE, variables, token=world.users["viewer"].token)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
