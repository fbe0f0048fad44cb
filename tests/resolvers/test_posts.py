"""Posts over GraphQL on the real stack: createPost, the presigned upload, completePostUpload, deletePost,
``post(id:)``, ``node(id:)`` and ``User.posts``, with their bad inputs (visibility: test_post_visibility)."""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image

from graph.cypher import cypher
from services.core.errors import BadInput, NotFound
from tests.support.factories import graphql, make_user
from tests.support.uploads import (
    COMPLETE,
    CREATE_POST,
    DELETE,
    NODE,
    POST,
    USER_POSTS,
    create_post,
    create_uploaded_post,
    error_of,
    image,
    name,
    outbox_events,
    publish,
    raw,
    upload,
)
from workers.media import make_media_handler

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from tests.support.factories import TestUser

MB = 1024 * 1024
COUNT_POSTS = cypher(
    "tests.posts.COUNT_POSTS",
    """
    MATCH (u:User {id: $user_id})
    RETURN size([(u)-[:POSTED]->(p:Post) | p]) AS posts, coalesce(u.post_count, 0) AS post_count
    """,
)


@pytest.fixture(scope="module")
async def author(api: httpx.AsyncClient) -> TestUser:
    return await make_user(api, name())


@pytest.fixture(scope="module")
async def stranger(api: httpx.AsyncClient) -> TestUser:
    return await make_user(api, name())


# -- createPost: bad input -----------------------------------------------------------------------------

ONE_JPEG = [{"contentType": "image/jpeg", "byteSize": 1000}]


@pytest.mark.parametrize(
    ("post_input", "field"),
    [
        ({"caption": "no media", "media": []}, "media"),
        ({"media": ONE_JPEG * 11}, "media"),
        ({"media": [{"contentType": "image/gif", "byteSize": 1000}]}, "media[0].contentType"),
        ({"media": [{"contentType": "text/html", "byteSize": 1000}]}, "media[0].contentType"),
        ({"media": [{"contentType": "image/png", "byteSize": 0}]}, "media[0].byteSize"),
        ({"media": [*ONE_JPEG, {"contentType": "image/png", "byteSize": 20 * MB + 1}]}, "media[1].byteSize"),
        ({"media": [{"contentType": "image/png", "byteSize": -5}]}, "media[0].byteSize"),
        ({"media": [{**ONE_JPEG[0], "altText": "a" * 1001}]}, "media[0].altText"),
        ({"caption": "x" * 2201, "media": ONE_JPEG}, "caption"),
        ({"caption": "bad \x00 byte", "media": ONE_JPEG}, "caption"),
        ({"caption": " ".join(f"#tag{i}" for i in range(31)), "media": ONE_JPEG}, "caption"),
        ({"caption": " ".join(f"@user{i}" for i in range(21)), "media": ONE_JPEG}, "caption"),
    ],
)
async def test_create_post_rejects_bad_input_and_writes_nothing(
    api: httpx.AsyncClient, graph_store: GraphStore, author: TestUser, post_input: dict[str, Any], field: str
) -> None:
    before = await graph_store.read(COUNT_POSTS, {"user_id": author.id})

    body = await graphql(api, CREATE_POST, {"input": post_input}, token=author.token)

    error = error_of(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await graph_store.read(COUNT_POSTS, {"user_id": author.id}) == before


async def test_limits_are_inclusive(api: httpx.AsyncClient, author: TestUser) -> None:
    # 30 hashtags, a 2,200-character caption, 10 media of 20 MB each, a 1,000-character alt text: accepted
    tags = " ".join(f"#t{i}x" for i in range(30))
    caption = tags + " " + "y" * (2200 - len(tags) - 1)
    media = [{"contentType": "image/webp", "byteSize": 20 * MB, "altText": "a" * 1000}] * 10
    body = await graphql(
        api, CREATE_POST, {"input": {"caption": caption, "media": media}}, token=author.token
    )
    assert "errors" not in body, body
    assert len(body["data"]["createPost"]["post"]["hashtags"]) == 30
    assert len(body["data"]["createPost"]["uploads"]) == 10


async def test_create_post_requires_authentication(api: httpx.AsyncClient) -> None:
    body = await graphql(api, CREATE_POST, {"input": {"media": ONE_JPEG}})
    assert error_of(body)["extensions"]["code"] == "UNAUTHENTICATED"


# -- createPost -> upload -> complete -> publish -----------------------------------------------------------


async def test_create_post_returns_pending_post_and_presigned_posts(
    api: httpx.AsyncClient, graph_store: GraphStore, author: TestUser, stranger: TestUser
) -> None:
    # given: a caption with glued tags, NBSP, a mention of a real user and of an unknown one
    caption = f"Launch day!\xa0#Space#Rocket #space. #NASA\xa0@{stranger.username.upper()} @nobody_{name()}"
    started = int(time.time() * 1000)

    files = [(image("rocket.jpg"), "image/jpeg"), (image("coffee.png"), "image/png")]
    payload = await create_post(api, author, files, caption)

    post = payload["post"]
    assert post["status"] == "PENDING_UPLOAD" and post["failureReason"] is None
    assert post["caption"] == caption
    assert post["hashtags"] == ["space", "rocket", "nasa"]
    assert post["mentions"] == [{"id": stranger.gid, "username": stranger.username}]
    assert post["author"] == {"id": author.gid, "username": author.username}
    assert [(m["contentType"], m["width"], m["feed"]) for m in post["media"]] == [
        ("image/jpeg", None, None), ("image/png", None, None),
    ]  # fmt: skip
    uploads = payload["uploads"]
    assert [u["mediaId"] for u in uploads] == [m["id"] for m in post["media"]]
    for ticket, media in zip(uploads, post["media"], strict=True):
        fields = {f["name"]: f["value"] for f in ticket["fields"]}
        assert fields["key"] == f"originals/{raw(post['id'])}/{raw(media['id'])}"
        assert fields["Content-Type"] == media["contentType"]
        assert {"policy", "x-amz-signature", "x-amz-credential", "x-amz-algorithm", "x-amz-date"} <= set(
            fields
        )
        assert ticket["expiresAt"].endswith("+00:00")
    # the policy expires 15 minutes after creation
    expires_ms = datetime.fromisoformat(uploads[0]["expiresAt"]).timestamp() * 1000
    assert started + 900_000 - 1_000 <= expires_ms <= int(time.time() * 1000) + 900_000 + 1_000
    # a pending post is counted nowhere and has no event yet
    counts = await graph_store.read(COUNT_POSTS, {"user_id": author.id})
    assert counts[0]["post_count"] == 0
    assert await outbox_events(graph_store, raw(post["id"]), "media.uploaded") == []


async def test_pending_post_is_visible_to_its_author_only(
    api: httpx.AsyncClient, author: TestUser, stranger: TestUser
) -> None:
    payload = await create_post(api, author, [(image("rocket.jpg"), "image/jpeg")], "pending")
    gid = payload["post"]["id"]

    mine = await graphql(api, POST, {"id": gid}, token=author.token)
    theirs = await graphql(api, POST, {"id": gid}, token=stranger.token)
    anonymous = await graphql(api, POST, {"id": gid})

    assert mine["data"]["post"]["status"] == "PENDING_UPLOAD"
    assert theirs == {"data": {"post": None}} and anonymous == {"data": {"post": None}}
    own_grid = await graphql(api, USER_POSTS, {"username": author.username}, token=author.token)
    other_grid = await graphql(api, USER_POSTS, {"username": author.username}, token=stranger.token)
    assert gid in [e["node"]["id"] for e in own_grid["data"]["user"]["posts"]["edges"]]
    assert gid not in [e["node"]["id"] for e in other_grid["data"]["user"]["posts"]["edges"]]


async def test_complete_before_upload_is_bad_input_and_changes_nothing(
    api: httpx.AsyncClient, graph_store: GraphStore, author: TestUser
) -> None:
    data = image("chelsea.png")
    payload = await create_post(api, author, [(image("rocket.jpg"), "image/jpeg"), (data, "image/png")])
    gid = payload["post"]["id"]
    # only the second file is uploaded
    assert (await upload(payload["uploads"][1], data, "image/png")).status_code == 204

    body = await graphql(api, COMPLETE, {"id": gid}, token=author.token)

    error = error_of(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "postId"}
    assert error["message"] == "Media 1 of 2 has not been uploaded yet."
    after = await graphql(api, POST, {"id": gid}, token=author.token)
    assert after["data"]["post"]["status"] == "PENDING_UPLOAD"
    assert await outbox_events(graph_store, raw(gid), "media.uploaded") == []


async def test_complete_checks_ids_and_ownership(
    api: httpx.AsyncClient, author: TestUser, stranger: TestUser
) -> None:
    payload = await create_post(api, author, [(image("rocket.jpg"), "image/jpeg")])
    gid = payload["post"]["id"]
    unknown = "UG9zdDowMTkwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA"  # Post:01900000-0000-7000-8000-...

    others = await graphql(api, COMPLETE, {"id": gid}, token=stranger.token)
    missing = await graphql(api, COMPLETE, {"id": unknown}, token=author.token)
    malformed = await graphql(api, COMPLETE, {"id": author.gid}, token=author.token)  # a User id

    # a pending post is invisible to others: NOT_FOUND, not FORBIDDEN (its existence is not revealed)
    assert error_of(others)["extensions"]["code"] == "NOT_FOUND"
    assert error_of(missing)["extensions"]["code"] == "NOT_FOUND"
    assert error_of(malformed)["extensions"] == {"code": "BAD_USER_INPUT", "field": "postId"}


async def test_full_flow_publishes_variants_anyone_can_fetch(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, stranger: TestUser
) -> None:
    # given: a new author uploads the 1000x872 Hubble photo through the presigned POST
    owner = await make_user(api, name())
    data = image("hubble_deep_field.jpg")
    post = await create_uploaded_post(api, owner, [(data, "image/jpeg")], "Deep field #hubble")
    assert post["status"] == "PROCESSING"
    # completing twice is harmless: same status, still one event
    again = await graphql(api, COMPLETE, {"id": post["id"]}, token=owner.token)
    assert again["data"]["completePostUpload"]["status"] == "PROCESSING"
    assert len(await outbox_events(graph_store, raw(post["id"]), "media.uploaded")) == 1

    # when: the media worker handles media.uploaded
    await publish(app, graph_store, post["id"])

    # then: published, visible to a stranger, with its sizes and public variant URLs
    body = await graphql(api, POST, {"id": post["id"]}, token=stranger.token)
    shown = body["data"]["post"]
    assert shown["status"] == "PUBLISHED" and shown["hashtags"] == ["hubble"]
    (media,) = shown["media"]
    assert (media["width"], media["height"]) == (1000, 872)
    expected = {"thumb": (150, 150), "feed": (720, 628), "full": (1000, 872)}
    async with httpx.AsyncClient() as client:
        for size, dims in expected.items():
            response = await client.get(media[size])
            assert response.status_code == 200, (size, response.text)
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["content-type"] == "image/jpeg"
            with Image.open(io.BytesIO(response.content)) as img:
                assert img.size == dims
    assert (await graph_store.read(COUNT_POSTS, {"user_id": owner.id}))[0]["post_count"] == 1
    assert len(await outbox_events(graph_store, raw(post["id"]), "post.published")) == 1
    grid = await graphql(api, USER_POSTS, {"username": owner.username})
    assert grid["data"]["user"]["postCount"] == 1
    assert [e["node"] for e in grid["data"]["user"]["posts"]["edges"]] == [
        {"id": post["id"], "status": "PUBLISHED"}
    ]
    node = await graphql(api, NODE, {"id": post["id"]})
    assert node["data"]["node"] == {"__typename": "Post", "id": post["id"], "status": "PUBLISHED"}


# -- deletePost ----------------------------------------------------------------------------------------


async def test_delete_post_hides_it_everywhere(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, stranger: TestUser
) -> None:
    # given: a published post
    owner = await make_user(api, name())
    post = await create_uploaded_post(api, owner, [(image("astronaut.png"), "image/png")])
    await publish(app, graph_store, post["id"])
    published = (await graphql(api, POST, {"id": post["id"]}))["data"]["post"]
    variant_url = published["media"][0]["feed"]

    # when: someone else tries, then the author deletes it
    forbidden = await graphql(api, DELETE, {"id": post["id"]}, token=stranger.token)
    deleted = await graphql(api, DELETE, {"id": post["id"]}, token=owner.token)

    # then
    assert error_of(forbidden)["extensions"]["code"] == "FORBIDDEN"
    assert deleted["data"]["deletePost"]["status"] == "DELETED"
    for token in (owner.token, stranger.token, None):
        assert await graphql(api, POST, {"id": post["id"]}, token=token) == {"data": {"post": None}}
        assert await graphql(api, NODE, {"id": post["id"]}, token=token) == {"data": {"node": None}}
        grid = await graphql(api, USER_POSTS, {"username": owner.username}, token=token)
        assert grid["data"]["user"] == {
            "postCount": 0,
            "posts": {"edges": [], "pageInfo": {"hasNextPage": False}},
        }
    assert error_of(await graphql(api, DELETE, {"id": post["id"]}, token=owner.token))["extensions"][
        "code"
    ] == ("NOT_FOUND")
    (event,) = await outbox_events(graph_store, raw(post["id"]), "post.deleted")
    assert event.data == {"post_id": raw(post["id"]), "author_id": owner.id, "was_published": True}

    # when: the media worker handles post.deleted, then: the objects are gone from S3
    await make_media_handler(app.state.services.media)(event)
    async with httpx.AsyncClient() as client:
        assert (await client.get(variant_url)).status_code in (403, 404)


async def test_delete_unknown_post_is_not_found(api: httpx.AsyncClient, author: TestUser) -> None:
    unknown = "UG9zdDowMTkwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA"
    body = await graphql(api, DELETE, {"id": unknown}, token=author.token)
    assert error_of(body)["extensions"]["code"] == "NOT_FOUND"


async def test_user_posts_pages_newest_first(api: httpx.AsyncClient) -> None:
    owner = await make_user(api, name())
    gids = [
        (await create_post(api, owner, [(b"x" * 10, "image/png")], f"n{i}"))["post"]["id"] for i in range(3)
    ]
    query = """
    query($u: String!, $after: String) {
      user(username: $u) {
        posts(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } }
      }
    }
    """
    first = (await graphql(api, query, {"u": owner.username}, token=owner.token))["data"]["user"]["posts"]
    second = (await graphql(api, query, {"u": owner.username, "after": first["pageInfo"]["endCursor"]},
                            token=owner.token))["data"]["user"]["posts"]  # fmt: skip

    assert [e["node"]["id"] for e in first["edges"]] == gids[::-1][:2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["id"] for e in second["edges"]] == gids[::-1][2:]
    assert second["pageInfo"]["hasNextPage"] is False
    bad = await graphql(api, query, {"u": owner.username, "after": "not-a-cursor!"}, token=owner.token)
    assert error_of(bad)["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_expired_uploads_can_be_reissued_for_a_pending_post(
    app: Starlette, api: httpx.AsyncClient, author: TestUser, stranger: TestUser
) -> None:
    # given: a pending post whose first presigned POSTs were never used
    data = image("rocket.jpg")
    payload = await create_post(api, author, [(data, "image/jpeg")])
    post_id = raw(payload["post"]["id"])
    posts = app.state.services.posts

    # when: fresh tickets are signed (what the seed does when it resumes) and used
    (ticket,) = await posts.reissue_uploads(author.id, post_id)
    fields = dict(ticket.fields)
    async with httpx.AsyncClient() as client:
        response = await client.post(ticket.url, data=fields, files={"file": ("f", data, "image/jpeg")})

    # then: same key and media, and the post completes
    assert response.status_code == 204, response.text
    assert ticket.media_id == raw(payload["uploads"][0]["mediaId"])
    assert fields["key"] == f"originals/{post_id}/{ticket.media_id}"
    assert (await posts.complete_upload(author.id, post_id)).status == "PROCESSING"
    with pytest.raises(BadInput):
        await posts.reissue_uploads(author.id, post_id)
    with pytest.raises(NotFound):
        await posts.reissue_uploads(stranger.id, post_id)
