"""Periodic jobs (like-count write-back, the upload sweeper): run one step every ``interval`` seconds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import structlog

from graph.errors import GraphError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

Ctx = TypeVar("Ctx")
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PeriodicJob(Generic[Ctx]):
    """``make_step(ctx)`` returns the coroutine function run every ``interval`` seconds; it returns a count."""

    name: str
    interval: float
    make_step: Callable[[Ctx], Callable[[], Awaitable[int]]]


async def run_periodic(job: PeriodicJob[Ctx], ctx: Ctx, stop: asyncio.Event) -> None:
    """Run ``job`` until ``stop`` is set. A step that fails on a store outage is logged and retried next tick."""
    step = job.make_step(ctx)
    log.info("periodic.started", job=job.name, interval_s=job.interval)
    while not stop.is_set():
        try:
            done = await step()
            if done:
                log.info("periodic.step", job=job.name, count=done)
        except (GraphError, ConnectionError, OSError) as exc:
            log.warning("periodic.step_failed", job=job.name, error=repr(exc))
        try:
            await asyncio.wait_for(stop.wait(), timeout=job.interval)
        except TimeoutError:
            pass
