"""Scale-out on one machine as in production: two API processes on the same stack, and two fan-out workers in
one consumer group (the ``posts`` topic's partitions split between them).

Real processes (``instagraph serve`` twice, ``instagraph worker outbox-relay``, ``instagraph worker fanout``
twice; ``tests.support.processes``), the module's own settings (short consumer sessions, so a dead member
leaves the group within ~2 s). Then:

1. both fan-out workers own partitions of ``posts`` (none twice), and a first batch of posts reaches every
   follower's feed, read alternately through both API processes;
2. one fan-out worker is killed -9 (a crash: no leave-group, no commit); the other takes over every partition
   of the group (aiokafka's rebalance after the session timeout), and a second batch reaches every feed;
3. every post of both batches is in every follower's feed exactly once (the dedupe markers make the
   redelivery of what the dead worker handled but had not committed harmless).

The compose equivalent is ``docker compose up -d --scale api=2 --scale worker-fanout=2`` (README, "Feed
throughput, O(page) reads and scale-out").
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from schema.base import from_global_id
from tests.support.factories import graphql, make_user
from tests.support.fanout import follow, open_feeds, publish_post
from tests.support.processes import CliProcess

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from starlette.applications import Starlette

    from graph.store import GraphStore
    from runtime.settings import Settings
    from tests.support.factories import TestUser

pytestmark = pytest.mark.scale_out

FEED = "{ feed(first: 100) { edges { node { id } } } }"
SETTLE_S = 60.0  # bound for the pipeline to catch up (seconds; typically a few)
BATCH = 12
ASSIGNED = re.compile(r"Setting newly assigned partitions \{(?P<parts>[^}]*)\}")
POSTS_PARTITION = re.compile(r"topic='instagraph\.posts[^']*', partition=(\d+)")


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """Short consumer sessions: a killed worker's partitions move in ~2 s."""
    return settings.model_copy(update={"consumer_session_timeout_ms": 2_000, "consumer_heartbeat_interval_ms": 300})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Deployment:
    """The module's processes: two APIs (``api_urls``), the relay and two fan-out workers."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.ports = [_free_port(), _free_port()]
        self.apis = [
            CliProcess(settings, ["serve", "--host", "127.0.0.1", "--port", str(p)], logs / f"api-{p}.log")
            for p in self.ports
        ]
        self.relay = CliProcess(settings, ["worker", "outbox-relay"], logs / "relay.log")
        self.fanouts = [CliProcess(settings, ["worker", "fanout"], logs / f"fanout-{i}.log") for i in range(2)]

    @property
    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in (*self.apis, self.relay, *self.fanouts)))


def posts_partitions(worker: CliProcess) -> set[int] | None:
    """The ``posts`` partitions of ``worker``'s latest assignment (from aiokafka's log line); None before."""
    matches = list(ASSIGNED.finditer(worker.log()))
    if not matches:
        return None
    return {int(p) for p in POSTS_PARTITION.findall(matches[-1].group("parts"))}


async def _until(check: Callable[[], Awaitable[bool]], what: str, within: float = SETTLE_S) -> None:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within, f"not within {within:.0f} s: {what}"
        await asyncio.sleep(0.1)


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
async def deployment(
    settings: Settings, graph_store: GraphStore, app: Starlette, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    """Every process started and ready (both APIs answer ``/readyz``, both workers own partitions)."""
    running = Deployment(settings, tmp_path_factory.mktemp("scale_out_logs"))
    try:
        for url in running.api_urls:
            await _until(lambda u=url: _ready(u), f"{url}/readyz")

        async def split() -> bool:
            owned = [posts_partitions(w) for w in running.fanouts]
            return all(owned) and not (owned[0] & owned[1])  # type: ignore[operator]

        await _until(split, "both fan-out workers own partitions of posts")
        yield running
    finally:
        await running.stop()


async def _feed_ids(url: str, user: TestUser) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        body = await graphql(client, FEED, token=user.token)
    assert body.get("errors") is None, body
    return [from_global_id(e["node"]["id"], field="id")[1] for e in body["data"]["feed"]["edges"]]


async def _everyone_has(deployment: Deployment, fans: list[TestUser], posts: list[str]) -> bool:
    for i, fan in enumerate(fans):
        ids = await _feed_ids(deployment.api_urls[i % 2], fan)  # both API processes serve reads
        if not set(posts) <= set(ids):
            return False
    return True


async def test_two_fanout_workers_share_the_partitions_and_one_takes_over_after_a_crash(
    app: Starlette, api: httpx.AsyncClient, deployment: Deployment
) -> None:
    author = await make_user(api, "so_author")
    fans = [await make_user(api, f"so_fan{i}") for i in range(3)]
    for fan in fans:
        await follow(api, fan, author)
    await open_feeds(app, author, *fans)
    survivor, victim = deployment.fanouts
    before = (posts_partitions(survivor), posts_partitions(victim))
    assert before[0] and before[1] and not before[0] & before[1]

    first = [await publish_post(app, author, f"first batch {i}") for i in range(BATCH)]
    await _until(lambda: _everyone_has(deployment, fans, first), "the first batch reaches every feed")

    await victim.kill9()
    second = [await publish_post(app, author, f"second batch {i}") for i in range(BATCH)]

    async def took_over() -> bool:
        return posts_partitions(survivor) == before[0] | before[1]

    await _until(took_over, "the survivor owns every partition of posts")
    await _until(lambda: _everyone_has(deployment, fans, first + second), "the second batch reaches every feed")
    for i, fan in enumerate(fans):
        ids = await _feed_ids(deployment.api_urls[(i + 1) % 2], fan)
        assert len(ids) == len(set(ids))  # once each
        assert set(ids) == set(first + second)
