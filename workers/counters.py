"""The ``counters`` periodic job: writes changed like counters back to the graph's ``Post.like_count``.

Every ``WRITE_BACK_INTERVAL_S`` seconds it pops the posts whose Redis counter changed (``like_dirty``) and
copies their counters into the graph (``services.like_counts.LikeCountService.write_back``), so the graph copy,
which ``Post.likeCount`` serves when Redis is down, trails Redis by at most one interval. Run it with
``instagraph worker counters`` (``instagraph dev`` runs it with the other workers). Several replicas are
safe: each dirty post id is popped by one of them.

Interval source: ``seeds/instagram-system-design.txt`` §9, "write-back to Postgres posts.like_count every
30 seconds async".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.periodic import PeriodicJob

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.core.container import Services

WRITE_BACK_INTERVAL_S = 30.0


def make_step(services: Services) -> Callable[[], Awaitable[int]]:
    """The job's step: ``await step()`` writes back one round of changed counters; returns how many posts."""
    return services.engagement.counters.write_back


JOB: PeriodicJob[Services] = PeriodicJob(name="counters", interval=WRITE_BACK_INTERVAL_S, make_step=make_step)
