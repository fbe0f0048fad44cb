"""The ``sweeper`` periodic job: moves on posts stuck before publication (``MediaService.sweep``).

Every ``SWEEP_INTERVAL_S`` seconds: PENDING_UPLOAD posts whose originals are all in S3 after 20 min (the
client died between the upload and ``completePostUpload``) go to PROCESSING with their ``media.uploaded``
event; PENDING_UPLOAD posts without all originals after 1 h end FAILED ("upload not received"); posts
PROCESSING for 15 min (event lost or dead-lettered) are processed inline. Several replicas are safe: every
transition is guarded by the expected status in its one statement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from media.errors import StoreUnavailable
from services.core.errors import Unavailable
from workers.periodic import PeriodicJob

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.core.container import Services

log = structlog.get_logger(__name__)

SWEEP_INTERVAL_S = 60.0


def make_step(services: Services) -> Callable[[], Awaitable[int]]:
    """The job's step: ``await step()`` sweeps once; returns how many posts it moved (0 while S3 is down)."""
    processor = services.media

    async def step() -> int:
        try:
            result = await processor.sweep()
        except (StoreUnavailable, Unavailable) as exc:
            log.warning("sweeper.s3_unavailable", error=repr(exc))
            return 0
        return result.total

    return step


JOB: PeriodicJob[Services] = PeriodicJob(name="sweeper", interval=SWEEP_INTERVAL_S, make_step=make_step)
