"""Posts for tests, built through the public flow: ``createPost`` -> presigned POST to S3 ->
``completePostUpload`` -> the media worker's use case (``services.media.process_post``, what the ``media``
consumer runs on ``media.uploaded``) -> PUBLISHED.

``await publish_post(api, app, user)`` returns a ``TestPost`` (raw id and global id). ``delete_post`` soft-
deletes one through ``deletePost``. Social helpers ``follow``/``block`` call the GraphQL mutations. Read-only
assertion helpers count Outbox events, LIKED edges and a post's graph counters.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from redis import exceptions as redis_errors

from graph.cypher import cypher
from schema.base import from_global_id
from services.posts import MediaSpec
from tests.support.factories import graphql
from tests.support.paths import IMAGES

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from graph.store import GraphStore
    from tests.support.factories import TestUser

DEFAULT_IMAGE = IMAGES / "rocket.jpg"  # 640x427 JPEG, 112 KB: the cheapest real photo to process

CREATE_POST = """
mutation Create($input: CreatePostInput!) {
  createPost(input: $input) { post { id status } uploads { url fields { name value } } }
}
"""
COMPLETE = "mutation Complete($input: PostIdInput!) { completePostUpload(input: $input) { id status } }"
DELETE = "mutation Delete($input: PostIdInput!) { deletePost(input: $input) { id status } }"
FOLLOW = "mutation Follow($input: UserIdInput!) { follow(input: $input) { status } }"
BLOCK = "mutation Block($input: UserIdInput!) { block(input: $input) { id } }"


@dataclass(frozen=True, slots=True)
class TestPost:
    """A published post: ``id`` (raw UUIDv7) and ``gid`` (global ID)."""

    __test__ = False

    id: str
    gid: str


async def publish_post(
    api: httpx.AsyncClient, app: Starlette, author: TestUser, *, caption: str = "A rocket at dawn #launch",
    image: Path = DEFAULT_IMAGE, location: dict[str, object] | None = None,
) -> TestPost:  # fmt: skip
    """Create, upload, complete and process one single-photo post of ``author`` (at ``location``, a
    ``LocationInput``); asserts it is PUBLISHED."""
    data = await asyncio.to_thread(image.read_bytes)
    content_type = "image/jpeg" if image.suffix == ".jpg" else "image/png"
    variables = {
        "input": {"caption": caption, "media": [{"contentType": content_type, "byteSize": len(data)}],
                  "location": location}
    }  # fmt: skip
    created = await graphql(api, CREATE_POST, variables, token=author.token)
    assert "errors" not in created, created
    payload = created["data"]["createPost"]
    gid = payload["post"]["id"]
    for upload in payload["uploads"]:
        fields = [(f["name"], f["value"]) for f in upload["fields"]]
        async with httpx.AsyncClient(timeout=30) as s3:
            response = await s3.post(
                upload["url"], data=dict(fields), files={"file": (image.name, data, content_type)}
            )
        assert response.status_code in (200, 201, 204), response.text
    completed = await graphql(api, COMPLETE, {"input": {"postId": gid}}, token=author.token)
    assert "errors" not in completed, completed
    post_id = from_global_id(gid, field="postId", expected="Post")[1]
    outcome = await app.state.services.media.process_post(post_id)
    assert outcome == "published", outcome
    return TestPost(id=post_id, gid=gid)


async def delete_post(api: httpx.AsyncClient, author: TestUser, post: TestPost) -> None:
    """Soft-delete ``post`` as its author."""
    body = await graphql(api, DELETE, {"input": {"postId": post.gid}}, token=author.token)
    assert "errors" not in body, body


async def follow(api: httpx.AsyncClient, follower: TestUser, followee: TestUser) -> str:
    """``follower`` follows ``followee``; returns the resulting status (FOLLOWING or REQUESTED)."""
    body = await graphql(api, FOLLOW, {"input": {"userId": followee.gid}}, token=follower.token)
    assert "errors" not in body, body
    return body["data"]["follow"]["status"]


async def block(api: httpx.AsyncClient, blocker: TestUser, blocked: TestUser) -> None:
    """``blocker`` blocks ``blocked``."""
    body = await graphql(api, BLOCK, {"input": {"userId": blocked.gid}}, token=blocker.token)
    assert "errors" not in body, body


OUTBOX_EVENTS = cypher(
    "tests.engagement.OUTBOX_EVENTS",
    "MATCH (o:Outbox {type: $type, key: $key}) RETURN count(o) AS n",
)
LIKE_EDGES = cypher(
    "tests.engagement.LIKE_EDGES",
    "MATCH (:User)-[l:LIKED]->(:Post {id: $post_id}) RETURN count(l) AS n",
)
POST_COUNTS = cypher(
    "tests.engagement.POST_COUNTS",
    "MATCH (p:Post {id: $post_id}) RETURN p.like_count AS like_count, p.comment_count AS comment_count",
)


async def outbox_events(graph: GraphStore, event_type: str, key: str) -> int:
    """How many Outbox nodes of ``event_type`` keyed ``key`` are waiting (no relay runs in API tests)."""
    return int((await graph.read(OUTBOX_EVENTS, {"type": event_type, "key": key}))[0]["n"])


async def like_edges(graph: GraphStore, post_id: str) -> int:
    """Number of LIKED edges into ``post_id``."""
    return int((await graph.read(LIKE_EDGES, {"post_id": post_id}))[0]["n"])


async def post_counts(graph: GraphStore, post_id: str) -> dict:
    """The graph's ``like_count`` and ``comment_count`` of ``post_id``."""
    return (await graph.read(POST_COUNTS, {"post_id": post_id}))[0]


APPROVE = "mutation Approve($input: UserIdInput!) { approveFollowRequest(input: $input) { status } }"


async def approve(api: httpx.AsyncClient, owner: TestUser, requester: TestUser) -> None:
    """``owner`` (a private account) approves ``requester``'s follow request."""
    body = await graphql(api, APPROVE, {"input": {"userId": requester.gid}}, token=owner.token)
    assert "errors" not in body, body


REDIS_ROLES = ("redis", "cache")  # the stack's state and cache Redis services
BREAKER_RECOVERY_S = 10.0  # generous: the breaker's probe closes it about 1 s after Redis answers


async def stop_redis(stack: EmbeddedStack) -> None:
    """Stop both Redis roles of the stack (state and cache)."""
    for name in REDIS_ROLES:
        await stack.stop_service(name)


async def drop_connections(client: aioredis.Redis) -> None:
    """Close every pooled connection of ``client``, so its next command dials the (restarted) server.

    Closing a socket to a stopped server once outlasted the client's 0.5 s socket timeout in a full CI run:
    redis-py then raises ``TimeoutError`` but has dropped the connection all the same (its ``finally``
    clears the stream), so the pool is disconnected again until no connection is left to close.
    """
    for _ in range(3):
        try:
            await client.connection_pool.disconnect()
            return
        except redis_errors.TimeoutError:
            continue
    await client.connection_pool.disconnect()


async def restart_redis(stack: EmbeddedStack, *clients: aioredis.Redis) -> None:
    """Start the stack's Redis roles again, drop the pooled connections of ``clients`` (each would otherwise
    fail its first command after the restart with "Connection closed by server") and wait until each
    client's circuit breaker has closed again (``cache.breaker``: it opened during the outage)."""
    for name in REDIS_ROLES:
        await stack.start_service(name)
    for client in clients:
        await drop_connections(client)
    for client in clients:
        breaker = getattr(client, "breaker", None)
        if breaker is not None:
            assert await breaker.wait_closed(BREAKER_RECOVERY_S), f"Redis circuit ({breaker.role}) still open"


async def publish_seeded_post(app: Starlette, author: TestUser, caption: str, seed_key: str) -> str:
    """A PUBLISHED post marked ``seed_key``, made as ``instagraph seed`` makes them: through the posts and
    media services (create, presigned POST upload, complete, process). Returns the raw post id."""
    services = app.state.services
    data = await asyncio.to_thread(DEFAULT_IMAGE.read_bytes)
    created = await services.posts.create_post(
        author.id, caption, [MediaSpec("image/jpeg", len(data))], seed_key=seed_key
    )
    async with httpx.AsyncClient(timeout=30) as s3:
        for ticket in created.uploads:
            files = {"file": ("photo.jpg", data, "image/jpeg")}
            response = await s3.post(ticket.url, data=dict(ticket.fields), files=files)
            assert response.status_code in (200, 201, 204), response.text
    await services.posts.complete_upload(author.id, created.post.id)
    assert await services.media.process_post(created.post.id) == "published"
    return created.post.id
