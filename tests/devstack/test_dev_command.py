"""The README's first command, end to end: ``instagraph dev`` as a real process tree.

``python -m server.cli dev`` runs in its own session on a fresh data dir. Once ``/readyz`` reports the four
backends healthy: ``{ __typename }`` answers, GraphiQL is served, the URL was printed, a second command
(``migrate``) finds the stack through ``services.json``, and every worker of ``workers.registry.WORKER_NAMES``
runs as a child; a worker killed with -9 is started again, with a line on the console. Then SIGTERM: the
whole tree (collected beforehand) is gone within ``STOP_WITHIN`` s and ``services.json`` is removed. The
same holds for SIGTERM in the middle of start-up (the API spawned, not ready yet) and for kill -9 of
``dev`` (its children die by PDEATHSIG; ``services.json`` stays, ignored).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from devstack.config import running_stack
from devstack.processes import pid_alive
from devstack.stackinfo import SERVICES_FILE, StackInfo
from tests.support.paths import PROJECT_ROOT
from workers.registry import WORKER_NAMES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

READY_WITHIN = 60.0  # s from spawn to /readyz 200 (measured 2.7–6.6 s on a busy 2-core box)
STOP_WITHIN = 15.0  # s from SIGTERM to no process of the tree left
RESTART_WITHIN = 30.0  # s from a worker's kill -9 to its successor (dev waits 1 s; importing takes a few)
BACKENDS = ["cache", "graph", "kafka", "redis", "s3"]  # what /readyz reports (the cache role does not gate it)
SERVICES = ["cache", "graph", "kafka", "redis", "s3"]  # the embedded stack's processes
CHILDREN = len(SERVICES) + 1 + len(WORKER_NAMES)  # the stack, the API, the workers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:  # the task or process just exited
            continue
    return found


def _descendants(root: int) -> dict[int, list[str]]:
    """Every live descendant of ``root``: pid -> argv (from ``/proc``)."""
    tree: dict[int, list[str]] = {}
    todo = _children_of(root)
    while todo:
        pid = todo.pop()
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        tree[pid] = [a.decode(errors="replace") for a in argv if a]
        todo += _children_of(pid)
    return tree


def _worker_pids(root: int, name: str) -> set[int]:
    """Live direct children of ``root`` running ``instagraph worker <name>``."""
    tree = _descendants(root)
    return {pid for pid in _children_of(root) if tree.get(pid, [])[-2:] == ["worker", name] and pid_alive(pid)}


def _clean_env() -> dict[str, str]:
    """This environment without the test session's ``INSTAGRAPH_*`` (they would outrank services.json)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("INSTAGRAPH_", "AWS_"))}


def _wait_gone(pids: list[int], since: float) -> list[int]:
    while (alive := [p for p in pids if pid_alive(p)]) and time.monotonic() < since + STOP_WITHIN:
        time.sleep(0.1)
    return alive


def _remove_weed_sockets(tree: dict[int, list[str]]) -> None:
    """Delete the ``/tmp/seaweedfs-*-<port>.sock`` left by a ``weed`` killed with its supervisor."""
    for argv in tree.values():
        if argv[1:2] == ["mini"]:
            for port in re.findall(r"^-[\w.]+\.port(?:\.grpc)?=([1-9]\d*)$", "\n".join(argv), re.M):
                for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                    sock.unlink(missing_ok=True)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, out: Path) -> httpx.Response:
    deadline = time.monotonic() + READY_WITHIN
    last = "no answer"
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"dev exited with {proc.returncode}:\n{out.read_text()}"
            try:
                response = client.get(url)
                if response.status_code == 200:
                    return response
                last = f"{response.status_code} {response.text}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.25)
    pytest.fail(f"/readyz not 200 within {READY_WITHIN:.0f} s ({last}); dev output:\n{out.read_text()}")


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path, Path]]:
    """A starting ``instagraph dev``: (process, API port, data dir, stdout file); stopped afterwards."""
    port, data_dir, out = _free_port(), tmp_path / "data", tmp_path / "dev.out"
    with out.open("wb") as stdout, (tmp_path / "dev.err").open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=PROJECT_ROOT, env=_clean_env(), stdin=subprocess.DEVNULL,
            stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
    try:
        yield proc, port, data_dir, out
    finally:
        if proc.poll() is None:  # the test failed before its SIGTERM: stop it the same way, then for good
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_WITHIN)
            except subprocess.TimeoutExpired:
                proc.kill()  # its children die with it (PDEATHSIG)
                proc.wait()


def test_dev_serves_graphql_runs_every_worker_and_stops_clean_on_sigterm(
    dev: tuple[subprocess.Popen[bytes], int, Path, Path],
) -> None:
    proc, port, data_dir, out = dev
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()

    ready = _wait_ready(proc, f"{base}/readyz", out)
    time_to_ready = time.monotonic() - started

    assert ready.json()["status"] == "ready"
    assert sorted(ready.json()["backends"]) == BACKENDS
    assert all(b["ok"] is True for b in ready.json()["backends"].values()), ready.json()
    with httpx.Client(base_url=base, timeout=10.0) as client:
        answer = client.post("/graphql", json={"query": "{ __typename }"})
        assert answer.status_code == 200
        assert answer.json() == {"data": {"__typename": "Query"}}
        ide = client.get("/graphql", headers={"Accept": "text/html"})
        assert ide.status_code == 200
        assert ide.headers["content-type"].startswith("text/html")
        assert "graphiql" in ide.text.lower()
    deadline = time.monotonic() + 10  # the URL is printed right after dev's own /readyz check
    while f"GraphiQL: {base}/graphql" not in out.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"GraphiQL: {base}/graphql" in out.read_text()

    info = StackInfo.read(data_dir / SERVICES_FILE)
    assert sorted(info.pids) == SERVICES
    migrate = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate", "--data-dir", str(data_dir)],
        cwd=PROJECT_ROOT, env=_clean_env(), capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr.decode()
    assert migrate.stdout.decode().splitlines() == [
        "graph schema is up to date",
        "topics created: 0; bucket created: False",
        "search indexes prepared (tantivy)",
    ]

    tree = _descendants(proc.pid)
    direct = set(_children_of(proc.pid))
    assert set(info.pids.values()) <= direct
    workers = sorted(argv[-1] for pid, argv in tree.items() if pid in direct and argv[-2:-1] == ["worker"])
    assert workers == sorted(WORKER_NAMES)
    assert [pid for pid in tree if not pid_alive(pid)] == [], "a child died while the stack ran"
    logs = {name: (data_dir / "logs" / f"worker-{name}.log").read_text() for name in WORKER_NAMES}
    assert {name: text for name, text in logs.items() if "Traceback" in text} == {}

    # a worker that dies is restarted (as compose's `restart: unless-stopped` does)
    (fanout,) = [pid for pid, argv in tree.items() if pid in direct and argv[-2:] == ["worker", "fanout"]]
    os.kill(fanout, signal.SIGKILL)
    deadline = time.monotonic() + RESTART_WITHIN
    while time.monotonic() < deadline and not _worker_pids(proc.pid, "fanout") - {fanout}:
        time.sleep(0.2)
    assert _worker_pids(proc.pid, "fanout") - {fanout}, out.read_text()
    while "worker-fanout restarted" not in out.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "worker-fanout exited (-9); restarting in 1 s" in out.read_text()
    assert "worker-fanout restarted (pid" in out.read_text()
    tree = _descendants(proc.pid)

    os.kill(proc.pid, signal.SIGTERM)
    stopping = time.monotonic()
    assert proc.wait(timeout=STOP_WITHIN) == 0
    alive = _wait_gone(list(tree), stopping)
    time_to_stop = time.monotonic() - stopping

    assert {p: tree[p] for p in alive} == {}
    assert sorted(argv[-1] for argv in tree.values() if argv[-2:-1] == ["worker"]) == sorted(WORKER_NAMES)
    assert not (data_dir / SERVICES_FILE).exists()
    print(f"\ndev: ready in {time_to_ready:.1f} s, stopped in {time_to_stop:.1f} s")


def _wait_tree(
    proc: subprocess.Popen[bytes], out: Path, done: Callable[[dict[int, list[str]]], bool]
) -> dict[int, list[str]]:
    deadline = time.monotonic() + READY_WITHIN
    while not done(tree := _descendants(proc.pid)) and time.monotonic() < deadline:
        assert proc.poll() is None, f"dev exited with {proc.returncode}:\n{out.read_text()}"
        time.sleep(0.05)
    assert done(tree), tree
    return tree


def test_dev_sigterm_during_start_up_stops_everything(
    dev: tuple[subprocess.Popen[bytes], int, Path, Path],
) -> None:
    proc, port, data_dir, out = dev
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    tree = _wait_tree(proc, out, lambda t: any(argv[-5:] == serve for argv in t.values()))
    assert len(tree) == len(SERVICES) + 1  # the stack and the API (importing); no worker yet

    os.kill(proc.pid, signal.SIGTERM)
    stopping = time.monotonic()
    assert proc.wait(timeout=STOP_WITHIN) == 0

    assert {p: tree[p] for p in _wait_gone(list(tree), stopping)} == {}
    assert "interrupted during start-up" in out.read_text()
    assert "GraphiQL" not in out.read_text()
    assert not (data_dir / SERVICES_FILE).exists()


def test_dev_killed_with_sigkill_leaves_no_process(
    dev: tuple[subprocess.Popen[bytes], int, Path, Path],
) -> None:
    proc, _, data_dir, out = dev
    tree = _wait_tree(proc, out, lambda t: len(t) == CHILDREN)  # the stack, the API and every worker
    assert running_stack(data_dir) is not None

    os.kill(proc.pid, signal.SIGKILL)
    stopping = time.monotonic()
    try:
        assert proc.wait(timeout=STOP_WITHIN) == -signal.SIGKILL
        alive = _wait_gone(list(tree), stopping)
    finally:
        _remove_weed_sockets(tree)

    assert {p: tree[p] for p in alive} == {}
    assert (data_dir / SERVICES_FILE).exists()
    assert running_stack(data_dir) is None  # the stale file points nowhere: other commands ignore it
