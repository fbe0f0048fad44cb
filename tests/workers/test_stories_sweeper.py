"""The ``stories-sweeper`` job on the real stack with this module's settings: a 0.5 s schedule poll, a 7 s
sweep interval and a 60 s story lifetime (``INSTAGRAPH_STORY_EXPIRY_POLL_INTERVAL``,
``INSTAGRAPH_STORY_SWEEP_INTERVAL``, ``INSTAGRAPH_STORY_TTL``). One step announces what the schedule holds and
writes view counts back on every tick, and sweeps the graph only once per sweep interval."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from runtime.settings import Settings
from tests.support.factories import graphql, make_user
from tests.support.posts import follow
from tests.support.stories import STORY, VIEW_STORY, outbox_events, publish_story, story_clock, story_state
from workers.periodic import run_periodic
from workers.registry import PERIODIC, WORKER_NAMES, consumer_worker, periodic_job
from workers.stories_sweeper import JOB

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from services.core.clock import Clock

__all__ = ["story_clock"]  # a fixture


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """This module's settings with the story timings of the module docstring."""
    return settings.model_copy(
        update={"story_ttl": 60, "story_sweep_interval": 7.0, "story_expiry_poll_interval": 0.5}
    )


NAMES = ("INSTAGRAPH_STORY_TTL", "INSTAGRAPH_STORY_SWEEP_INTERVAL", "INSTAGRAPH_STORY_EXPIRY_POLL_INTERVAL")


def test_the_story_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in NAMES:
        monkeypatch.delenv(variable, raising=False)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for variable, value in zip(NAMES, ("120", "30", "2.5"), strict=True):
        monkeypatch.setenv(variable, value)

    read = Settings(_env_file=None)  # type: ignore[call-arg]

    assert (defaults.story_ttl, defaults.story_sweep_interval, defaults.story_expiry_poll_interval) == (86_400, 300, 5)
    assert (read.story_ttl, read.story_sweep_interval, read.story_expiry_poll_interval) == (120, 30.0, 2.5)
    monkeypatch.setenv("INSTAGRAPH_STORY_TTL", "0")
    with pytest.raises(ValueError, match="story_ttl"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_registry_runs_the_stories_workers() -> None:
    assert {"stories-expiry", "stories-sweeper"} <= set(WORKER_NAMES) and "stories-sweeper" in PERIODIC
    assert consumer_worker("stories-expiry").topics == ("stories",)
    assert periodic_job("stories-sweeper") is JOB


async def test_a_story_lives_story_ttl_seconds(app: Starlette, api: httpx.AsyncClient) -> None:
    author = await make_user(api, f"ss_{secrets.token_hex(4)}")
    story = await publish_story(api, app, author)

    shown = (await graphql(api, STORY, {"id": story.gid}, token=author.token))["data"]["story"]

    lifetime = datetime.fromisoformat(shown["expiresAt"]) - datetime.fromisoformat(shown["createdAt"])
    assert lifetime.total_seconds() == 60


async def test_each_step_announces_and_writes_back_and_the_sweep_runs_once_per_interval(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, settings: Settings, story_clock: Clock
) -> None:
    services = app.state.services
    job = periodic_job("stories-sweeper", settings)
    assert (job.interval, JOB.interval) == (0.5, 5.0)
    author, fan = [await make_user(api, f"ss_{secrets.token_hex(4)}") for _ in range(2)]
    await follow(api, fan, author)
    first = await publish_story(api, app, author)
    body = await graphql(api, VIEW_STORY, {"id": first.gid}, token=fan.token)
    assert "errors" not in body, body
    story_clock.advance(61_000)
    step = job.make_step(services)

    # the first step: announces the due story, writes its view count back, and sweeps (it expires it)
    assert await step() >= 3
    state = await story_state(graph_store, first.id)
    assert (state["status"], state["announced"], state["view_count"]) == ("EXPIRED", True, 1)

    # a story due right after: the next steps announce it but do not sweep again before 7 s
    second = await publish_story(api, app, author)
    story_clock.advance(61_000)
    assert await step() >= 1
    assert (await story_state(graph_store, second.id))["status"] == "ACTIVE"  # announced, left to the consumer
    assert len(await outbox_events(graph_store, second.id, "story.expired")) == 1

    # run as the worker does: the interval comes from the settings (0.5 s), not the job's default
    stop = asyncio.Event()
    runner = asyncio.create_task(run_periodic(job, services, stop))
    await asyncio.sleep(1.2)
    stop.set()
    await asyncio.wait_for(runner, timeout=5)
    assert (await story_state(graph_store, second.id))["status"] == "EXPIRED"  # its own first step swept
