"""``instagraph dev``: the embedded stack, bootstrap, the API and every worker, until Ctrl-C or SIGTERM.

Order: refuse a second dev stack on the same data dir -> start the stack -> write ``services.json`` ->
``runtime.bootstrap.prepare`` (topics, bucket, migrations) -> with ``--seed``, ``seed.run.run_seed`` ->
``instagraph serve`` as a child -> wait for its ``/readyz`` -> one ``instagraph worker NAME`` per
``workers.registry.WORKER_NAMES`` as children -> print the GraphiQL URL (after a seed, also a sample feed
query) -> wait for SIGINT/SIGTERM -> stop the children, then the stack, and remove ``services.json``. A
worker that dies meanwhile is started again, as compose's ``restart: unless-stopped`` does in production,
after a backoff (``RESTART_BACKOFF_S`` doubling up to ``RESTART_BACKOFF_MAX_S``, back to the first delay once
a worker ran ``STABLE_AFTER_S``), with a line on the console each time. The API dying stops everything. A
signal during start-up (or the seed) aborts it and runs the same clean-up. The API's output goes to the
terminal, each worker's to ``<data_dir>/logs/worker-<name>.log``.

The workers start once the API answers: six Python processes importing side by side on a 2-core machine
took the API 6–25 s to be ready, the API alone 3–4 s (tests/server/test_dev_command.py, measured). The seed
runs before the API and the workers: its graph import is a bulk load meant to run offline
(``seed/snap_graph.py``), and the ``post.published`` events it leaves in the outbox reach the fan-out
worker as soon as the relay starts.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shlex
import signal
import sys
import time
from typing import TYPE_CHECKING

import httpx

from devstack.config import running_stack
from devstack.errors import ServiceFailed, StackError
from devstack.ports import check_configured
from devstack.processes import ManagedProcess
from devstack.stackinfo import SERVICES_FILE
from devstack.supervisor import EmbeddedStack
from runtime.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

READY_TIMEOUT = 60.0  # s for the API's /readyz to answer 200
WATCH_INTERVAL = 0.5  # s between checks that the children still run
RESTART_BACKOFF_S = 1.0  # s before a dead worker's first restart
RESTART_BACKOFF_MAX_S = 30.0  # s: the delay doubles per death up to this
STABLE_AFTER_S = 60.0  # s: a worker that ran this long before dying is restarted after the first delay again
FEED_QUERY = "{ feed(first: 5) { edges { node { caption author { username } } } } }"


def worker_names() -> tuple[str, ...]:
    """``workers.registry.WORKER_NAMES`` (imported on use: the registry pulls in every service module)."""
    return tuple(importlib.import_module("workers.registry").WORKER_NAMES)


def _child(name: str, args: list[str], log: Path | None) -> ManagedProcess:
    return ManagedProcess(
        name, [sys.executable, "-m", "server.cli", *args], log_path=log, env=dict(os.environ)
    )


async def _wait_ready(api: ManagedProcess, url: str) -> float:
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() - started < READY_TIMEOUT:
            if api.returncode is not None:
                raise ServiceFailed("api", f"exited with status {api.returncode} during startup")
            try:
                if (await client.get(url)).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise ServiceFailed("api", f"{url} did not answer 200 within {READY_TIMEOUT:.0f} s")


class _Restarts:
    """When each worker started and, after it died, when it is due again (monotonic seconds)."""

    def __init__(self, workers: list[ManagedProcess]) -> None:
        now = time.monotonic()
        self.started = {w.name: now for w in workers}
        self.delay = {w.name: RESTART_BACKOFF_S for w in workers}
        self.due: dict[str, float] = {}

    def died(self, worker: ManagedProcess, console: Console) -> None:
        now = time.monotonic()
        if now - self.started[worker.name] >= STABLE_AFTER_S:
            self.delay[worker.name] = RESTART_BACKOFF_S
        delay = self.delay[worker.name]
        self.delay[worker.name] = min(delay * 2, RESTART_BACKOFF_MAX_S)
        self.due[worker.name] = now + delay
        console.print(
            f"[yellow]{worker.name} exited ({worker.returncode}); restarting in {delay:.0f} s; "
            f"see {worker.log_path}[/]"
        )

    async def restart_due(self, worker: ManagedProcess, console: Console) -> None:
        if time.monotonic() < self.due.get(worker.name, float("inf")):
            return
        del self.due[worker.name]
        await worker.stop(grace=0)  # reap it and any straggler of its process group
        pid = worker.start()
        self.started[worker.name] = time.monotonic()
        console.print(f"[green]↻[/] {worker.name} restarted (pid {pid})")


async def _watch(
    api: ManagedProcess, workers: list[ManagedProcess], stop: asyncio.Event, console: Console
) -> None:
    restarts = _Restarts(workers)
    while not stop.is_set():
        if api.returncode is not None:
            console.print(f"[red]the API exited with status {api.returncode}; stopping[/]")
            stop.set()
            break
        for worker in workers:
            if worker.name in restarts.due:
                await restarts.restart_due(worker, console)
            elif worker.returncode is not None:
                restarts.died(worker, console)
        try:
            await asyncio.wait_for(stop.wait(), WATCH_INTERVAL)
        except TimeoutError:
            pass


def sample_feed_query(port: int, password: str) -> str:
    """Shell lines that log in as the seeded ``fb_107`` and print the first 5 posts of its home feed."""
    url = f"http://127.0.0.1:{port}/graphql"
    login = json.dumps({
        "query": "mutation($login: String!, $password: String!) "
                 "{ login(input: {login: $login, password: $password}) { accessToken } }",
        "variables": {"login": "fb_107", "password": password},
    })  # fmt: skip
    feed = json.dumps({"query": FEED_QUERY})
    return (
        f"TOKEN=$(curl -s {url} -H 'content-type: application/json' -d {shlex.quote(login)} "
        """| sed -E 's/.*"accessToken":"([^"]+)".*/\\1/')\n"""
        f"curl -s {url} -H 'content-type: application/json' -H \"authorization: Bearer $TOKEN\" "
        f"-d {shlex.quote(feed)}"
    )


async def _seed(settings: Settings, console: Console) -> None:
    seeding = importlib.import_module("seed.run")
    started = time.monotonic()
    await seeding.run_seed(settings, console)
    console.print(f"[green]✓[/] seeded in {time.monotonic() - started:.1f} s")


async def run_dev(data_dir: Path, port: int, console: Console, *, seed: bool = False) -> int:
    """Run everything on the embedded stack in ``data_dir`` (absolute) with the API on ``port``.

    ``seed``: load the datasets (``seed.run.run_seed``) before the API starts. Returns the exit status
    (0 after Ctrl-C or SIGTERM, also during start-up; 1 when the API died); raises ``StackError`` when the
    stack or the API cannot start (``PortInUse`` for a taken API port, before anything is started), and
    what ``run_seed`` raises (``OSError`` for a missing dataset, ``GraphError``) after cleaning up.
    """
    if (info := running_stack(data_dir)) is not None:
        raise StackError(
            f"an instagraph dev stack already runs on {data_dir} (pids {sorted(info.pids.values())})"
        )
    check_configured("api", port)
    os.environ.update(INSTAGRAPH_ENV="dev", INSTAGRAPH_DATA_DIR=str(data_dir))
    base = Settings()
    stack = EmbeddedStack(
        data_dir, console=console,
        s3_access_key=base.s3_access_key, s3_secret_key=base.s3_secret_key, s3_bucket=base.s3_bucket,
    )  # fmt: skip
    children: list[ManagedProcess] = []
    services_file = data_dir / SERVICES_FILE
    stop, main = asyncio.Event(), asyncio.current_task()
    assert main is not None  # a coroutine run by asyncio.run runs in a task
    serving = False

    def on_signal() -> None:  # during start-up: cancel it (once), so that `finally` cleans up
        if not serving and not stop.is_set():
            main.cancel()
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        info = await stack.start()
        info.write(services_file)
        os.environ.update(info.as_env())
        settings = Settings()
        bootstrap = importlib.import_module("runtime.bootstrap")
        with console.status("bootstrap: topics, bucket, migrations"):
            await bootstrap.prepare(settings)
        if seed:
            await _seed(settings, console)
        api = _child("api", ["serve", "--host", "127.0.0.1", "--port", str(port)], None)
        workers = [
            _child(f"worker-{n}", ["worker", n], data_dir / "logs" / f"worker-{n}.log")
            for n in worker_names()
        ]
        children = [api, *workers]
        api.start()
        with console.status("waiting for the API's /readyz"):
            took = await _wait_ready(api, f"http://127.0.0.1:{port}/readyz")
        for worker in workers:  # after the API: importing side by side, they tripled its time to ready
            worker.start()
        console.print(
            f"[green]✓[/] API ready in {took:.1f} s, {len(workers)} workers; logs in {data_dir / 'logs'}"
        )
        console.print(f"[bold]GraphiQL:[/] http://127.0.0.1:{port}/graphql   (Ctrl-C stops everything)")
        if seed:
            console.print("Sample feed query (fb_107, the seed password):")
            console.print(sample_feed_query(port, settings.seed_password), markup=False, highlight=False,
                          soft_wrap=True)  # fmt: skip
        serving = True
        await _watch(api, workers, stop, console)
        return 1 if api.returncode is not None else 0
    except asyncio.CancelledError:
        if not stop.is_set():  # not ours
            raise
        main.uncancel()
        console.print("[yellow]interrupted during start-up[/]")
        return 0
    finally:
        with console.status("stopping"):
            await asyncio.gather(*(child.stop() for child in children))
            await stack.stop()
        services_file.unlink(missing_ok=True)
        console.print("stopped")
