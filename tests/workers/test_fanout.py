"""The fan-out worker on the real stack: post and follow events move post ids between Redis feed keys.

Users, follows, blocks and posts are made through the GraphQL API and the posts/media services (the real
createPost -> presigned POST to S3 -> completeUpload -> media processing flow); the events handed to the
``fanout`` handler are the very envelopes those writes put in the outbox. Pushes go only into live feeds
(users who opened theirs: ``open_feeds``). The module runs with a celebrity threshold of 3 followers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from cache.feed import FeedCache
from events.envelope import Event
from schema.base import to_global_id
from services.fanout import FanoutService
from services.posts import MediaSpec
from tests.support.factories import graphql, make_user
from tests.support.fanout import (
    app_keys,
    created_at,
    event_for,
    feed_ids,
    feed_score,
    follow,
    open_feeds,
    posts_ids,
    publish_and_fan_out,
    publish_post,
)
from workers.fanout import make_handler

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from runtime.settings import Settings

    Handler = Callable[[Event], Awaitable[None]]

CELEBRITY_THRESHOLD = 3
UNFOLLOW = "mutation($id: ID!) { unfollow(input: {userId: $id}) { status } }"
BLOCK = "mutation($id: ID!) { block(input: {userId: $id}) { id } }"
DELETE_POST = "mutation($id: ID!) { deletePost(input: {postId: $id}) { status } }"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """This module's settings with ``celebrity_threshold=3``."""
    return settings.model_copy(update={"celebrity_threshold": CELEBRITY_THRESHOLD})


@pytest.fixture(scope="module")
def handler(app: Starlette) -> Handler:
    """The ``fanout`` worker's handler over the app's services."""
    return make_handler(app.state.services)


# -- tests ----------------------------------------------------------------------------------------------


async def test_post_by_ordinary_author_reaches_every_follower_feed(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis,
    settings: Settings, handler: Handler,
) -> None:  # fmt: skip
    author = await make_user(api, "fo_author")
    fans = [await make_user(api, f"fo_fan{i}") for i in range(2)]
    stranger = await make_user(api, "fo_stranger")
    for fan in fans:
        await follow(api, fan, author)
    await open_feeds(app, author, *fans, stranger)

    post_id = await publish_post(app, author)
    for user in (author, *fans):
        assert post_id not in await feed_ids(cache_redis, settings, user)  # nothing is pushed at write time
    await handler(await event_for(graph_store, "post.published", subject_id=post_id))

    score = await feed_score(app, post_id)
    for user in (author, *fans):
        assert (await feed_ids(cache_redis, settings, user))[post_id] == score
    assert score >= await created_at(app, post_id)  # the score is the publish time
    assert await feed_ids(cache_redis, settings, stranger) == {}
    assert await posts_ids(cache_redis, settings, author) == {post_id: score}


async def test_celebrity_post_goes_only_to_the_authors_posts_key(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis,
    settings: Settings, handler: Handler,
) -> None:  # fmt: skip
    celebrity = await make_user(api, "fo_celeb")
    fans = [await make_user(api, f"fo_cfan{i}") for i in range(CELEBRITY_THRESHOLD)]
    for fan in fans:
        await follow(api, fan, celebrity)
    await open_feeds(app, celebrity, *fans)

    post_id = await publish_and_fan_out(app, graph_store, handler, celebrity)

    assert await posts_ids(cache_redis, settings, celebrity) == {post_id: await feed_score(app, post_id)}
    for user in (celebrity, *fans):
        assert post_id not in await feed_ids(cache_redis, settings, user)


async def test_redelivered_post_published_changes_nothing(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis,
    settings: Settings, handler: Handler,
) -> None:  # fmt: skip
    author = await make_user(api, "fo_redeliv")
    fan = await make_user(api, "fo_redeliv_fan")
    await follow(api, fan, author)
    await open_feeds(app, fan)
    first = await publish_and_fan_out(app, graph_store, handler, author)
    second = await publish_and_fan_out(app, graph_store, handler, author)
    before = (await feed_ids(cache_redis, settings, fan), await posts_ids(cache_redis, settings, author))
    assert set(before[0]) == {first, second}

    event = await event_for(graph_store, "post.published", subject_id=first)
    for _ in range(3):
        await handler(event)

    assert (await feed_ids(cache_redis, settings, fan), await posts_ids(cache_redis, settings, author)) == before


async def test_fan_out_pages_followers_and_caps_every_feed(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    author = await make_user(api, "fo_pager")
    fans = [await make_user(api, f"fo_pfan{i}") for i in range(2)]
    for fan in fans:
        await follow(api, fan, author)
    cache = FeedCache(cache_redis, app_keys(settings), max_items=2)
    fanout = FanoutService(graph_store, cache, celebrity_threshold=100, follower_page=1)
    for user in (author, *fans):
        await cache.finish_rebuild(user.id, [])  # as after a read: live, and the marker is not a post
    await cache.store_posts(author.id, [])

    posts = [await publish_post(app, author) for _ in range(3)]
    results = [await fanout.fan_out_post(p) for p in posts]

    assert [(r.feeds, r.pushed) for r in results] == [(3, True)] * 3  # 2 followers (1 per page) + author
    for user in (author, *fans):
        assert set(await feed_ids(cache_redis, settings, user)) == set(posts[1:])  # capped to the newest 2
    assert set(await posts_ids(cache_redis, settings, author)) == set(posts[1:])


async def test_follow_backfills_and_unfollow_removes_the_followees_posts(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis,
    settings: Settings, handler: Handler,
) -> None:  # fmt: skip
    author = await make_user(api, "fo_backfill")
    other = await make_user(api, "fo_other")
    reader = await make_user(api, "fo_reader")
    await open_feeds(app, reader)  # following nobody yet: the cold-start feed, and a live feed key
    posts = [await publish_and_fan_out(app, graph_store, handler, author) for _ in range(2)]
    await follow(api, reader, other)
    kept = await publish_and_fan_out(app, graph_store, handler, other)

    await follow(api, reader, author)
    created = await event_for(graph_store, "follow.created", actor_id=reader.id, subject_id=author.id)
    await handler(created)
    await handler(created)  # redelivered
    assert set(await feed_ids(cache_redis, settings, reader)) == {*posts, kept}

    body = await graphql(api, UNFOLLOW, {"id": author.gid}, token=reader.token)
    assert body["data"]["unfollow"]["status"] == "NOT_FOLLOWING", body
    removed = await event_for(graph_store, "follow.removed", actor_id=reader.id, subject_id=author.id)
    await handler(removed)
    await handler(removed)  # redelivered
    assert set(await feed_ids(cache_redis, settings, reader)) == {kept}
    await handler(created)  # a stale follow.created after the unfollow backfills nothing
    assert set(await feed_ids(cache_redis, settings, reader)) == {kept}


async def test_block_removes_posts_both_ways(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis,
    settings: Settings, handler: Handler,
) -> None:  # fmt: skip
    blocker = await make_user(api, "fo_blocker")
    blocked = await make_user(api, "fo_blocked")
    await follow(api, blocker, blocked)
    await follow(api, blocked, blocker)
    await open_feeds(app, blocker, blocked)
    by_blocker = await publish_and_fan_out(app, graph_store, handler, blocker)
    by_blocked = await publish_and_fan_out(app, graph_store, handler, blocked)
    assert set(await feed_ids(cache_redis, settings, blocker)) == {by_blocker, by_blocked}

    body = await graphql(api, BLOCK, {"id": blocked.gid}, token=blocker.token)
    assert body.get("errors") is None, body
    await handler(await event_for(graph_store, "block.created", actor_id=blocker.id, subject_id=blocked.id))

    assert set(await feed_ids(cache_redis, settings, blocker)) == {by_blocker}
    assert set(await feed_ids(cache_redis, settings, blocked)) == {by_blocked}


async def test_deleted_post_leaves_every_key_and_is_never_pushed_again(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis,
    settings: Settings, handler: Handler,
) -> None:  # fmt: skip
    author = await make_user(api, "fo_deleter")
    fan = await make_user(api, "fo_dfan")
    await follow(api, fan, author)
    await open_feeds(app, author, fan)
    kept = await publish_and_fan_out(app, graph_store, handler, author)
    gone = await publish_and_fan_out(app, graph_store, handler, author)

    body = await graphql(api, DELETE_POST, {"id": to_global_id("Post", gone)}, token=author.token)
    assert body.get("errors") is None, body
    deleted = await event_for(graph_store, "post.deleted", subject_id=gone)
    await handler(deleted)
    await handler(deleted)  # redelivered

    for user in (author, fan):
        assert set(await feed_ids(cache_redis, settings, user)) == {kept}
    assert set(await posts_ids(cache_redis, settings, author)) == {kept}
    await handler(await event_for(graph_store, "post.published", subject_id=gone))  # redelivered after delete
    assert set(await feed_ids(cache_redis, settings, fan)) == {kept}


async def test_deleting_a_never_published_post_costs_the_fan_out_nothing(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, handler: Handler
) -> None:
    author = await make_user(api, "fo_unpublished")
    created = await app.state.services.posts.create_post(author.id, "never uploaded", [MediaSpec("image/png", 9)])
    body = await graphql(api, DELETE_POST, {"id": to_global_id("Post", created.post.id)}, token=author.token)
    assert body.get("errors") is None, body
    deleted = await event_for(graph_store, "post.deleted", subject_id=created.post.id)
    assert deleted.data["was_published"] is False
    graph = app.state.resources.graph
    before = graph.round_trips
    await handler(deleted)
    assert graph.round_trips == before


async def test_events_of_other_types_and_without_ids_are_ignored(
    api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings, handler: Handler
) -> None:
    user = await make_user(api, "fo_ignored")
    before = await feed_ids(cache_redis, settings, user)
    await handler(Event.new("follow.requested", actor_id=user.id, subject_id=user.id))
    await handler(Event.new("follow.created", actor_id=user.id, subject_id=user.id))  # self: no pair
    await handler(Event.new("post.published", actor_id=user.id, subject_id="01900000-0000-7000-8000-000000000000"))
    assert await feed_ids(cache_redis, settings, user) == before == {}
