"""The ``stories-sweeper`` periodic job: the expiry schedule, the view-count write-back and the sweep.

Every ``story_expiry_poll_interval`` s (``INSTAGRAPH_STORY_EXPIRY_POLL_INTERVAL``, default 5) one step:

1. ``StoryExpiryService.announce_due``: the stories whose time came in the Redis schedule get their
   ``story.expired`` event through the outbox (the ``stories-expiry`` consumer then expires them);
2. ``StoryViewService.write_back``: recounted view counts into ``Story.view_count``;
3. every ``story_sweep_interval`` s (``INSTAGRAPH_STORY_SWEEP_INTERVAL``, default 300), and on start:
   ``StoryExpiryService.sweep``, the reconciliation in the graph that expires what the schedule or the
   consumer missed (Redis lost, consumer or broker down), deletes media still waiting for it and moves stuck
   uploads on.

Several replicas are safe: announcing is guarded by ``expiry_announced_at`` and every transition by the
expected state in its one statement. A store outage skips that part of the step (logged); the next one
retries.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import structlog

from media.errors import StoreUnavailable
from workers.periodic import PeriodicJob

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.core.container import Services

log = structlog.get_logger(__name__)

NAME = "stories-sweeper"


def make_step(services: Services) -> Callable[[], Awaitable[int]]:
    """The job's step: ``await step()``; returns how many stories it announced, wrote back or changed."""
    expiry, views = services.story_expiry, services.story_views
    last_sweep: float | None = None
    log.info("stories_sweeper.configured", poll_interval_s=expiry.poll_interval_s,
             sweep_interval_s=expiry.sweep_interval_s)  # fmt: skip

    async def step() -> int:
        nonlocal last_sweep
        done = await expiry.announce_due()
        done += await views.write_back()
        if last_sweep is None or time.monotonic() - last_sweep >= expiry.sweep_interval_s:
            last_sweep = time.monotonic()
            try:
                result = await expiry.sweep()
            except StoreUnavailable as exc:
                log.warning("stories_sweeper.s3_unavailable", error=repr(exc))
                return done
            if result.total:
                log.info("stories_sweeper.swept", expired=result.expired, purged=result.purged,
                         completed=result.completed, failed=result.failed, reprocessed=result.reprocessed)  # fmt: skip
            done += result.total
        return done

    return step


#: The registry's entry; ``workers.registry.periodic_job`` sets its interval from
#: ``INSTAGRAPH_STORY_EXPIRY_POLL_INTERVAL`` (5 s here is that setting's default).
JOB: PeriodicJob[Services] = PeriodicJob(name=NAME, interval=5.0, make_step=make_step)
