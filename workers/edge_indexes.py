"""The ``edge-indexes`` periodic job: builds the per-node edge indexes that reads found missing.

A followers, following, likers, comments or profile-grid read whose Redis index (``cache.edge_index``) is
missing (new, expired after its TTL, evicted) is served from the graph's keyset statement and asks for the
index (``EdgeIndex.want``); every ``INTERVAL_S`` this job pops up to ``BATCH`` of those requests and builds
each index from every edge of its node in the graph (``services.edge_pages.EdgePages.rebuild_wanted``), so an
O(edges) read never happens on a request, and the node's next pages cost O(page). Several replicas are safe:
each request is popped by one of them; building an index twice is harmless (``ZADD`` merges).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.periodic import PeriodicJob

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.core.container import Services

INTERVAL_S = 1.0
BATCH = 100


def make_step(services: Services) -> Callable[[], Awaitable[int]]:
    """The job's step: ``await step()`` builds up to ``BATCH`` wanted indexes; returns how many."""
    async def step() -> int:
        return await services.edge_pages.rebuild_wanted(BATCH)

    return step


JOB: PeriodicJob[Services] = PeriodicJob(name="edge-indexes", interval=INTERVAL_S, make_step=make_step)
