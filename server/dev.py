"""``instagraph dev``: the embedded stack, bootstrap, the API and every worker, until Ctrl-C.

Order: refuse a second dev stack on the same data dir -> start the stack -> write ``services.json`` ->
``server.bootstrap.prepare`` (topics, bucket, migrations) -> ``instagraph serve`` and one ``instagraph worker
NAME`` per ``workers.registry.WORKER_NAMES`` as children -> wait for ``/readyz`` -> wait for SIGINT/SIGTERM ->
stop the children, then the stack, and remove ``services.json``. The API's output goes to the terminal,
each worker's to ``<data_dir>/logs/worker-<name>.log``.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

import httpx

from server.config import running_stack
from server.ports import check_configured
from server.processes import ManagedProcess
from server.settings import Settings
from server.stack_errors import ServiceFailed, StackError
from server.stackinfo import SERVICES_FILE
from server.supervisor import EmbeddedStack

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

READY_TIMEOUT = 60.0  # s for the API's /readyz to answer 200
WATCH_INTERVAL = 0.5  # s between checks that the children still run


def worker_names() -> tuple[str, ...]:
    """``workers.registry.WORKER_NAMES``, or ``()`` while that registry does not exist."""
    try:
        registry = importlib.import_module("workers.registry")
    except ModuleNotFoundError as exc:
        if exc.name != "workers.registry":
            raise
        return ()
    return tuple(getattr(registry, "WORKER_NAMES", ()))


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


async def _watch(
    api: ManagedProcess, workers: list[ManagedProcess], stop: asyncio.Event, console: Console
) -> None:
    reported: set[str] = set()
    while not stop.is_set():
        if api.returncode is not None:
            console.print(f"[red]the API exited with status {api.returncode}; stopping[/]")
            stop.set()
        for worker in workers:
            if worker.returncode is not None and worker.name not in reported:
                reported.add(worker.name)
                console.print(f"[yellow]{worker.name} exited ({worker.returncode}); see {worker.log_path}[/]")
        try:
            await asyncio.wait_for(stop.wait(), WATCH_INTERVAL)
        except TimeoutError:
            pass


async def run_dev(data_dir: Path, port: int, console: Console) -> int:
    """Run everything on the embedded stack in ``data_dir`` (absolute) with the API on ``port``.

    Returns the exit status (0 after Ctrl-C or SIGTERM, 1 when the API died); raises ``StackError`` when
    the stack or the API cannot start (``PortInUse`` for a taken API port, before anything is started).
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
    try:
        info = await stack.start()
        info.write(services_file)
        os.environ.update(info.as_env())
        settings = Settings()
        bootstrap = importlib.import_module("server.bootstrap")
        with console.status("bootstrap: topics, bucket, migrations"):
            await bootstrap.prepare(settings)
        api = _child("api", ["serve", "--host", "127.0.0.1", "--port", str(port)], None)
        workers = [
            _child(f"worker-{n}", ["worker", n], data_dir / "logs" / f"worker-{n}.log")
            for n in worker_names()
        ]
        children = [api, *workers]
        for child in children:
            child.start()
        with console.status("waiting for the API's /readyz"):
            took = await _wait_ready(api, f"http://127.0.0.1:{port}/readyz")
        console.print(
            f"[green]✓[/] API ready in {took:.1f} s, {len(workers)} workers; logs in {data_dir / 'logs'}"
        )
        console.print(f"[bold]GraphiQL:[/] http://127.0.0.1:{port}/graphql   (Ctrl-C stops everything)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await _watch(api, workers, stop, console)
        return 1 if api.returncode is not None else 0
    finally:
        with console.status("stopping"):
            await asyncio.gather(*(child.stop() for child in children))
            await stack.stop()
        services_file.unlink(missing_ok=True)
        console.print("stopped")
