"""Helpers of the post tests: the client side of the upload flow, over GraphQL and the presigned POST.

``await create_post(api, user, files, caption)`` runs ``createPost``; ``await upload(ticket, data, type)``
POSTs one file to S3 like a browser; ``await complete(api, user, post_gid)`` runs ``completePostUpload``;
``await outbox_events(graph_store, post_id, type)`` reads the events a mutation recorded (no relay runs in
API tests, so Outbox nodes stay in the graph) and ``await publish(app, graph_store, post_gid)`` hands the
``media.uploaded`` event to the media worker's handler.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import httpx

from events.envelope import Event
from graph.cypher import cypher
from schema.base import from_global_id
from tests.support.factories import graphql
from tests.support.paths import IMAGES
from workers.media import make_media_handler

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from tests.support.factories import TestUser


POST_FIELDS = """
  id status caption hashtags failureReason createdAt
  author { id username }
  mentions { id username }
  media {
    id contentType width height altText
    thumb: url(size: THUMBNAIL) feed: url(size: FEED) full: url(size: FULL)
  }
"""
CREATE_POST = f"""
mutation($input: CreatePostInput!) {{
  createPost(input: $input) {{
    post {{ {POST_FIELDS} }}
    uploads {{ mediaId url expiresAt fields {{ name value }} }}
  }}
}}
"""
COMPLETE = f"mutation($id: ID!) {{ completePostUpload(input: {{postId: $id}}) {{ {POST_FIELDS} }} }}"
DELETE = f"mutation($id: ID!) {{ deletePost(input: {{postId: $id}}) {{ {POST_FIELDS} }} }}"
POST = f"query($id: ID!) {{ post(id: $id) {{ {POST_FIELDS} }} }}"
USER_POSTS = """
query($username: String!) {
  user(username: $username) {
    postCount posts(first: 10) { edges { node { id status } } pageInfo { hasNextPage } }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { __typename ... on Post { id status } } }"

OUTBOX_OF = cypher(
    "tests.posts.OUTBOX_OF",
    """
    MATCH (o:Outbox)
    WHERE o.key = $key AND o.type = $type
    RETURN o.payload AS payload
    ORDER BY o.created_at
    """,
)


def image(name: str) -> bytes:
    """The bytes of a sample photo in ``../shared/datasets/images``."""
    return (IMAGES / name).read_bytes()


def media_input(data: bytes, content_type: str, alt_text: str | None = None) -> dict[str, Any]:
    """A ``MediaInput`` declaring ``data``'s exact size."""
    return {"contentType": content_type, "byteSize": len(data), "altText": alt_text}


async def create_post(
    api: httpx.AsyncClient, user: TestUser, files: list[tuple[bytes, str]], caption: str | None = None
) -> dict[str, Any]:
    """``createPost`` declaring ``files`` ((bytes, content type) pairs); returns the payload (no error)."""
    body = await graphql(
        api, CREATE_POST, {"input": {"caption": caption, "media": [media_input(d, t) for d, t in files]}},
        token=user.token,
    )  # fmt: skip
    assert "errors" not in body, body
    return body["data"]["createPost"]  # type: ignore[no-any-return]


async def upload(ticket: dict[str, Any], data: bytes, content_type: str) -> httpx.Response:
    """POST ``data`` to the presigned ``ticket`` (form fields in order, then the file part)."""
    fields = {f["name"]: f["value"] for f in ticket["fields"]}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(ticket["url"], data=fields, files={"file": ("upload", data, content_type)})


async def create_uploaded_post(
    api: httpx.AsyncClient, user: TestUser, files: list[tuple[bytes, str]], caption: str | None = None
) -> dict[str, Any]:
    """``createPost``, upload every file (asserting 204), then ``completePostUpload``; returns the post."""
    payload = await create_post(api, user, files, caption)
    for ticket, (data, content_type) in zip(payload["uploads"], files, strict=True):
        response = await upload(ticket, data, content_type)
        assert response.status_code == 204, response.text
    body = await graphql(api, COMPLETE, {"id": payload["post"]["id"]}, token=user.token)
    assert "errors" not in body, body
    return body["data"]["completePostUpload"]  # type: ignore[no-any-return]


async def outbox_events(graph_store: GraphStore, subject_id: str, event_type: str) -> list[Event]:
    """The events of ``event_type`` about ``subject_id`` still in the outbox, oldest first."""
    rows = await graph_store.read(OUTBOX_OF, {"key": subject_id, "type": event_type})
    return [Event.from_json(row["payload"]) for row in rows]


def name() -> str:
    """A fresh valid username."""
    return f"p_{secrets.token_hex(4)}"


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    """The body's only error (asserting there is exactly one and no data)."""
    assert body.get("data") is None or all(v is None for v in body["data"].values()), body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


def raw(gid: str) -> str:
    """The raw id inside a global ID."""
    return from_global_id(gid, field="id")[1]


async def publish(app: Starlette, graph_store: GraphStore, post_gid: str) -> None:
    """Run the media worker's handler on the ``media.uploaded`` event that ``completePostUpload`` recorded."""
    (event,) = await outbox_events(graph_store, raw(post_gid), "media.uploaded")
    await make_media_handler(app.state.services.media)(event)
