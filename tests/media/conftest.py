"""Fixtures of the media tests: the module's ``ObjectStore`` on the stack's SeaweedFS bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from media.store import open_object_store
from runtime.resources import s3_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from media.store import ObjectStore
    from runtime.settings import Settings


@pytest.fixture(scope="module")
async def object_store(settings: Settings) -> AsyncIterator[ObjectStore]:
    """An open ``ObjectStore`` on the session's bucket (keys are unique per test: no clean-up needed)."""
    async with open_object_store(s3_config(settings)) as store:
        yield store
