"""A seeded embedded stack for the benchmarks: the real services, the real datasets, the API and the workers.

    async with seeded_stack(data_dir, port=18080) as run:
        run.base_url, run.settings, run.api, run.workers, await run.tokens(["fb_107"])

Starts the embedded stack (``devstack.supervisor.EmbeddedStack``) in ``data_dir/stack``, bootstraps it
(``runtime.bootstrap.prepare``), starts every worker, seeds the datasets once per data dir (``seed.run``,
i.e. ``instagraph seed``; a marker file skips it the next time), waits until the outbox is drained and the
workers are idle (every seeded post fanned out), then starts the API (``instagraph serve``, ``env=prod``, the
production rate-limit budgets raised by ``rate_limits``) and waits for its ``/readyz``. Everything is stopped
on exit. Children log to ``data_dir/logs``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from rich.console import Console

from devstack.processes import ManagedProcess
from devstack.supervisor import EmbeddedStack
from graph.statements.outbox import OUTBOX_BACKLOG
from runtime.bootstrap import prepare
from runtime.resources import open_resources
from runtime.settings import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

ROOT = Path(__file__).resolve().parent.parent
SEEDED_MARK = ".bench_seeded"
LOGIN = "mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }"
console = Console()


def child(name: str, args: list[str], env: dict[str, str], logs: Path) -> ManagedProcess:
    """``python -m server.cli <args>`` as a managed child logging to ``logs/<name>.log``."""
    return ManagedProcess(
        name, [sys.executable, "-m", "server.cli", *args], log_path=logs / f"{name}.log", env=env, cwd=ROOT
    )


def peak_rss_mib(pid: int | None) -> float | None:
    """``VmHWM`` (peak resident set) of ``pid`` in MiB, from ``/proc/<pid>/status``."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def snap_neighbours(path: Path, node: int) -> list[int]:
    """SNAP ego-Facebook neighbours of ``node`` (each undirected edge is two follows), ascending."""
    found: set[int] = set()
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            a, b = (int(x) for x in line.split())
            if a == node:
                found.add(b)
            elif b == node:
                found.add(a)
    return sorted(found)


def cpu_ticks(pids: list[int | None]) -> int:
    """User + system CPU ticks used so far by ``pids`` (``/proc/<pid>/stat`` fields 14 and 15)."""
    total = 0
    for pid in pids:
        if pid is None:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


async def wait_quiet(settings: Settings, timeout_s: float = 600.0) -> None:
    """Wait until the outbox is drained (the relay published everything) and stays so for 3 s."""
    async with open_resources(settings) as resources:
        deadline, quiet_since = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            backlog = (await resources.graph.read(OUTBOX_BACKLOG))[0]["backlog"]
            if backlog == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 3.0:
                    return
            else:
                quiet_since = None
            await asyncio.sleep(0.5)
    raise TimeoutError("the outbox did not drain")


async def wait_idle(pids: list[int | None], timeout_s: float = 900.0) -> float:
    """Wait until ``pids`` (the workers) used under ``max(5, 2 per worker)`` CPU ticks (~20 ms per worker) in
    each of two 2-s windows, i.e. they finished the seed's events; returns the seconds waited. (An idle
    consumer still polls Tansu about ten times a second, some 0.5 % of a core, so the bound grows with the
    number of workers.)"""
    started = time.monotonic()
    quiet = 0
    before = cpu_ticks(pids)
    bound = max(5, 2 * len(pids))
    while time.monotonic() - started < timeout_s:
        await asyncio.sleep(2.0)
        now = cpu_ticks(pids)
        quiet = quiet + 1 if now - before < bound else 0
        before = now
        if quiet >= 2:
            return time.monotonic() - started
    raise TimeoutError("the workers did not become idle")


@dataclass
class SeededStack:
    """A running seeded stack: ``base_url`` of the API, its ``settings``, the ``api`` and ``workers``
    processes, and ``seed_seconds`` (None when the data dir was seeded before)."""

    base_url: str
    settings: Settings
    api: ManagedProcess
    workers: dict[str, ManagedProcess] = field(default_factory=dict)
    seed_seconds: float | None = None

    async def tokens(self, usernames: list[str]) -> dict[str, str]:
        """Access tokens of seeded ``usernames`` (the seed password; one login per client IP)."""
        found: dict[str, str] = {}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            for name in usernames:
                ip = "10." + ".".join(str(b) for b in secrets.token_bytes(3))
                resp = await client.post(
                    "/graphql",
                    json={"query": LOGIN, "variables": {"l": name, "p": self.settings.seed_password}},
                    headers={"X-Forwarded-For": ip},
                )
                body = resp.json()
                if body.get("errors"):
                    raise RuntimeError(f"login {name}: {body['errors']}")
                found[name] = body["data"]["login"]["accessToken"]
        return found


def _jwt_secret(data_dir: Path) -> str:
    """A random JWT secret for the bench stack in ``data_dir`` (``env=prod`` refuses the public default),
    created once and kept in ``data_dir/jwt_secret``."""
    path = data_dir / "jwt_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


async def _seed_once(settings: Settings, data_dir: Path, reseed: bool) -> float | None:
    from seed.run import run_seed

    mark = data_dir / SEEDED_MARK
    if mark.exists() and not reseed:
        return None
    started = time.perf_counter()
    await run_seed(settings, console)
    mark.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return time.perf_counter() - started


async def wait_ready(base_url: str, api: ManagedProcess, timeout_s: float = 120.0) -> None:
    """Wait until ``base_url``/readyz answers 200 (raises ``RuntimeError`` when ``api`` exits, ``TimeoutError``
    after ``timeout_s`` s)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as probe:
        while time.monotonic() < deadline:
            if api.returncode is not None:
                raise RuntimeError(f"the API exited with {api.returncode}; see its log")
            try:
                if (await probe.get(f"{base_url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{base_url}/readyz did not answer 200")


@asynccontextmanager
async def seeded_stack(
    data_dir: Path,
    *,
    port: int = 18080,
    reseed: bool = False,
    workers: bool = True,
    env: dict[str, str] | None = None,
) -> AsyncIterator[SeededStack]:
    """The seeded stack in ``data_dir`` (absolute; see the module docstring). ``workers``: keep the workers running
    while the benchmark runs (they are started for the seed either way); ``env``: extra ``INSTAGRAPH_*``
    variables for the API and the workers (e.g. ``INSTAGRAPH_RATE_LIMITS``)."""
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    base = Settings()
    stack = EmbeddedStack(
        data_dir / "stack", console=console,
        s3_access_key=base.s3_access_key, s3_secret_key=base.s3_secret_key, s3_bucket=base.s3_bucket,
    )  # fmt: skip
    running: list[ManagedProcess] = []
    try:
        info = await stack.start()
        child_env = {
            **os.environ, **info.as_env(), "INSTAGRAPH_ENV": "prod", "INSTAGRAPH_DATA_DIR": str(data_dir),
            # prod refuses the public default secret; one random secret per data dir, kept for its tokens
            "INSTAGRAPH_JWT_SECRET": _jwt_secret(data_dir), **(env or {}),
        }  # fmt: skip
        os.environ.update(child_env)
        settings = Settings()
        await prepare(settings)
        from workers.registry import WORKER_NAMES

        procs = {n: child(f"worker-{n}", ["worker", n], child_env, logs) for n in WORKER_NAMES}
        for proc in procs.values():
            proc.start()
        running += procs.values()
        seed_s = await _seed_once(settings, data_dir, reseed)
        console.print(f"seed: {'skipped (seeded before)' if seed_s is None else f'{seed_s:.1f} s'}")
        await wait_quiet(settings)
        await wait_idle([p.pid for p in procs.values()])
        if not workers:
            await asyncio.gather(*(p.stop() for p in procs.values()))
            procs = {}
        api = child("api", ["serve", "--host", "127.0.0.1", "--port", str(port)], child_env, logs)
        api.start()
        running.append(api)
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, api)
        yield SeededStack(base_url, settings, api, procs, seed_s)
    finally:
        await asyncio.gather(*(p.stop() for p in running))
        await stack.stop()
