"""Stories for tests, built through the public flow: ``createStory`` -> presigned POST to S3 ->
``completeStoryUpload`` -> the media worker's use case (``services.story_media.process_story``, what the
``media`` consumer runs on ``media.story_uploaded``) -> ACTIVE.

``await publish_story(api, app, user)`` returns a ``TestStory``; ``story_clock`` (import it into a test
module) is the stories' clock, moved back to real time after each test; ``outbox_events`` reads what a write
recorded (no relay runs in these tests); ``story_state`` reads a story's stored status and media state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from events.envelope import Event
from graph.cypher import cypher
from schema.base import from_global_id, to_global_id
from tests.support.factories import graphql
from tests.support.paths import IMAGES
from tests.support.uploads import upload

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from starlette.applications import Starlette

    from graph.store import GraphStore
    from services.core.clock import Clock
    from tests.support.factories import TestUser

DEFAULT_IMAGE = IMAGES / "rocket.jpg"  # 640x427 JPEG, 112 KB
JPEG_BYTES = DEFAULT_IMAGE.read_bytes()
HOUR_MS = 3_600_000

STORY_FIELDS = """
  id status audience createdAt expiresAt failureReason viewerHasSeen viewCount
  author { id username }
  media { id contentType width height thumb: url(size: THUMBNAIL) feed: url(size: FEED) full: url(size: FULL) }
"""
CREATE_STORY = f"""
mutation($input: CreateStoryInput!) {{
  createStory(input: $input) {{
    story {{ {STORY_FIELDS} }}
    upload {{ mediaId url expiresAt fields {{ name value }} }}
  }}
}}
"""
COMPLETE_STORY = f"mutation($id: ID!) {{ completeStoryUpload(input: {{storyId: $id}}) {{ {STORY_FIELDS} }} }}"
VIEW_STORY = f"mutation($id: ID!) {{ viewStory(input: {{storyId: $id}}) {{ {STORY_FIELDS} }} }}"
DELETE_STORY = f"mutation($id: ID!) {{ deleteStory(input: {{storyId: $id}}) {{ {STORY_FIELDS} }} }}"
STORY = f"query($id: ID!) {{ story(id: $id) {{ {STORY_FIELDS} }} }}"
USER_STORIES = "query($u: String!) { user(username: $u) { stories { id status viewerHasSeen } } }"
ADD_CLOSE_FRIEND = "mutation($id: ID!) { addCloseFriend(input: {userId: $id}) { id isCloseFriend } }"
CREATE_HIGHLIGHT = """
mutation($title: String!, $ids: [ID!]!) {
  createHighlight(input: {title: $title, storyIds: $ids}) { id title stories { id status } }
}
"""

STORY_STATE = cypher(
    "tests.stories.STORY_STATE",
    """
    MATCH (a:User)-[:POSTED_STORY]->(s:Story {id: $id})
    RETURN s.status AS status, s.media_state AS media_state, coalesce(s.view_count, 0) AS view_count,
           s.expiry_announced_at IS NOT NULL AS announced,
           [(s)-[:HAS_MEDIA]->(m:Media) | m {.id, .key, .variants}] AS media
    """,
)
OUTBOX_OF = cypher(
    "tests.stories.OUTBOX_OF",
    """
    MATCH (o:Outbox)
    WHERE o.key = $key AND o.type = $type
    RETURN o.payload AS payload
    ORDER BY o.created_at
    """,
)


@dataclass(frozen=True, slots=True)
class TestStory:
    """An ACTIVE story: ``id`` (raw UUIDv7) and ``gid`` (global ID)."""

    __test__ = False

    id: str
    gid: str


def raw(gid: str) -> str:
    """The raw id inside a global ID."""
    return from_global_id(gid, field="id")[1]


def content_type_of(image: Path) -> str:
    """The MIME type of a sample photo by its suffix."""
    return {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}[image.suffix]


async def create_story(
    api: httpx.AsyncClient, user: TestUser, data: bytes, content_type: str, *, audience: str = "FOLLOWERS"
) -> dict[str, Any]:
    """``createStory`` declaring ``data``; returns the payload (asserting no error)."""
    variables = {"input": {"media": {"contentType": content_type, "byteSize": len(data)}, "audience": audience}}
    body = await graphql(api, CREATE_STORY, variables, token=user.token)
    assert "errors" not in body, body
    return body["data"]["createStory"]  # type: ignore[no-any-return]


async def create_uploaded_story(
    api: httpx.AsyncClient, user: TestUser, data: bytes, content_type: str, *, audience: str = "FOLLOWERS"
) -> dict[str, Any]:
    """``createStory``, the upload (asserting 204), ``completeStoryUpload``; returns the PROCESSING story."""
    payload = await create_story(api, user, data, content_type, audience=audience)
    response = await upload(payload["upload"], data, content_type)
    assert response.status_code == 204, response.text
    body = await graphql(api, COMPLETE_STORY, {"id": payload["story"]["id"]}, token=user.token)
    assert "errors" not in body, body
    return body["data"]["completeStoryUpload"]  # type: ignore[no-any-return]


async def publish_story(
    api: httpx.AsyncClient, app: Starlette, user: TestUser, *, audience: str = "FOLLOWERS",
    image: Path = DEFAULT_IMAGE,
) -> TestStory:  # fmt: skip
    """Create, upload, complete and process one story of ``user``; asserts it went ACTIVE."""
    data = await asyncio.to_thread(image.read_bytes)
    story = await create_uploaded_story(api, user, data, content_type_of(image), audience=audience)
    outcome = await app.state.services.story_media.process_story(raw(story["id"]))
    assert outcome == "published", outcome
    return TestStory(id=raw(story["id"]), gid=story["id"])


def story_gid(story_id: str) -> str:
    """The global ID of a raw story id."""
    return str(to_global_id("Story", story_id))


async def story_state(graph: GraphStore, story_id: str) -> dict[str, Any]:
    """The stored ``{status, media_state, view_count, announced, media}`` of a story."""
    (row,) = await graph.read(STORY_STATE, {"id": story_id})
    return row


async def outbox_events(graph: GraphStore, subject_id: str, event_type: str) -> list[Event]:
    """The events of ``event_type`` about ``subject_id`` still in the outbox, oldest first."""
    rows = await graph.read(OUTBOX_OF, {"key": subject_id, "type": event_type})
    return [Event.from_json(row["payload"]) for row in rows]


@pytest.fixture
def story_clock(app: Starlette) -> Iterator[Clock]:
    """The clock of every story rule of ``app`` (``Clock.advance`` moves it); back to real time afterwards."""
    clock: Clock = app.state.services.stories.clock
    clock.offset_ms = 0
    yield clock
    clock.offset_ms = 0
