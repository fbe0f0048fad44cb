"""Stories over GraphQL on the real stack: createStory, the presigned upload, completeStoryUpload, the media
worker's processing, ``story(id:)``, ``User.stories``, ``storyArchive``, ``deleteStory`` and ``node(id:)``,
with bad inputs, limits and the authorization matrix (the ring: test_stories_ring; views:
test_story_views; highlights: test_highlights; expiry: tests/workers/test_stories_expiry)."""

from __future__ import annotations

import io
import secrets
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from services.story_media import STORY_CACHE, story_variant_key
from tests.support.factories import graphql, make_user
from tests.support.posts import approve, block, follow
from tests.support.stories import (
    ADD_CLOSE_FRIEND,
    COMPLETE_STORY,
    CREATE_STORY,
    DEFAULT_IMAGE,
    DELETE_STORY,
    HOUR_MS,
    STORY,
    USER_STORIES,
    create_story,
    create_uploaded_story,
    outbox_events,
    publish_story,
    raw,
    story_clock,
    story_state,
)
from tests.support.uploads import upload

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from media.store import ObjectStore
    from services.core.clock import Clock
    from tests.support.factories import TestUser

__all__ = ["story_clock"]  # a fixture
MB = 1024 * 1024
JPEG = DEFAULT_IMAGE.read_bytes()
ONE_JPEG = {"contentType": "image/jpeg", "byteSize": 1000}


def name() -> str:
    return f"st_{secrets.token_hex(4)}"


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body.get("errors") or []) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def author(api: httpx.AsyncClient) -> TestUser:
    return await make_user(api, name())


@pytest.fixture(scope="module")
def store(app: Starlette) -> ObjectStore:
    return app.state.resources.objects  # type: ignore[no-any-return]


# -- createStory: bad input, limits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("story_input", "field"),
    [
        ({"media": {"contentType": "image/gif", "byteSize": 1000}}, "media.contentType"),
        ({"media": {"contentType": "text/html", "byteSize": 1000}}, "media.contentType"),
        ({"media": {"contentType": "image/png", "byteSize": 0}}, "media.byteSize"),
        ({"media": {"contentType": "image/png", "byteSize": -1}}, "media.byteSize"),
        ({"media": {"contentType": "image/webp", "byteSize": 20 * MB + 1}}, "media.byteSize"),
        ({"media": {**ONE_JPEG, "altText": "a" * 1001}}, "media.altText"),
        ({"media": {**ONE_JPEG, "altText": "bad \x00 byte"}}, "media.altText"),
    ],
)
async def test_create_story_rejects_bad_input_and_writes_nothing(
    api: httpx.AsyncClient, graph_store: GraphStore, story_input: dict[str, Any], field: str
) -> None:
    user = await make_user(api, name())

    body = await graphql(api, CREATE_STORY, {"input": story_input}, token=user.token)

    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    archive = await graphql(api, "{ storyArchive { edges { node { id } } } }", token=user.token)
    assert archive == {"data": {"storyArchive": {"edges": []}}}


async def test_an_unknown_audience_is_refused_before_anything_runs(api: httpx.AsyncClient, author: TestUser) -> None:
    variables = {"input": {"media": ONE_JPEG, "audience": "EVERYONE"}}

    body = await graphql(api, CREATE_STORY, variables, token=author.token)

    assert error_of(body)["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert body.get("data") is None


async def test_create_story_requires_authentication(api: httpx.AsyncClient) -> None:
    body = await graphql(api, CREATE_STORY, {"input": {"media": ONE_JPEG}})
    assert error_of(body)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_create_story_is_rate_limited_to_five_a_minute(api: httpx.AsyncClient) -> None:
    user = await make_user(api, name())
    for _ in range(5):
        body = await graphql(api, CREATE_STORY, {"input": {"media": ONE_JPEG}}, token=user.token)
        assert "errors" not in body, body

    body = await graphql(api, CREATE_STORY, {"input": {"media": ONE_JPEG}}, token=user.token)

    error = error_of(body)
    assert error["extensions"]["code"] == "RATE_LIMITED" and 1 <= error["extensions"]["retryAfter"] <= 60


# -- createStory -> upload -> complete -> processed ----------------------------------------------------------


async def test_create_story_returns_a_pending_story_and_a_presigned_post(
    api: httpx.AsyncClient, graph_store: GraphStore, author: TestUser
) -> None:
    started = int(time.time() * 1000)

    payload = await create_story(api, author, JPEG, "image/jpeg", audience="CLOSE_FRIENDS")

    story, ticket = payload["story"], payload["upload"]
    assert (story["status"], story["audience"], story["media"], story["viewCount"]) == (
        "PENDING_UPLOAD", "CLOSE_FRIENDS", None, 0,
    )  # fmt: skip
    created = datetime.fromisoformat(story["createdAt"]).timestamp() * 1000
    expires = datetime.fromisoformat(story["expiresAt"]).timestamp() * 1000
    assert round(expires - created) == 86_400_000  # INSTAGRAPH_STORY_TTL's default, 24 h
    assert started - 1000 <= created <= time.time() * 1000 + 1000
    fields = {f["name"]: f["value"] for f in ticket["fields"]}
    assert fields["key"] == f"originals/{raw(story['id'])}/{raw(ticket['mediaId'])}"
    assert fields["Content-Type"] == "image/jpeg"
    assert await outbox_events(graph_store, raw(story["id"]), "media.story_uploaded") == []


async def test_s3_refuses_an_upload_other_than_declared(api: httpx.AsyncClient, author: TestUser) -> None:
    payload = await create_story(api, author, JPEG, "image/jpeg")
    ticket = payload["upload"]
    as_png = {**ticket, "fields": [f if f["name"] != "Content-Type" else {**f, "value": "image/png"}
                                   for f in ticket["fields"]]}  # fmt: skip

    too_big = await upload(ticket, JPEG + b"x", "image/jpeg")
    other_type = await upload(as_png, JPEG, "image/png")

    assert too_big.status_code == 400 and "EntityTooLarge" in too_big.text
    assert other_type.status_code == 403


async def test_complete_before_upload_is_bad_input_and_changes_nothing(
    api: httpx.AsyncClient, graph_store: GraphStore, author: TestUser
) -> None:
    payload = await create_story(api, author, JPEG, "image/jpeg")
    gid = payload["story"]["id"]

    body = await graphql(api, COMPLETE_STORY, {"id": gid}, token=author.token)

    error = error_of(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "storyId"}
    assert error["message"] == "The photo has not been uploaded yet."
    assert (await story_state(graph_store, raw(gid)))["status"] == "PENDING_UPLOAD"


async def test_the_media_worker_makes_the_story_active_with_private_variants(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, store: ObjectStore, author: TestUser
) -> None:
    # given: a completed upload of the 1000x872 Hubble photo
    data = (DEFAULT_IMAGE.parent / "hubble_deep_field.jpg").read_bytes()
    story = await create_uploaded_story(api, author, data, "image/jpeg")
    assert story["status"] == "PROCESSING"
    (event,) = await outbox_events(graph_store, raw(story["id"]), "media.story_uploaded")

    # when: the media worker's handler runs on its event, twice (a redelivery)
    from workers.media import make_media_handler

    handler = make_media_handler(app.state.services.media, app.state.services.story_media)
    await handler(event)
    await handler(event)

    # then: ACTIVE, variants of the post sizes, private and not immutable, one story.published
    shown = (await graphql(api, STORY, {"id": story["id"]}, token=author.token))["data"]["story"]
    assert shown["status"] == "ACTIVE"
    assert (shown["media"]["width"], shown["media"]["height"]) == (1000, 872)
    media_id = raw(shown["media"]["id"])
    sizes = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for size, url in (("THUMBNAIL", shown["media"]["thumb"]), ("FEED", shown["media"]["feed"]),
                          ("FULL", shown["media"]["full"])):  # fmt: skip
            key = story_variant_key(raw(story["id"]), media_id, size)
            query = parse_qs(urlsplit(url).query)
            assert key in url and query["X-Amz-Signature"] and 3590 <= int(query["X-Amz-Expires"][0]) <= 3600
            response = await client.get(url)
            assert response.status_code == 200
            assert response.headers["cache-control"] == STORY_CACHE and "immutable" not in STORY_CACHE
            with Image.open(io.BytesIO(response.content)) as img:
                sizes[size] = img.size
                assert dict(img.getexif()) == {}
            unsigned = await client.get(url.split("?", 1)[0])
            assert unsigned.status_code == 403  # never public
    assert sizes == {"THUMBNAIL": (150, 150), "FEED": (720, 628), "FULL": (1000, 872)}
    assert len(await outbox_events(graph_store, raw(story["id"]), "story.published")) == 1
    assert (await story_state(graph_store, raw(story["id"])))["media_state"] == "LIVE"


async def test_a_file_that_is_not_an_image_ends_failed_with_a_reason(
    app: Starlette, api: httpx.AsyncClient, author: TestUser
) -> None:
    html = b"<!doctype html><html><script>alert(1)</script></html>"
    story = await create_uploaded_story(api, author, html, "image/jpeg")

    assert await app.state.services.story_media.process_story(raw(story["id"])) == "failed"

    mine = (await graphql(api, STORY, {"id": story["id"]}, token=author.token))["data"]["story"]
    assert (mine["status"], mine["media"]) == ("FAILED", None)
    assert mine["failureReason"] == (
        "The photo was refused: file content (not an image) does not match the declared type image/jpeg."
    )
    again = await graphql(api, COMPLETE_STORY, {"id": story["id"]}, token=author.token)
    assert error_of(again)["extensions"] == {"code": "BAD_USER_INPUT", "field": "storyId"}


# -- who sees what -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def world(app: Starlette, api: httpx.AsyncClient) -> dict[str, Any]:
    """A public and a private author, each with a FOLLOWERS and a CLOSE_FRIENDS story; ``follower`` follows
    both (approved), ``friend`` follows both and is on both close-friends lists, ``blocked`` is blocked by
    the public author, ``blocker`` blocks the private one, ``stranger`` follows nobody."""
    public, private = await make_user(api, name()), await make_user(api, name(), private=True)
    users = {role: await make_user(api, name()) for role in ("follower", "friend", "stranger", "blocked", "blocker")}
    for role in ("follower", "friend"):
        await follow(api, users[role], public)
        await follow(api, users[role], private)
        await approve(api, private, users[role])
    for owner in (public, private):
        body = await graphql(api, ADD_CLOSE_FRIEND, {"id": users["friend"].gid}, token=owner.token)
        assert body["data"]["addCloseFriend"]["isCloseFriend"] is True, body
    await block(api, public, users["blocked"])
    await block(api, users["blocker"], private)
    stories = {
        (owner_name, audience): await publish_story(api, app, owner, audience=audience)
        for owner_name, owner in (("public", public), ("private", private))
        for audience in ("FOLLOWERS", "CLOSE_FRIENDS")
    }
    return {"public": public, "private": private, **users, "stories": stories}


#: Who sees which story of which author: (viewer role) -> {(author, audience)} visible.
MATRIX: dict[str | None, set[tuple[str, str]]] = {
    None: {("public", "FOLLOWERS")},  # anonymous
    "self": {(a, aud) for a in ("public", "private") for aud in ("FOLLOWERS", "CLOSE_FRIENDS")},
    "follower": {("public", "FOLLOWERS"), ("private", "FOLLOWERS")},
    "friend": {(a, aud) for a in ("public", "private") for aud in ("FOLLOWERS", "CLOSE_FRIENDS")},
    "stranger": {("public", "FOLLOWERS")},
    "blocked": set(),  # the public author blocks them; the private one they do not follow
    "blocker": {("public", "FOLLOWERS")},  # blocks the private author
}  # fmt: skip


@pytest.mark.parametrize("role", list(MATRIX))
async def test_story_and_user_stories_follow_the_authorization_matrix(
    api: httpx.AsyncClient, world: dict[str, Any], role: str | None
) -> None:
    for author_name in ("public", "private"):
        viewer = world[author_name] if role == "self" else world[role] if role else None
        token = viewer.token if viewer else None
        expected = {aud for (a, aud) in MATRIX[role] if a == author_name}
        seen_by_id = set()
        for audience in ("FOLLOWERS", "CLOSE_FRIENDS"):
            story = world["stories"][(author_name, audience)]
            body = await graphql(api, STORY, {"id": story.gid}, token=token)
            assert "errors" not in body, body
            if body["data"]["story"] is not None:
                assert body["data"]["story"]["status"] == "ACTIVE"
                seen_by_id.add(audience)
        assert seen_by_id == expected, (role, author_name)
        listed = await graphql(api, USER_STORIES, {"u": world[author_name].username}, token=token)
        if listed.get("errors"):  # the author blocks the viewer: the user is NOT_FOUND to them
            assert expected == set() and listed["errors"][0]["extensions"]["code"] == "NOT_FOUND"
            continue
        ids = [s["id"] for s in listed["data"]["user"]["stories"]]
        assert ids == [world["stories"][(author_name, a)].gid for a in ("FOLLOWERS", "CLOSE_FRIENDS") if a in expected]


async def test_node_resolves_a_story_with_the_same_rule(api: httpx.AsyncClient, world: dict[str, Any]) -> None:
    query = "query($id: ID!) { node(id: $id) { __typename ... on Story { id status } } }"
    story = world["stories"][("private", "FOLLOWERS")]

    mine = await graphql(api, query, {"id": story.gid}, token=world["follower"].token)
    theirs = await graphql(api, query, {"id": story.gid}, token=world["stranger"].token)

    assert mine["data"]["node"] == {"__typename": "Story", "id": story.gid, "status": "ACTIVE"}
    assert theirs == {"data": {"node": None}}


async def test_malformed_ids_name_the_field(api: httpx.AsyncClient, author: TestUser) -> None:
    post_gid = "UG9zdDowMTkwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA"  # Post:0190...

    for document, variables, field in (
        (STORY, {"id": "not-an-id!"}, "id"),
        (STORY, {"id": post_gid}, "id"),
        (COMPLETE_STORY, {"id": post_gid}, "storyId"),
        (DELETE_STORY, {"id": "%%%"}, "storyId"),
    ):
        body = await graphql(api, document, variables, token=author.token)
        assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


# -- deleteStory and the archive -----------------------------------------------------------------------------


async def test_delete_story_is_the_authors_alone_and_soft(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, world: dict[str, Any]
) -> None:
    public = world["public"]
    story = await publish_story(api, app, public)

    others = await graphql(api, DELETE_STORY, {"id": story.gid}, token=world["follower"].token)
    hidden = await graphql(api, DELETE_STORY, {"id": world["stories"][("private", "CLOSE_FRIENDS")].gid},
                           token=world["follower"].token)  # fmt: skip
    deleted = await graphql(api, DELETE_STORY, {"id": story.gid}, token=public.token)
    again = await graphql(api, DELETE_STORY, {"id": story.gid}, token=public.token)

    assert error_of(others)["extensions"]["code"] == "FORBIDDEN"
    assert error_of(hidden)["extensions"]["code"] == "NOT_FOUND"
    assert deleted["data"]["deleteStory"]["status"] == "DELETED" and deleted["data"]["deleteStory"]["media"] is None
    assert error_of(again)["extensions"]["code"] == "NOT_FOUND"
    assert (await graphql(api, STORY, {"id": story.gid}, token=public.token))["data"]["story"] is None
    state = await story_state(graph_store, story.id)
    assert (state["status"], state["media_state"]) == ("DELETED", "PURGING")
    assert len(await outbox_events(graph_store, story.id, "story.deleted")) == 1
    key = f"stories:{{{public.id}}}"
    members = await app.state.resources.redis.zrange(app.state.resources.keys.prefix + key, 0, -1)
    assert story.id.encode() not in members  # out of the ring at once


async def test_the_archive_keeps_expired_stories_for_their_author_alone(
    app: Starlette, api: httpx.AsyncClient, story_clock: Clock
) -> None:
    owner, follower = await make_user(api, name()), await make_user(api, name())
    await follow(api, follower, owner)
    older = await publish_story(api, app, owner)
    newer = await publish_story(api, app, owner)
    archive = """
    query($f: Int, $a: String) {
      storyArchive(first: $f, after: $a) { edges { node { id status } } pageInfo { hasNextPage endCursor } }
    }
    """

    story_clock.advance(24 * HOUR_MS + 1000)  # both expired; no worker ran

    first = (await graphql(api, archive, {"f": 1}, token=owner.token))["data"]["storyArchive"]
    second = (await graphql(api, archive, {"f": 1, "a": first["pageInfo"]["endCursor"]}, token=owner.token))
    assert [e["node"] for e in first["edges"]] == [{"id": newer.gid, "status": "EXPIRED"}]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [e["node"] for e in second["data"]["storyArchive"]["edges"]] == [{"id": older.gid, "status": "EXPIRED"}]
    own = (await graphql(api, STORY, {"id": older.gid}, token=owner.token))["data"]["story"]
    assert (own["status"], own["media"]) == ("EXPIRED", None)  # readable, media no longer shown
    assert (await graphql(api, STORY, {"id": older.gid}, token=follower.token))["data"]["story"] is None
    anonymous = await graphql(api, "{ storyArchive { edges { node { id } } } }")
    assert error_of(anonymous)["extensions"]["code"] == "UNAUTHENTICATED"
