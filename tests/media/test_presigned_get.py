"""``ObjectStore.presigned_get`` on the real SeaweedFS: a private object is served to a signed GET until its
lifetime ends, then S3 itself refuses the URL; unsigned or tampered requests are refused all along."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from media.store import ObjectStore


async def test_a_signed_get_works_until_it_expires(object_store: ObjectStore) -> None:
    key = f"stories/test/{uuid.uuid4().hex}/feed.jpg"
    await object_store.put(key, b"\xff\xd8\xff-story", content_type="image/jpeg", cache_control="private, max-age=60")
    url = await object_store.presigned_get(key, expires_s=2)

    async with httpx.AsyncClient(timeout=10) as client:
        unsigned = await client.get(object_store.public_url(key))
        tampered = await client.get(url.replace("feed.jpg", "full.jpg"))
        signed = await client.get(url)
        await asyncio.sleep(3.5)
        expired = await client.get(url)

    assert unsigned.status_code == 403 and tampered.status_code == 403
    assert (signed.status_code, signed.content) == (200, b"\xff\xd8\xff-story")
    assert signed.headers["cache-control"] == "private, max-age=60"
    assert expired.status_code == 403 and "Request has expired" in expired.text


@pytest.mark.parametrize("seconds", [0, -1, 604_801])
async def test_a_lifetime_out_of_sigv4_range_is_refused(object_store: ObjectStore, seconds: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.604800"):
        await object_store.presigned_get("stories/x", expires_s=seconds)
