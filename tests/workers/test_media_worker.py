"""The media worker on the real stack: variants in S3 with the right sizes and no EXIF, refusals that end
FAILED, redelivery, deletes, the sweeper, and one end-to-end run through the outbox relay and a consumer."""

from __future__ import annotations

import io
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from graph.cypher import cypher
from media.errors import ObjectMissing
from media.store import IMMUTABLE
from schema.base import from_global_id
from services.media_processing import PENDING_GRACE_MS, PROCESSING_STALE_MS, UPLOAD_DEADLINE_MS, variant_key
from tests.support.factories import graphql, make_user
from tests.support.kafka import relay_and_consume
from tests.support.uploads import (
    COMPLETE,
    POST,
    create_post,
    create_uploaded_post,
    image,
    outbox_events,
    upload,
)
from workers.media import NAME, TOPICS, make_media_handler

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from media.store import ObjectStore
    from runtime.settings import Settings
    from services.media_processing import MediaService
    from tests.support.factories import TestUser

GPS_IFD, ORIENTATION = 0x8825, 0x0112
POST_STATE = cypher(
    "tests.media_worker.POST_STATE",
    """
    MATCH (a:User)-[:POSTED]->(p:Post {id: $id})
    RETURN p.status AS status, p.failure_reason AS reason, coalesce(a.post_count, 0) AS post_count,
           [(p)-[:HAS_MEDIA]->(m:Media) | m.id] AS media_ids
    """,
)


def raw(gid: str) -> str:
    return from_global_id(gid, field="id")[1]


@pytest.fixture(scope="module")
def processor(app: Starlette) -> MediaService:
    return app.state.services.media  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def store(app: Starlette) -> ObjectStore:
    return app.state.services.posts._store  # type: ignore[no-any-return]


@pytest.fixture
async def author(api: httpx.AsyncClient) -> TestUser:
    return await make_user(api, f"m_{secrets.token_hex(4)}")


async def handle_uploaded(processor: MediaService, graph_store: GraphStore, post_gid: str) -> None:
    """Hand the ``media.uploaded`` event that ``completePostUpload`` recorded to the worker's handler."""
    (event,) = await outbox_events(graph_store, raw(post_gid), "media.uploaded")
    await make_media_handler(processor)(event)


async def state(graph_store: GraphStore, post_id: str) -> dict[str, Any]:
    (row,) = await graph_store.read(POST_STATE, {"id": post_id})
    return row


async def variant(store: ObjectStore, post_id: str, media_id: str, size: str) -> Image.Image:
    key = variant_key(post_id, media_id, size)
    head = await store.head(key)
    assert (head.content_type, head.cache_control) == ("image/jpeg", IMMUTABLE)
    img = Image.open(io.BytesIO(await store.get(key, max_bytes=10_000_000)))
    img.load()
    return img


def exif_jpeg() -> bytes:
    """rocket.jpg (640x427) with EXIF orientation 6 (rotate 90° CW), a camera make and GPS coordinates."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "TestCam"
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    buf = io.BytesIO()
    with Image.open(io.BytesIO(image("rocket.jpg"))) as src:
        src.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def bomb_png() -> bytes:
    """A 1-bit 20000x20000 PNG: 400 MP that compress to a few dozen KB."""
    buf = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


async def test_variants_have_the_right_sizes_and_cache_control(
    api: httpx.AsyncClient, graph_store: GraphStore, processor: MediaService, store: ObjectStore,
    author: TestUser,
) -> None:  # fmt: skip
    # given: a carousel of the 1000-px Hubble photo and the 512-px astronaut, uploaded and completed
    post = await create_uploaded_post(
        api, author, [(image("hubble_deep_field.jpg"), "image/jpeg"), (image("astronaut.png"), "image/png")]
    )
    post_id = raw(post["id"])
    hubble, astronaut = (raw(m["id"]) for m in post["media"])

    # when
    await handle_uploaded(processor, graph_store, post["id"])

    # then: THUMBNAIL 150x150, FEED 720 wide, FULL capped at 1080 but never upscaled
    sizes = {
        (media, size): (await variant(store, post_id, media, size)).size
        for media in (hubble, astronaut) for size in ("THUMBNAIL", "FEED", "FULL")
    }  # fmt: skip
    assert sizes == {
        (hubble, "THUMBNAIL"): (150, 150), (hubble, "FEED"): (720, 628), (hubble, "FULL"): (1000, 872),
        (astronaut, "THUMBNAIL"): (150, 150), (astronaut, "FEED"): (512, 512),
        (astronaut, "FULL"): (512, 512),
    }  # fmt: skip
    row = await state(graph_store, post_id)
    assert (row["status"], row["reason"], row["post_count"]) == ("PUBLISHED", None, 1)
    assert sorted(row["media_ids"]) == sorted([hubble, astronaut])
    shown = (await graphql(api, POST, {"id": post["id"]}))["data"]["post"]
    assert [(m["width"], m["height"]) for m in shown["media"]] == [(1000, 872), (512, 512)]
    (published,) = await outbox_events(graph_store, post_id, "post.published")
    assert published.data == {
        "post_id": post_id,
        "author_id": author.id,
        "created_at": published.data["created_at"],
    }


async def test_exif_orientation_applied_and_gps_stripped(
    api: httpx.AsyncClient, graph_store: GraphStore, processor: MediaService, store: ObjectStore,
    author: TestUser,
) -> None:  # fmt: skip
    data = exif_jpeg()
    with Image.open(io.BytesIO(data)) as src:
        assert src.size == (640, 427) and src.getexif().get_ifd(GPS_IFD)[1] == "N"
    post = await create_uploaded_post(api, author, [(data, "image/jpeg")])

    await handle_uploaded(processor, graph_store, post["id"])

    media_id = raw(post["media"][0]["id"])
    for size, dims in (("THUMBNAIL", (150, 150)), ("FEED", (427, 640)), ("FULL", (427, 640))):
        img = await variant(store, raw(post["id"]), media_id, size)
        assert img.size == dims  # rotated to portrait
        assert dict(img.getexif()) == {} and "exif" not in img.info
    shown = (await graphql(api, POST, {"id": post["id"]}))["data"]["post"]["media"][0]
    assert (shown["width"], shown["height"]) == (427, 640)


@pytest.mark.parametrize(
    ("make_file", "content_type", "reason"),
    [
        (bomb_png, "image/png", "Media 1 of 1: image is larger than 40 MP."),
        (
            lambda: b"<!doctype html><html><body><script>alert(1)</script></body></html>",
            "image/jpeg",
            "Media 1 of 1: file content (not an image) does not match the declared type image/jpeg.",
        ),
    ],
    ids=["decompression-bomb", "html-as-jpeg"],
)
async def test_bad_files_end_failed_with_a_reason(
    api: httpx.AsyncClient, graph_store: GraphStore, processor: MediaService, store: ObjectStore,
    author: TestUser, make_file: Any, content_type: str, reason: str,
) -> None:  # fmt: skip
    # given: S3 accepts the bytes (the policy checks the declared type and size, not the content)
    post = await create_uploaded_post(api, author, [(make_file(), content_type)])
    post_id = raw(post["id"])

    # when
    await handle_uploaded(processor, graph_store, post["id"])

    # then: FAILED with its reason, counted nowhere, no event, no variant
    assert (await state(graph_store, post_id))["status"] == "FAILED"
    mine = (await graphql(api, POST, {"id": post["id"]}, token=author.token))["data"]["post"]
    assert (mine["status"], mine["failureReason"]) == ("FAILED", reason)
    assert (await graphql(api, POST, {"id": post["id"]}))["data"]["post"] is None
    assert (await state(graph_store, post_id))["post_count"] == 0
    assert await outbox_events(graph_store, post_id, "post.published") == []
    with pytest.raises(ObjectMissing):
        await store.head(variant_key(post_id, raw(post["media"][0]["id"]), "FEED"))
    # completing a failed post says why
    again = await graphql(api, COMPLETE, {"id": post["id"]}, token=author.token)
    assert again["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "postId"}
    assert again["errors"][0]["message"] == f"This post failed: {reason}."


async def test_one_bad_item_fails_the_whole_carousel_and_removes_written_variants(
    api: httpx.AsyncClient, graph_store: GraphStore, processor: MediaService, store: ObjectStore,
    author: TestUser,
) -> None:  # fmt: skip
    post = await create_uploaded_post(
        api, author, [(image("coffee.png"), "image/png"), (b"GIF89a not really", "image/webp")]
    )
    post_id = raw(post["id"])

    await handle_uploaded(processor, graph_store, post["id"])

    assert (await state(graph_store, post_id))["status"] == "FAILED"
    good = raw(post["media"][0]["id"])
    for size in ("THUMBNAIL", "FEED", "FULL"):
        with pytest.raises(ObjectMissing):
            await store.head(variant_key(post_id, good, size))


async def test_redelivered_event_changes_nothing(
    api: httpx.AsyncClient, graph_store: GraphStore, processor: MediaService, author: TestUser
) -> None:
    post = await create_uploaded_post(api, author, [(image("rocket.jpg"), "image/jpeg")])
    (event,) = await outbox_events(graph_store, raw(post["id"]), "media.uploaded")
    handler = make_media_handler(processor)

    await handler(event)
    await handler(event)

    assert (await state(graph_store, raw(post["id"])))["post_count"] == 1
    assert len(await outbox_events(graph_store, raw(post["id"]), "post.published")) == 1
    assert await processor.process_post(raw(post["id"])) == "skipped"
    assert await processor.process_post(str(uuid.uuid4())) == "skipped"  # unknown post: dropped


async def test_post_deleted_while_processing_is_never_published(
    api: httpx.AsyncClient, graph_store: GraphStore, processor: MediaService, store: ObjectStore,
    author: TestUser,
) -> None:  # fmt: skip
    post = await create_uploaded_post(api, author, [(image("chelsea.png"), "image/png")])
    post_id, media_id = raw(post["id"]), raw(post["media"][0]["id"])
    deleted = await graphql(api, "mutation($id: ID!) { deletePost(input: {postId: $id}) { status } }",
                            {"id": post["id"]}, token=author.token)  # fmt: skip
    assert deleted["data"]["deletePost"]["status"] == "DELETED"

    await handle_uploaded(processor, graph_store, post["id"])
    (gone,) = await outbox_events(graph_store, post_id, "post.deleted")
    await make_media_handler(processor)(gone)

    assert (await state(graph_store, post_id))["status"] == "DELETED"
    assert await outbox_events(graph_store, post_id, "post.published") == []
    for key in (f"originals/{post_id}/{media_id}", variant_key(post_id, media_id, "FULL")):
        with pytest.raises(ObjectMissing):
            await store.head(key)


async def test_sweeper_completes_abandoned_uploads_and_fails_missing_ones(
    api: httpx.AsyncClient, graph_store: GraphStore, processor: MediaService, author: TestUser
) -> None:
    # given: one post uploaded but never completed (the client died), one never uploaded
    data = image("rocket.jpg")
    abandoned = await create_post(api, author, [(data, "image/jpeg")])
    assert (await upload(abandoned["uploads"][0], data, "image/jpeg")).status_code == 204
    empty = await create_post(api, author, [(data, "image/jpeg")])
    ids = raw(abandoned["post"]["id"]), raw(empty["post"]["id"])
    now = int(time.time() * 1000)

    # when: the sweeper runs before the grace period, nothing moves
    await processor.sweep(now_ms=now + PENDING_GRACE_MS - 60_000)
    assert [(await state(graph_store, i))["status"] for i in ids] == ["PENDING_UPLOAD", "PENDING_UPLOAD"]

    # when: 20 minutes later, the uploaded one is completed; the empty one waits for the 1-hour deadline
    await processor.sweep(now_ms=now + PENDING_GRACE_MS + 60_000)
    assert [(await state(graph_store, i))["status"] for i in ids] == ["PROCESSING", "PENDING_UPLOAD"]
    assert len(await outbox_events(graph_store, ids[0], "media.uploaded")) == 1

    # when: an hour later, the empty one fails; and the PROCESSING one, whose event was "lost", is processed
    result = await processor.sweep(now_ms=now + max(UPLOAD_DEADLINE_MS, PROCESSING_STALE_MS) + 60_000)
    assert (await state(graph_store, ids[1]))["status"] == "FAILED"
    assert (await state(graph_store, ids[1]))["reason"] == "upload not received"
    assert (await state(graph_store, ids[0]))["status"] == "PUBLISHED"
    assert (result.failed, result.reprocessed) == (1, 1)


async def test_end_to_end_through_the_outbox_relay_and_a_consumer(
    settings: Settings, api: httpx.AsyncClient, graph_store: GraphStore, redis: aioredis.Redis,
    processor: MediaService, author: TestUser,
) -> None:  # fmt: skip
    # given: a completed upload whose media.uploaded sits in the outbox
    post = await create_uploaded_post(api, author, [(image("coffee.png"), "image/png")])
    # when: the relay publishes the outbox and the media consumer runs until idle
    await relay_and_consume(settings, graph_store, redis, NAME, TOPICS, make_media_handler(processor))

    # then
    shown = (await graphql(api, POST, {"id": post["id"]}))["data"]["post"]
    assert shown["status"] == "PUBLISHED"
    assert (shown["media"][0]["width"], shown["media"][0]["height"]) == (600, 400)
