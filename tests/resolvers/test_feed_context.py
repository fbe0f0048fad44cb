"""The viewer's feed context (followee count, pulled followees) cached in Redis beside the feed
(``cache.feed``): it never hides what the graph says the viewer should see.

Celebrity threshold 2 followers. The follow writes drop the writer's context at once; an author who becomes
pulled bumps the context epoch (the fan-out handler, run here by hand as the worker would), so every cached
context is read again from the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from cache.keys import RedisKeys
from schema.base import from_global_id
from tests.support.factories import graphql, make_user
from tests.support.fanout import event_for, follow, open_feeds, publish_and_fan_out
from workers.fanout import make_handler

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from runtime.settings import Settings

FEED = "{ feed(first: 20) { edges { node { id author { username } } } } }"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """This module's settings with ``celebrity_threshold=2``."""
    return settings.model_copy(update={"celebrity_threshold": 2})


def _ids(body: dict[str, Any]) -> list[str]:
    assert body.get("errors") is None, body
    return [from_global_id(e["node"]["id"], field="id")[1] for e in body["data"]["feed"]["edges"]]


async def test_a_first_follow_leaves_the_cold_start_at_once(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    viewer, author = await make_user(api, "fc_new"), await make_user(api, "fc_author")
    stranger = await make_user(api, "fc_stranger")
    handler = make_handler(app.state.services)
    post = await publish_and_fan_out(app, graph_store, handler, author)
    other = await publish_and_fan_out(app, graph_store, handler, stranger)
    cold = _ids(await graphql(api, FEED, token=viewer.token))  # cold start: the context (following 0) cached
    assert set(cold) >= {post, other}
    key = RedisKeys(settings.redis_prefix).feed_context(viewer.id)
    assert await cache_redis.exists(key) == 1

    await follow(api, viewer, author)  # drops the cached context at once
    assert await cache_redis.exists(key) == 0
    await handler(await event_for(graph_store, "follow.created", actor_id=viewer.id))  # the backfill
    assert _ids(await graphql(api, FEED, token=viewer.token)) == [post]  # the home feed, not the cold start


async def test_an_author_who_becomes_pulled_is_merged_for_viewers_with_a_cached_context(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    viewer, author = await make_user(api, "fc_viewer"), await make_user(api, "fc_rising")
    await follow(api, viewer, author)
    await open_feeds(app, viewer, author)
    handler = make_handler(app.state.services)
    pushed = await publish_and_fan_out(app, graph_store, handler, author)  # 1 follower: pushed
    assert _ids(await graphql(api, FEED, token=viewer.token)) == [pushed]  # context cached: nothing pulled

    await follow(api, await make_user(api, "fc_second"), author)  # now 2 followers: a celebrity
    pulled = await publish_and_fan_out(app, graph_store, handler, author)  # only in posts:{author}
    assert _ids(await graphql(api, FEED, token=viewer.token)) == [pulled, pushed]


async def test_following_a_celebrity_merges_them_at_once(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    viewer, friend = await make_user(api, "fc_fan"), await make_user(api, "fc_friend")
    celebrity = await make_user(api, "fc_celeb")
    for i in range(2):
        await follow(api, await make_user(api, f"fc_celebfan{i}"), celebrity)
    handler = make_handler(app.state.services)
    post = await publish_and_fan_out(app, graph_store, handler, celebrity)  # pulled
    await follow(api, viewer, friend)
    await open_feeds(app, viewer)
    assert _ids(await graphql(api, FEED, token=viewer.token)) == []  # context cached without the celebrity

    await follow(api, viewer, celebrity)
    assert _ids(await graphql(api, FEED, token=viewer.token)) == [post]
