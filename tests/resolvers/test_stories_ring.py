"""``storiesRing`` over GraphQL on the real stack: who appears, in which order, paging, the read-time expiry
check, a fixed number of round trips per page, and the graph fallback while Redis is down."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from services.story_ring import DEGRADED
from tests.support.factories import graphql, make_user
from tests.support.posts import approve, block, follow, restart_redis
from tests.support.stories import ADD_CLOSE_FRIEND, HOUR_MS, VIEW_STORY, publish_story, story_clock

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from services.core.clock import Clock
    from tests.support.factories import TestUser
    from tests.support.stories import TestStory

__all__ = ["story_clock"]  # a fixture

RING = """
query($first: Int, $after: String) {
  storiesRing(first: $first, after: $after) {
    edges { cursor node { user { username } hasUnseen latestAt stories { id viewerHasSeen } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""
RING_FULL = """
query($first: Int) {
  storiesRing(first: $first) {
    edges { node {
      user { id username followerCount }
      hasUnseen latestAt
      stories { id status audience expiresAt viewerHasSeen author { username } media { url(size: FEED) } }
    } }
  }
}
"""


def name() -> str:
    return f"rg_{secrets.token_hex(4)}"


def ring_of(body: dict[str, Any]) -> list[tuple[str, bool, list[str]]]:
    """``[(username, hasUnseen, [story ids])]`` of a ring page."""
    assert body.get("errors") is None, body
    return [
        (e["node"]["user"]["username"], e["node"]["hasUnseen"], [s["id"] for s in e["node"]["stories"]])
        for e in body["data"]["storiesRing"]["edges"]
    ]


async def ring(api: httpx.AsyncClient, viewer: TestUser, first: int = 50) -> list[tuple[str, bool, list[str]]]:
    return ring_of(await graphql(api, RING, {"first": first}, token=viewer.token))


async def view(api: httpx.AsyncClient, viewer: TestUser, story: TestStory) -> dict[str, Any]:
    body = await graphql(api, VIEW_STORY, {"id": story.gid}, token=viewer.token)
    assert "errors" not in body, body
    return body["data"]["viewStory"]  # type: ignore[no-any-return]


async def test_a_follower_sees_a_new_story_and_others_do_not(app: Starlette, api: httpx.AsyncClient) -> None:
    author, private = await make_user(api, name()), await make_user(api, name(), private=True)
    follower, stranger, requester, blocked = [await make_user(api, name()) for _ in range(4)]
    await follow(api, follower, author)
    await follow(api, follower, private)
    await approve(api, private, follower)
    assert await follow(api, requester, private) == "REQUESTED"  # pending: not an approved follower
    await follow(api, blocked, author)
    assert await ring(api, follower) == []

    story = await publish_story(api, app, author)
    secret = await publish_story(api, app, private)
    await block(api, author, blocked)

    assert await ring(api, follower) == [
        (private.username, True, [secret.gid]), (author.username, True, [story.gid]),
    ]  # fmt: skip  (newest first)
    assert await ring(api, stranger) == []  # follows nobody: the ring is followed users only
    assert await ring(api, requester) == []  # the private account's story: approved followers only
    assert await ring(api, blocked) == []  # a block removes the follow; the story is hidden anyway
    anonymous = await graphql(api, RING)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_close_friends_stories_reach_the_list_only(app: Starlette, api: httpx.AsyncClient) -> None:
    author, friend, follower = [await make_user(api, name()) for _ in range(3)]
    for user in (friend, follower):
        await follow(api, user, author)
    added = await graphql(api, ADD_CLOSE_FRIEND, {"id": friend.gid}, token=author.token)
    assert added["data"]["addCloseFriend"]["isCloseFriend"] is True
    story = await publish_story(api, app, author, audience="CLOSE_FRIENDS")

    assert await ring(api, friend) == [(author.username, True, [story.gid])]
    assert await ring(api, follower) == []  # not on the list
    assert await ring(api, author) == [(author.username, False, [story.gid])]  # the author's own item


async def test_own_item_first_then_unseen_then_seen_newest_first_and_paging(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    viewer = await make_user(api, name())
    authors = [await make_user(api, name()) for _ in range(4)]
    for author in authors:
        await follow(api, viewer, author)
    stories = {a.username: [await publish_story(api, app, a)] for a in authors}  # authors[0]'s is the oldest
    stories[authors[1].username].append(await publish_story(api, app, authors[1]))  # the newest of all
    own = await publish_story(api, app, viewer)
    a0, a1, a2, a3 = (a.username for a in authors)

    before = await ring(api, viewer)
    assert [u for u, _, _ in before] == [viewer.username, a1, a3, a2, a0]
    assert before[1][2] == [s.gid for s in stories[a1]]  # stories oldest first

    # when: the viewer sees a3's story and one of a1's two
    await view(api, viewer, stories[a3][0])
    await view(api, viewer, stories[a1][1])

    after = await ring(api, viewer)
    assert [(u, unseen) for u, unseen, _ in after] == [
        (viewer.username, False), (a1, True), (a2, True), (a0, True), (a3, False),
    ]  # fmt: skip
    seen_flags = (await graphql(api, RING, {"first": 2}, token=viewer.token))["data"]["storiesRing"]["edges"]
    assert [s["viewerHasSeen"] for s in seen_flags[1]["node"]["stories"]] == [False, True]
    assert seen_flags[0]["node"]["stories"] == [{"id": own.gid, "viewerHasSeen": True}]

    # and: pages of two walk the same order with no repeat and no gap
    walked: list[str] = []
    cursor = None
    pages = 0
    while True:
        body = await graphql(api, RING, {"first": 2, "after": cursor}, token=viewer.token)
        page = body["data"]["storiesRing"]
        walked += [e["node"]["user"]["username"] for e in page["edges"]]
        pages += 1
        assert page["pageInfo"]["hasPreviousPage"] is (cursor is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert walked == [u for u, _, _ in after] and pages == 3


async def test_a_story_is_not_in_the_ring_one_second_after_it_expires(
    app: Starlette, api: httpx.AsyncClient, story_clock: Clock
) -> None:
    author, follower = await make_user(api, name()), await make_user(api, name())
    await follow(api, follower, author)
    story = await publish_story(api, app, author)
    body = await graphql(api, RING, token=follower.token)
    latest = body["data"]["storiesRing"]["edges"][0]["node"]["latestAt"]
    expires_in = 24 * HOUR_MS - (story_clock.now_ms() - int(datetime.fromisoformat(latest).timestamp() * 1000))

    story_clock.advance(expires_in - 2_000)  # 2 s before its time: still there
    assert await ring(api, follower) == [(author.username, True, [story.gid])]
    story_clock.advance(3_000)  # 1 s after: gone, though no worker ran and Redis still lists it

    assert await ring(api, follower) == []
    assert await ring(api, author) == []


async def test_round_trips_per_page_are_fixed_whatever_the_number_of_followees(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    graph = app.state.resources.graph
    cache = app.state.services.stories.cache
    costs = {}
    for followees in (2, 12):
        viewer = await make_user(api, name())
        for _ in range(followees):
            author = await make_user(api, name())
            await follow(api, viewer, author)
            await publish_story(api, app, author)
        await graphql(api, RING_FULL, {"first": 20}, token=viewer.token)  # warm the session cache
        graph_before, redis_before = graph.round_trips, cache.round_trips
        body = await graphql(api, RING_FULL, {"first": 20}, token=viewer.token)
        assert len(body["data"]["storiesRing"]["edges"]) == followees, body
        costs[followees] = (graph.round_trips - graph_before, cache.round_trips - redis_before)

    # FOLLOWEE_IDS + RING_STORIES (stories and authors of the page); the ring primes the loaders, so the
    # stories' authors, viewerHasSeen and media cost nothing more. Two Redis pipelines: the author index of
    # every followee (one ZMSCORE per shard) with the viewer's seen set, then stories:{uid} of those with
    # live stories.
    assert costs[2] == costs[12] == (2, 2)


async def test_the_ring_is_served_from_the_graph_while_redis_is_down(
    app: Starlette, api: httpx.AsyncClient, redis: aioredis.Redis, stack: EmbeddedStack
) -> None:
    viewer, seen_author, fresh_author = [await make_user(api, name()) for _ in range(3)]
    for author in (seen_author, fresh_author):
        await follow(api, viewer, author)
    seen = await publish_story(api, app, seen_author)
    fresh = await publish_story(api, app, fresh_author)
    await view(api, viewer, seen)
    expected = [(fresh_author.username, True, [fresh.gid]), (seen_author.username, False, [seen.gid])]
    assert await ring(api, viewer) == expected
    degraded = DEGRADED._value.get()

    await stack.stop_service("redis")
    try:
        during = await ring(api, viewer)
    finally:
        await restart_redis(stack, redis, app.state.resources.redis)

    assert during == expected  # seen flags from the VIEWED edges
    assert DEGRADED._value.get() == degraded + 1
    assert await ring(api, viewer) == expected
    assert DEGRADED._value.get() == degraded + 1


@pytest.mark.parametrize(("variables", "field"), [({"first": 0}, "first"), ({"first": 101}, "first"),
                                                  ({"after": "bm9wZQ"}, "after")])  # fmt: skip
async def test_bad_paging_arguments_name_the_field(
    api: httpx.AsyncClient, variables: dict[str, Any], field: str
) -> None:
    viewer = await make_user(api, name())
    body = await graphql(api, RING, variables, token=viewer.token)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
