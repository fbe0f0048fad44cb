"""The embedded-stack supervisor: FalkorDB, two Redis roles (state, cache), Tansu (Kafka protocol) and SeaweedFS
S3 as child processes.

``instagraph dev`` and the test fixtures both use it::

    stack = EmbeddedStack(Path(".instagraph"), s3_access_key=..., s3_secret_key=..., s3_bucket=...)
    info = await stack.start()      # free ports, spawn, wait until each answers a real request
    ...
    await stack.stop()              # SIGTERM, 5 s grace, SIGKILL; idempotent

Data lives under ``data_dir``: ``graph/`` and ``redis/`` (append-only files), ``cache/`` (nothing persisted),
``s3/``, ``logs/<service>.log``.
Tansu keeps topics in memory, so a restarted broker has none; creating topics is ``runtime.bootstrap``'s job.
Children die with the supervisor, even on ``kill -9`` (see ``devstack.processes``).
Errors: ``devstack.errors``.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from devstack import binaries, probes
from devstack.errors import BinaryNotFound, PortInUse, ServiceFailed, StackError
from devstack.ports import PortAllocator, check_configured
from devstack.processes import ManagedProcess
from devstack.stackinfo import StackInfo

__all__ = ["BinaryNotFound", "EmbeddedStack", "PortInUse", "ServiceFailed", "StackError", "StackInfo"]

if TYPE_CHECKING:
    from collections.abc import Coroutine, Mapping

    from rich.console import Console


class EmbeddedStack:
    """Supervises the embedded services (``graph``, ``redis``, ``cache``, ``kafka``, ``s3``) of one ``data_dir``.

    ``ports`` may fix any service port (also SeaweedFS's internal ``s3.master``, ``s3.filer``, ... listed in
    ``devstack.binaries.WEED_PORTS``); the rest are free ports picked at ``start``. ``console`` shows a
    spinner line per service with its port and time to healthy. Spawn from the main thread (or the asyncio
    loop's thread when it is the main one): the children's parent-death signal is tied to that thread.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        ports: Mapping[str, int] | None = None,
        console: Console | None = None,
        s3_access_key: str,
        s3_secret_key: str,
        s3_bucket: str,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.console = console
        self.s3_access_key, self.s3_secret_key, self.s3_bucket = s3_access_key, s3_secret_key, s3_bucket
        self._configured = dict(ports or {})
        self.ports: dict[str, int] = {}
        self.startup_seconds: dict[str, float] = {}  # service -> s from spawn to healthy (last start)
        self._procs: dict[str, ManagedProcess] = {}

    # -- public API ---------------------------------------------------------------------------------------

    @property
    def info(self) -> StackInfo:
        """Endpoints, credentials and pids of the running stack; raises ``StackError`` before ``start``."""
        if not self.ports:
            raise StackError("the embedded stack has not been started")
        p = self.ports
        return StackInfo(
            graph_url=f"falkordb://127.0.0.1:{p['graph']}/instagraph",
            redis_url=f"redis://127.0.0.1:{p['redis']}/0",
            cache_redis_url=f"redis://127.0.0.1:{p['cache']}/0",
            kafka_bootstrap=f"127.0.0.1:{p['kafka']}",
            s3_endpoint=f"http://127.0.0.1:{p['s3']}",
            s3_access_key=self.s3_access_key,
            s3_secret_key=self.s3_secret_key,
            s3_bucket=self.s3_bucket,
            data_dir=str(self.data_dir),
            pids={name: proc.pid for name, proc in self._procs.items() if proc.pid is not None},
            ports={name: p[name] for name in binaries.SERVICES},
        )

    async def start(self) -> StackInfo:
        """Start every service and wait until each is healthy; returns the ``StackInfo``.

        Raises ``BinaryNotFound`` or ``PortInUse`` before anything is spawned, and ``ServiceFailed`` (with
        the service's log tail) when one exits or stays unhealthy past ``binaries.HEALTH_TIMEOUT``; the
        services already started are stopped again in that case.
        """
        if self._procs:
            return self.info
        self._build_procs()
        try:
            await self._launch(binaries.SERVICES)
        except BaseException:
            await self.stop()
            raise
        return self.info

    async def stop(self) -> None:
        """Stop every service (SIGTERM, up to 5 s, then SIGKILL), in parallel; idempotent."""
        await asyncio.gather(*(self.stop_service(name) for name in self._procs))

    async def stop_service(self, name: str) -> None:
        """Stop one service, keeping its port and data for ``start_service``; raises ``KeyError``."""
        await self._procs[name].stop()
        if name == "s3":
            binaries.remove_weed_sockets(self.ports)

    async def start_service(self, name: str) -> None:
        """(Re)start one stopped service on the same port and data dir and wait until it is healthy.

        Raises ``KeyError`` for an unknown name, ``ServiceFailed`` as ``start`` does.
        """
        proc = self._procs[name]
        if proc.returncode is None and proc.pid is not None:
            return
        await proc.stop()  # reap a crashed child
        await self._launch((name,))

    # -- internals ----------------------------------------------------------------------------------------

    def _allocate_ports(self) -> dict[str, int]:
        for name, port in self._configured.items():
            check_configured(name, port)
        alloc = PortAllocator(set(self._configured.values()))
        ports = dict(self._configured)
        for name in (*binaries.SERVICES, *binaries.WEED_PORTS):
            if name not in ports:
                ports[name] = alloc.free(with_offset=binaries.GRPC_OFFSET if name == "s3.admin" else None)
        return ports

    def _build_procs(self) -> None:
        redis_server, falkordb = binaries.falkordb_binaries()
        tansu, weed = binaries.tansu_binary(), binaries.weed_binary()
        ports = self._allocate_ports()
        logs = self.data_dir / "logs"
        dirs = {name: self.data_dir / name for name in ("graph", "redis", "cache", "s3")}
        for path in (logs, *dirs.values()):
            path.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INSTAGRAPH_", "AWS_"))}
        argv = {
            "graph": binaries.redis_argv(redis_server, ports["graph"], dirs["graph"], falkordb),
            "redis": binaries.redis_argv(redis_server, ports["redis"], dirs["redis"]),
            "cache": binaries.cache_argv(redis_server, ports["cache"], dirs["cache"]),
            "kafka": binaries.tansu_argv(tansu, ports["kafka"]),
            "s3": binaries.weed_argv(weed, ports, dirs["s3"]),
        }
        child_env = {
            "s3": binaries.weed_env(env, self.s3_access_key, self.s3_secret_key, self.s3_bucket),
        }
        self.ports = ports
        self._procs = {
            name: ManagedProcess(
                name,
                argv[name],
                log_path=logs / f"{name}.log",
                env=child_env.get(name, env),
                cwd=self.data_dir,
            )
            for name in binaries.SERVICES
        }

    def _probe(self, name: str) -> Coroutine[Any, Any, None]:
        port = self.ports[name]
        if name == "graph":
            return probes.probe_graph(port)
        if name in ("redis", "cache"):
            return probes.probe_redis(port)
        if name == "kafka":
            return probes.probe_kafka(f"127.0.0.1:{port}")
        endpoint = f"http://127.0.0.1:{port}"
        return probes.probe_s3(endpoint, self.s3_access_key, self.s3_secret_key, self.s3_bucket)

    async def _launch(self, names: tuple[str, ...]) -> None:
        for name in names:
            self._procs[name].start()
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        progress = Progress(*columns, console=self.console) if self.console is not None else None
        try:
            with progress if progress is not None else nullcontext():
                async with asyncio.TaskGroup() as group:  # the first failure cancels the other waits
                    for name in names:
                        group.create_task(self._wait_healthy(name, progress))
        except* StackError as failures:
            raise failures.exceptions[0] from None

    async def _wait_healthy(self, name: str, progress: Progress | None) -> None:
        proc, port = self._procs[name], self.ports[name]
        label = f"{name:<6} 127.0.0.1:{port}"
        task = progress.add_task(f"{label}  starting", total=1) if progress is not None else None
        started = time.monotonic()
        deadline = started + binaries.HEALTH_TIMEOUT[name]
        reason = "no answer"
        while True:
            if proc.returncode is not None:
                status = f"exited with status {proc.returncode} during startup"
                raise ServiceFailed(name, status, proc.log_tail())
            try:
                await self._probe(name)
                break
            except probes.NotReady as exc:
                reason = str(exc)
            if time.monotonic() > deadline:
                limit = binaries.HEALTH_TIMEOUT[name]
                raise ServiceFailed(name, f"not healthy after {limit:.0f} s ({reason})", proc.log_tail())
            await asyncio.sleep(0.1)
        self.startup_seconds[name] = elapsed = time.monotonic() - started
        if progress is not None and task is not None:
            progress.update(task, description=f"[green]✓[/] {label}  healthy in {elapsed:.2f} s")
            progress.update(task, completed=1)
