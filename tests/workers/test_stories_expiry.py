"""Story expiry on the real stack, layer by layer: the read-time check with no worker at all, the scheduled
step (Redis schedule -> ``story.expired`` through the outbox), the reconciliation sweep with the consumer
down, the ``stories-expiry`` consumer (idempotent on redelivery), media deletion in S3 except for highlighted
stories, presigned URLs that S3 refuses after expiry, and one run through the relay and a real consumer."""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
import pytest

from cache.keys import RedisKeys
from cache.stories import shard_of
from media.errors import ObjectMissing
from services.story_expiry import PENDING_GRACE_MS, PROCESSING_STALE_MS, UPLOAD_DEADLINE_MS, media_keys
from tests.support.factories import graphql, make_user
from tests.support.kafka import relay_and_consume
from tests.support.posts import follow
from tests.support.stories import (
    CREATE_HIGHLIGHT,
    DELETE_STORY,
    HOUR_MS,
    JPEG_BYTES,
    STORY,
    USER_STORIES,
    VIEW_STORY,
    create_story,
    outbox_events,
    publish_story,
    raw,
    story_clock,
    story_state,
)
from tests.support.uploads import upload
from workers.stories_expiry import NAME, TOPICS, make_expiry_handler

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from media.store import ObjectStore
    from runtime.settings import Settings
    from services.core.clock import Clock
    from services.story_expiry import StoryExpiryService
    from tests.support.factories import TestUser
    from tests.support.stories import TestStory

__all__ = ["story_clock"]  # a fixture

DAY_MS = 24 * HOUR_MS
RING = "{ storiesRing { edges { node { user { username } stories { id } } } } }"


def name() -> str:
    return f"sx_{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def expiry(app: Starlette) -> StoryExpiryService:
    return app.state.services.story_expiry  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def store(app: Starlette) -> ObjectStore:
    return app.state.resources.objects  # type: ignore[no-any-return]


async def objects_of(graph: GraphStore, story: TestStory) -> list[str]:
    """Every S3 key of ``story``'s media (original and three variants)."""
    state = await story_state(graph, story.id)
    return media_keys(story.id, state["media"])


async def present(store: ObjectStore, keys: list[str]) -> list[bool]:
    """Whether S3 holds each key (HEAD; 404 is False)."""
    found = []
    for key in keys:
        try:
            await store.head(key)
            found.append(True)
        except ObjectMissing:
            found.append(False)
    return found


async def expires_in_ms(api: httpx.AsyncClient, user: TestUser, story: TestStory, clock: Clock) -> int:
    body = await graphql(api, STORY, {"id": story.gid}, token=user.token)
    expires = datetime.fromisoformat(body["data"]["story"]["expiresAt"]).timestamp() * 1000
    return int(expires) - clock.now_ms()


@pytest.fixture
async def pair(api: httpx.AsyncClient) -> tuple[TestUser, TestUser]:
    """An author and a follower of theirs."""
    author, follower = await make_user(api, name()), await make_user(api, name())
    await follow(api, follower, author)
    return author, follower


# -- layer 1: the read-time check ----------------------------------------------------------------------------


async def test_a_story_is_not_served_one_second_after_expires_at_with_no_expiry_worker(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, redis: aioredis.Redis, settings: Settings,
    story_clock: Clock, pair: tuple[TestUser, TestUser],
) -> None:  # fmt: skip
    author, follower = pair
    story = await publish_story(api, app, author)
    story_clock.advance(await expires_in_ms(api, author, story, story_clock) + 1_000)

    # the graph still says ACTIVE and Redis still lists it: no worker ran
    assert (await story_state(graph_store, story.id))["status"] == "ACTIVE"
    assert await redis.zscore(RedisKeys(settings.redis_prefix).stories(author.id), story.id) is not None

    assert (await graphql(api, STORY, {"id": story.gid}, token=follower.token))["data"]["story"] is None
    listed = await graphql(api, USER_STORIES, {"u": author.username}, token=follower.token)
    assert listed["data"]["user"]["stories"] == []
    assert (await graphql(api, RING, token=follower.token))["data"]["storiesRing"]["edges"] == []
    viewed = await graphql(api, VIEW_STORY, {"id": story.gid}, token=follower.token)
    assert viewed["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    own = (await graphql(api, STORY, {"id": story.gid}, token=author.token))["data"]["story"]
    assert (own["status"], own["media"]) == ("EXPIRED", None)  # the author's archive


async def test_a_signed_story_url_is_refused_by_s3_after_expiry(
    app: Starlette, api: httpx.AsyncClient, story_clock: Clock, pair: tuple[TestUser, TestUser]
) -> None:
    # given: a story with 3 s left in real time (the clock moved to 3 s before its expiry)
    author, follower = pair
    story = await publish_story(api, app, author)
    story_clock.advance(await expires_in_ms(api, author, story, story_clock) - 3_000)
    shown = (await graphql(api, STORY, {"id": story.gid}, token=follower.token))["data"]["story"]
    url = shown["media"]["feed"]
    assert "X-Amz-Expires=2" in url or "X-Amz-Expires=3" in url  # whole seconds, rounded down

    async with httpx.AsyncClient(timeout=10) as client:
        before = await client.get(url)
        await asyncio.sleep(4.0)  # real time passes the story's expiry (S3 checks the signature's own clock)
        after = await client.get(url)

    assert before.status_code == 200 and before.content[:3] == b"\xff\xd8\xff"
    assert after.status_code == 403 and "Request has expired" in after.text


# -- layer 2: the schedule ---------------------------------------------------------------------------------


async def test_the_scheduled_step_announces_each_due_story_once(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, redis: aioredis.Redis, settings: Settings,
    expiry: StoryExpiryService, story_clock: Clock, pair: tuple[TestUser, TestUser],
) -> None:  # fmt: skip
    author, _ = pair
    due, later = await publish_story(api, app, author), await publish_story(api, app, author)
    keys = RedisKeys(settings.redis_prefix)
    assert await redis.zscore(keys.story_due(shard_of(due.id)), due.id) is not None
    story_clock.advance(await expires_in_ms(api, author, due, story_clock) + 10)
    later_score = await redis.zscore(keys.story_due(shard_of(later.id)), later.id)
    assert later_score is not None and later_score > story_clock.now_ms()  # published after: not due yet

    first = await expiry.announce_due()
    second = await expiry.announce_due()

    assert first >= 1 and second == 0
    assert len(await outbox_events(graph_store, due.id, "story.expired")) == 1
    assert await outbox_events(graph_store, later.id, "story.expired") == []
    assert await redis.zscore(keys.story_due(shard_of(due.id)), due.id) is None
    state = await story_state(graph_store, due.id)
    assert (state["status"], state["announced"]) == ("ACTIVE", True)  # the consumer marks it EXPIRED


# -- the consumer, and layer 3: the sweep ------------------------------------------------------------------


async def test_with_the_consumer_down_the_sweep_expires_them_and_deletes_media_but_highlighted(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, store: ObjectStore, redis: aioredis.Redis,
    settings: Settings, expiry: StoryExpiryService, story_clock: Clock, pair: tuple[TestUser, TestUser],
) -> None:  # fmt: skip
    # given: three stories, one in a highlight; the schedule announced them but no consumer ran
    author, _ = pair
    stories = [await publish_story(api, app, author) for _ in range(3)]
    kept = stories[0]
    body = await graphql(api, CREATE_HIGHLIGHT, {"title": "Keep", "ids": [kept.gid]}, token=author.token)
    assert "errors" not in body, body
    objects = {s.id: await objects_of(graph_store, s) for s in stories}
    assert [await present(store, keys) for keys in objects.values()] == [[True] * 4] * 3
    story_clock.advance(DAY_MS + 1_000)
    assert await expiry.announce_due() >= 3
    events = [e for s in stories for e in await outbox_events(graph_store, s.id, "story.expired")]
    assert len(events) == 3

    # when: the sweep runs
    result = await expiry.sweep()

    # then: all EXPIRED; media gone from S3 (HEAD 404) except the highlighted story's; out of Redis
    assert result.expired >= 3 and result.purged >= 2
    for story in stories:
        state = await story_state(graph_store, story.id)
        kept_here = story is kept
        assert (state["status"], state["media_state"]) == ("EXPIRED", "KEPT" if kept_here else "PURGED")
        assert await present(store, objects[story.id]) == [kept_here] * 4
    assert await redis.zcard(RedisKeys(settings.redis_prefix).stories(author.id)) == 0

    # and: when the consumer comes back, the stale story.expired events change nothing (redelivery too)
    handler = make_expiry_handler(expiry)
    before = [await story_state(graph_store, s.id) for s in stories]
    for event in events + events:
        await handler(event)
    assert [await story_state(graph_store, s.id) for s in stories] == before
    assert await present(store, objects[kept.id]) == [True] * 4


async def test_the_consumer_expires_once_and_a_redelivered_event_changes_nothing(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, store: ObjectStore,
    expiry: StoryExpiryService, story_clock: Clock, pair: tuple[TestUser, TestUser],
) -> None:  # fmt: skip
    author, _ = pair
    story = await publish_story(api, app, author)
    keys = await objects_of(graph_store, story)
    story_clock.advance(DAY_MS + 1_000)
    await expiry.announce_due()
    (event,) = await outbox_events(graph_store, story.id, "story.expired")
    handler = make_expiry_handler(expiry)

    await handler(event)
    after_first = await story_state(graph_store, story.id)
    await handler(event)

    assert (after_first["status"], after_first["media_state"]) == ("EXPIRED", "PURGED")
    assert await story_state(graph_store, story.id) == after_first
    assert await present(store, keys) == [False] * 4
    assert await expiry.expire([story.id]) == (0, 0)


async def test_a_deleted_storys_media_are_deleted_by_the_consumer(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, store: ObjectStore,
    expiry: StoryExpiryService, pair: tuple[TestUser, TestUser],
) -> None:  # fmt: skip
    author, _ = pair
    story = await publish_story(api, app, author)
    keys = await objects_of(graph_store, story)
    body = await graphql(api, DELETE_STORY, {"id": story.gid}, token=author.token)
    assert body["data"]["deleteStory"]["status"] == "DELETED"
    (event,) = await outbox_events(graph_store, story.id, "story.deleted")

    await make_expiry_handler(expiry)(event)
    await make_expiry_handler(expiry)(event)

    assert await present(store, keys) == [False] * 4
    assert (await story_state(graph_store, story.id))["media_state"] == "PURGED"


async def test_a_published_story_redis_missed_is_listed_by_the_consumer(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, redis: aioredis.Redis, settings: Settings,
    expiry: StoryExpiryService, pair: tuple[TestUser, TestUser],
) -> None:  # fmt: skip
    author, follower = pair
    story = await publish_story(api, app, author)
    key = RedisKeys(settings.redis_prefix).stories(author.id)
    await redis.delete(key)  # as if Redis was down when the media worker published it
    assert (await graphql(api, RING, token=follower.token))["data"]["storiesRing"]["edges"] == []
    (event,) = await outbox_events(graph_store, story.id, "story.published")

    await make_expiry_handler(expiry)(event)

    ring = (await graphql(api, RING, token=follower.token))["data"]["storiesRing"]["edges"]
    assert [e["node"]["stories"][0]["id"] for e in ring] == [story.gid]
    assert 0 < await redis.pttl(key) <= DAY_MS  # the key expires with its last story


async def test_the_sweep_moves_stuck_uploads_on(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, expiry: StoryExpiryService,
    pair: tuple[TestUser, TestUser],
) -> None:  # fmt: skip
    # given: one story uploaded but never completed (the client died), one never uploaded
    author, _ = pair
    abandoned = await create_story(api, author, JPEG_BYTES, "image/jpeg")
    assert (await upload(abandoned["upload"], JPEG_BYTES, "image/jpeg")).status_code == 204
    empty = await create_story(api, author, JPEG_BYTES, "image/jpeg")
    ids = raw(abandoned["story"]["id"]), raw(empty["story"]["id"])
    now = int(time.time() * 1000)

    await expiry.sweep(now_ms=now + PENDING_GRACE_MS - 60_000)
    assert [(await story_state(graph_store, i))["status"] for i in ids] == ["PENDING_UPLOAD", "PENDING_UPLOAD"]
    await expiry.sweep(now_ms=now + PENDING_GRACE_MS + 60_000)
    assert [(await story_state(graph_store, i))["status"] for i in ids] == ["PROCESSING", "PENDING_UPLOAD"]
    result = await expiry.sweep(now_ms=now + max(UPLOAD_DEADLINE_MS, PROCESSING_STALE_MS) + 120_000)

    assert (await story_state(graph_store, ids[0]))["status"] == "ACTIVE"  # its lost event, processed inline
    failed = await story_state(graph_store, ids[1])
    assert (failed["status"], failed["media_state"]) == ("FAILED", "PURGED")
    assert (result.failed, result.reprocessed) == (1, 1)


# -- end to end ------------------------------------------------------------------------------------------


async def test_end_to_end_through_the_outbox_relay_and_the_stories_expiry_consumer(
    settings: Settings, app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, redis: aioredis.Redis,
    store: ObjectStore, expiry: StoryExpiryService, story_clock: Clock, pair: tuple[TestUser, TestUser],
) -> None:  # fmt: skip
    author, _ = pair
    story = await publish_story(api, app, author)
    keys = await objects_of(graph_store, story)
    story_clock.advance(DAY_MS + 1_000)
    assert await expiry.announce_due() >= 1
    await relay_and_consume(settings, graph_store, redis, NAME, TOPICS, make_expiry_handler(expiry))

    state = await story_state(graph_store, story.id)
    assert (state["status"], state["media_state"]) == ("EXPIRED", "PURGED")
    assert await present(store, keys) == [False] * 4
