"""The S3 object store against the stack's real SeaweedFS (started with credentials, so policies hold)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx
import pytest

from media.errors import ObjectMissing, ObjectTooLarge, StoreUnavailable
from media.store import IMMUTABLE, open_object_store
from runtime.resources import s3_config
from services.media_processing import VARIANTS_PREFIX, open_variants_to_public
from tests.support.paths import IMAGES

if TYPE_CHECKING:
    from devstack.supervisor import EmbeddedStack
    from media.store import ObjectStore, PresignedPost
    from runtime.settings import Settings



def unique_key(prefix: str = "originals/test") -> str:
    return f"{prefix}/{uuid.uuid4().hex}"


async def post_file(post: PresignedPost, data: bytes, content_type: str, **overrides: str) -> httpx.Response:
    """Upload like a browser: the policy's form fields (optionally overridden), then the file part."""
    fields = {**post.fields, **overrides}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(post.url, data=fields, files={"file": ("upload", data, content_type)})


async def test_presigned_post_uploads_a_real_photo(object_store: ObjectStore) -> None:
    # given: a policy for hubble_deep_field.jpg's exact size and type
    data = (IMAGES / "hubble_deep_field.jpg").read_bytes()
    key = unique_key()
    post = await object_store.presigned_post(
        key, content_type="image/jpeg", max_bytes=len(data), expires_s=900, now_ms=1_000
    )

    # then: the policy binds the key and content type and expires in 15 minutes
    assert post.fields["key"] == key and post.fields["Content-Type"] == "image/jpeg"
    assert post.expires_at == 1_000 + 900_000
    assert post.url == f"{object_store.config.endpoint}/{object_store.bucket}"

    # when: the client POSTs the file straight to S3
    response = await post_file(post, data, "image/jpeg")

    # then: S3 stored exactly those bytes with that type
    assert response.status_code == 204, response.text
    head = await object_store.head(key)
    assert (head.size, head.content_type) == (len(data), "image/jpeg")
    assert await object_store.get(key, max_bytes=len(data)) == data


async def test_oversize_upload_is_refused_by_s3_itself(object_store: ObjectStore) -> None:
    data = (IMAGES / "rocket.jpg").read_bytes()
    key = unique_key()
    post = await object_store.presigned_post(key, content_type="image/jpeg", max_bytes=len(data) - 1,
                                             expires_s=900)  # fmt: skip

    response = await post_file(post, data, "image/jpeg")

    assert response.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in response.text
    with pytest.raises(ObjectMissing):
        await object_store.head(key)


async def test_other_content_type_or_key_is_refused(object_store: ObjectStore) -> None:
    data = (IMAGES / "rocket.jpg").read_bytes()
    key = unique_key()
    post = await object_store.presigned_post(
        key, content_type="image/jpeg", max_bytes=len(data), expires_s=900
    )

    wrong_type = await post_file(post, b"<html>hi</html>", "text/html", **{"Content-Type": "text/html"})
    other_key = await post_file(post, data, "image/jpeg", key=unique_key())

    assert (wrong_type.status_code, other_key.status_code) == (403, 403)
    assert "<Code>AccessDenied</Code>" in wrong_type.text and "<Code>AccessDenied</Code>" in other_key.text
    with pytest.raises(ObjectMissing):
        await object_store.head(key)


async def test_variants_are_public_and_immutable_originals_private(object_store: ObjectStore) -> None:
    # given: the bucket policy the app sets at start-up, a variant and an original
    assert await open_variants_to_public(object_store) is True
    variant, original = unique_key(VARIANTS_PREFIX.rstrip("/")), unique_key()
    await object_store.put(variant, b"\xff\xd8\xff variant", content_type="image/jpeg")
    await object_store.put(
        original, b"\xff\xd8\xff original", content_type="image/jpeg", cache_control="no-store"
    )

    # when: anyone GETs them without credentials
    async with httpx.AsyncClient() as client:
        public = await client.get(object_store.public_url(variant))
        private = await client.get(object_store.public_url(original))

    # then
    assert (public.status_code, public.content) == (200, b"\xff\xd8\xff variant")
    assert public.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert private.status_code == 403
    assert (await object_store.head(variant)).cache_control == IMMUTABLE


async def test_get_refuses_more_than_max_bytes_and_delete_is_idempotent(object_store: ObjectStore) -> None:
    key = unique_key()
    await object_store.put(key, b"0123456789", content_type="image/png")

    with pytest.raises(ObjectTooLarge):
        await object_store.get(key, max_bytes=9)
    await object_store.delete([key, unique_key()])
    await object_store.delete([key])

    with pytest.raises(ObjectMissing):
        await object_store.get(key, max_bytes=10)


async def test_public_url_setting_is_used_for_presigned_posts(settings: Settings) -> None:
    public = "https://media.example.test"
    async with open_object_store(replace(s3_config(settings), public_url=public)) as store:
        post = await store.presigned_post(unique_key(), content_type="image/png", max_bytes=10, expires_s=60)
        assert post.url == f"{public}/{settings.s3_bucket}"
        assert store.public_url("variants/a.jpg") == f"{public}/{settings.s3_bucket}/variants/a.jpg"


async def test_s3_down_raises_store_unavailable(stack: EmbeddedStack, object_store: ObjectStore) -> None:
    key = unique_key()
    await object_store.put(key, b"kept", content_type="image/png")
    await stack.stop_service("s3")
    try:
        with pytest.raises(StoreUnavailable):
            await object_store.head(key)
        with pytest.raises(StoreUnavailable):
            await object_store.put(unique_key(), b"x", content_type="image/png")
    finally:
        await stack.start_service("s3")
    assert (await object_store.head(key)).size == 4  # data survived the restart
