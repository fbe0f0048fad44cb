"""Fan-out helpers shared by the fan-out worker's tests and the home feed's: posts published through the
posts and media services (createPost -> presigned POST to S3 -> completeUpload -> media processing), the
outbox events those writes recorded, and the Redis feed keys as plain dicts.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image

from cache.feed import BUILT
from cache.keys import RedisKeys
from events.envelope import Event
from graph.statements.fanout import POST_FOR_FANOUT
from graph.statements.outbox import OUTBOX_PENDING
from services.core import clock as wall_clock
from services.posts import MediaSpec
from tests.support.factories import graphql

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from runtime.settings import Settings
    from tests.support.factories import TestUser

    Handler = Callable[[Event], Awaitable[None]]

FOLLOW = "mutation($id: ID!) { follow(input: {userId: $id}) { status } }"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()



async def publish_post(
    app: Starlette, author: TestUser, caption: str = "a post", *, published_at: int | None = None
) -> str:
    """A PUBLISHED post by ``author`` made through the real upload flow (createPost, presigned POST,
    completeUpload, media processing); returns its raw id. ``published_at`` (epoch ms) stamps its publication:
    the media processing then runs with the services' clock set to it."""
    services = app.state.services
    created = await services.posts.create_post(author.id, caption, [MediaSpec("image/png", len(PNG))])
    ticket = created.uploads[0]
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            ticket.url, data=dict(ticket.fields), files={"file": ("photo.png", PNG, "image/png")}
        )
    assert response.status_code in (200, 201, 204), response.text
    await services.posts.complete_upload(author.id, created.post.id)
    with pytest.MonkeyPatch.context() as patch:
        if published_at is not None:
            patch.setattr(wall_clock, "now_ms", lambda: published_at)
        assert await services.media.process_post(created.post.id) == "published"
    return str(created.post.id)


async def outbox_events(graph: GraphStore, event_type: str) -> list[Event]:
    """Every ``event_type`` envelope waiting in the outbox, oldest first (no relay runs in tests)."""
    rows = await graph.read(OUTBOX_PENDING, {"batch": 100_000})
    events = [Event.from_json(row["payload"]) for row in rows if row["type"] == event_type]
    return events


async def event_for(graph: GraphStore, event_type: str, **match: str) -> Event:
    """The newest outbox event of ``event_type`` whose envelope/data fields equal ``match``."""
    for event in reversed(await outbox_events(graph, event_type)):
        fields: dict[str, Any] = {**event.data, "actor_id": event.actor_id, "subject_id": event.subject_id}
        if all(fields.get(k) == v for k, v in match.items()):
            return event
    raise AssertionError(f"no {event_type} event with {match}")


async def publish_and_fan_out(app: Starlette, graph: GraphStore, handler: Handler, author: TestUser) -> str:
    """``publish_post`` then hand its ``post.published`` event to the fan-out handler; returns the id."""
    post_id = await publish_post(app, author)
    await handler(await event_for(graph, "post.published", subject_id=post_id))
    return post_id


async def follow(api: httpx.AsyncClient, follower: TestUser, followee: TestUser) -> None:
    """``follower`` follows ``followee`` (public account) through the API."""
    body = await graphql(api, FOLLOW, {"id": followee.gid}, token=follower.token)
    assert body.get("errors") is None and body["data"]["follow"]["status"] == "FOLLOWING", body


async def feed_ids(redis: aioredis.Redis, settings: Settings, user: TestUser) -> dict[str, int]:
    """``feed:{user}`` as ``{post_id: score}`` without the rebuilt marker."""
    key = app_keys(settings).feed(user.id)
    return {m.decode(): int(s) for m, s in await redis.zrange(key, 0, -1, withscores=True) if m.decode() != BUILT}


async def posts_ids(redis: aioredis.Redis, settings: Settings, user: TestUser) -> dict[str, int]:
    """``posts:{user}`` as ``{post_id: score}`` without the rebuilt marker."""
    key = app_keys(settings).posts(user.id)
    return {m.decode(): int(s) for m, s in await redis.zrange(key, 0, -1, withscores=True) if m.decode() != BUILT}


def app_keys(settings: Settings) -> RedisKeys:
    """The ``RedisKeys`` of the module's prefix."""
    return RedisKeys(settings.redis_prefix)


async def created_at(app: Starlette, post_id: str) -> int:
    """The post's ``created_at`` (ms), read through the posts service."""
    (record,) = await app.state.services.posts.posts_by_ids([post_id], None)
    return int(record.created_at)


async def feed_score(app: Starlette, post_id: str) -> int:
    """The post's feed score (its publish time, ms) as the fan-out worker reads it."""
    (row,) = await app.state.resources.graph.read(POST_FOR_FANOUT, {"post_id": post_id})
    return int(row["score"])


async def open_feeds(app: Starlette, *users: TestUser) -> None:
    """Each user opens their home feed (through the feed service), which makes their ``feed:{uid}`` live:
    fan-out pushes only into feeds of users who read them."""
    for user in users:
        await app.state.services.feed.read_home_feed(user.id, 10, None)
