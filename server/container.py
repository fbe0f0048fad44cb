"""The composition root: builds every service from the open resources, once per process."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from services.container import Services

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from server.resources import Resources


@contextlib.asynccontextmanager
async def build_services(resources: Resources) -> AsyncIterator[Services]:
    """Yield the process's :class:`Services`; anything started here is stopped on exit."""
    services = Services()
    yield services
