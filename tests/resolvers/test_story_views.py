"""``viewStory``, ``Story.viewCount`` and ``Story.viewers`` on the real stack: one view per viewer, none for
the author, the author alone reads them, the asynchronous count and its write-back, Redis down."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.factories import graphql, make_user
from tests.support.posts import block, follow, restart_redis
from tests.support.stories import STORY, VIEW_STORY, publish_story, story_clock, story_state

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from graph.store import GraphStore
    from runtime.settings import Settings
    from services.core.clock import Clock
    from tests.support.factories import TestUser
    from tests.support.stories import TestStory

__all__ = ["story_clock"]  # a fixture

VIEWERS = """
query($id: ID!, $first: Int, $after: String) {
  story(id: $id) {
    viewCount
    viewers(first: $first, after: $after) {
      edges { cursor node { username } } pageInfo { hasNextPage endCursor } totalCount
    }
  }
}
"""


def name() -> str:
    return f"sv_{secrets.token_hex(4)}"


async def view(api: httpx.AsyncClient, viewer: TestUser, story: TestStory) -> dict[str, Any]:
    body = await graphql(api, VIEW_STORY, {"id": story.gid}, token=viewer.token)
    assert "errors" not in body, body
    return body["data"]["viewStory"]  # type: ignore[no-any-return]


async def view_count(api: httpx.AsyncClient, reader: TestUser, story: TestStory) -> int | None:
    body = await graphql(api, STORY, {"id": story.gid}, token=reader.token)
    assert "errors" not in body, body
    return body["data"]["story"]["viewCount"]  # type: ignore[no-any-return]


@pytest.fixture
async def scene(app: Starlette, api: httpx.AsyncClient) -> tuple[TestUser, list[TestUser], TestStory]:
    """An author, three followers, and the author's new story."""
    author = await make_user(api, name())
    followers = [await make_user(api, name()) for _ in range(3)]
    for follower in followers:
        await follow(api, follower, author)
    return author, followers, await publish_story(api, app, author)


async def test_view_story_twice_counts_one_view(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, scene: tuple[TestUser, list[TestUser], TestStory]
) -> None:
    author, (ana, bob, _), story = scene

    first = await view(api, ana, story)
    second = await view(api, ana, story)
    concurrent = await asyncio.gather(*(view(api, bob, story) for _ in range(5)))

    assert first["viewerHasSeen"] is second["viewerHasSeen"] is True
    assert all(c["viewerHasSeen"] for c in concurrent)
    assert first["viewCount"] is None  # not the author's to read
    assert await view_count(api, author, story) == 2
    assert await app.state.services.story_views.write_back() >= 1
    assert (await story_state(graph_store, story.id))["view_count"] == 2  # recounted from the VIEWED edges
    assert await view_count(api, author, story) == 2


async def test_the_authors_own_view_counts_none(
    api: httpx.AsyncClient, graph_store: GraphStore, scene: tuple[TestUser, list[TestUser], TestStory]
) -> None:
    author, _, story = scene

    own = await view(api, author, story)

    assert own["viewerHasSeen"] is True and own["viewCount"] == 0
    body = await graphql(api, VIEWERS, {"id": story.gid}, token=author.token)
    assert body["data"]["story"]["viewers"]["edges"] == []
    assert (await story_state(graph_store, story.id))["view_count"] == 0


async def test_only_the_author_reads_viewers_and_view_count(
    api: httpx.AsyncClient, scene: tuple[TestUser, list[TestUser], TestStory]
) -> None:
    author, (ana, bob, cid), story = scene
    for viewer in (ana, bob, cid):
        await view(api, viewer, story)
    stranger = await make_user(api, name())

    for reader, token in (("follower", ana.token), ("stranger", stranger.token), ("anonymous", None)):
        body = await graphql(api, VIEWERS, {"id": story.gid}, token=token)
        assert body == {"data": {"story": {"viewCount": None, "viewers": None}}}, reader

    # the author: most recent viewer first, keyset pages
    page1 = (await graphql(api, VIEWERS, {"id": story.gid, "first": 2}, token=author.token))["data"]["story"]
    cursor = page1["viewers"]["pageInfo"]["endCursor"]
    page2 = (await graphql(api, VIEWERS, {"id": story.gid, "first": 2, "after": cursor}, token=author.token))
    assert page1["viewCount"] == 3
    assert [e["node"]["username"] for e in page1["viewers"]["edges"]] == [cid.username, bob.username]
    assert page1["viewers"]["pageInfo"]["hasNextPage"] is True
    rest = page2["data"]["story"]["viewers"]
    assert [e["node"]["username"] for e in rest["edges"]] == [ana.username]
    assert rest["pageInfo"]["hasNextPage"] is False

    # a viewer the author then blocks is left out of the list
    await block(api, author, bob)
    after_block = (await graphql(api, VIEWERS, {"id": story.gid}, token=author.token))["data"]["story"]
    assert [e["node"]["username"] for e in after_block["viewers"]["edges"]] == [cid.username, ana.username]


async def test_hidden_expired_and_unknown_stories_are_not_found(
    app: Starlette, api: httpx.AsyncClient, scene: tuple[TestUser, list[TestUser], TestStory], story_clock: Clock
) -> None:
    author, (ana, _, _), story = scene
    stranger_of_private = await make_user(api, name())
    private = await make_user(api, name(), private=True)
    secret = await publish_story(api, app, private)

    hidden = await graphql(api, VIEW_STORY, {"id": secret.gid}, token=stranger_of_private.token)
    story_clock.advance(24 * 3_600_000)
    expired = await graphql(api, VIEW_STORY, {"id": story.gid}, token=ana.token)
    anonymous = await graphql(api, VIEW_STORY, {"id": story.gid})

    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert expired["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    story_clock.offset_ms = 0
    assert await view_count(api, author, story) == 0


async def test_a_lost_counter_is_recounted_from_the_edges(
    api: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings, scene: tuple[TestUser, list[TestUser], TestStory]
) -> None:
    author, (ana, bob, _), story = scene
    await view(api, ana, story)
    assert await view_count(api, author, story) == 1  # the counter is installed from the edges
    counter = f"{settings.redis_prefix}story_views:{{{story.id}}}"
    assert await redis.get(counter) == b"1"
    await view(api, bob, story)
    assert await redis.get(counter) == b"2"  # moved by the view

    await redis.delete(counter)  # evicted

    assert await view_count(api, author, story) == 2
    assert await redis.get(counter) == b"2"


async def test_views_while_redis_is_down_are_counted_once_it_is_back(
    app: Starlette, api: httpx.AsyncClient, redis: aioredis.Redis, stack: EmbeddedStack, settings: Settings,
    scene: tuple[TestUser, list[TestUser], TestStory],
) -> None:  # fmt: skip
    author, (ana, bob, _), story = scene
    await view(api, ana, story)
    assert await view_count(api, author, story) == 1

    await stack.stop_service("redis")
    try:
        during = await view(api, bob, story)
        count_during = await view_count(api, author, story)  # from the graph's edges
    finally:
        await restart_redis(stack, redis, app.state.resources.redis)

    assert during["viewerHasSeen"] is True and count_during == 2
    # the counter missed bob's view; the write-back recounts it (the story was marked dirty, or its counter
    # is recounted on the next read)
    await app.state.services.story_views.write_back()
    assert await view_count(api, author, story) == 2
    seen_key = f"{settings.redis_prefix}story_seen:{{{bob.id}}}"
    assert await redis.sismember(seen_key, story.id) == 1  # the lost seen-set entry was replayed
