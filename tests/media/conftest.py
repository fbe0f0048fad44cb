"""Fixtures of the media tests: the module's ``ObjectStore`` on the stack's SeaweedFS bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from media.store import S3Config, open_object_store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from media.store import ObjectStore
    from server.settings import Settings


def s3_config(settings: Settings) -> S3Config:
    """The ``S3Config`` of ``settings``."""
    return S3Config(
        endpoint=settings.s3_endpoint,
        bucket=settings.s3_bucket,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        region=settings.s3_region,
        public_url=settings.s3_public_url,
    )


@pytest.fixture(scope="module")
async def object_store(settings: Settings) -> AsyncIterator[ObjectStore]:
    """An open ``ObjectStore`` on the session's bucket (keys are unique per test: no clean-up needed)."""
    async with open_object_store(s3_config(settings)) as store:
        yield store
