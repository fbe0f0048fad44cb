"""The home feed with both Redis roles blackholed, beside the normal feed and ``{ __typename }``, one run.

A benchmark, not a test. It starts its own embedded stack, builds a small world in-process through the
services (a viewer following 20 authors with 5 posts each, through the real upload flow and the fan-out
handler), serves the API with uvicorn as a child process, and measures with ``wrk`` (Debian package; ``make
bench-deps`` installs it) from another process, as DESIGN.md requires:

1. ``{ __typename }`` (the server's ceiling),
2. ``feed(first: 10)`` on the cache path,
3. the same feed after SIGSTOP of both Redis roles, once 2.5 s of requests have opened the circuit breakers
   (the feed and the sessions are then served from the graph; every answer checked to hold 10 posts), then
   SIGCONT. The feed's rate limit is raised for the run (``INSTAGRAPH_RATE_LIMITS``).

Each row gives requests/s and wrk's latency percentiles (p50, p99). Run: ``.venv/bin/python
bench/bench_degraded_feed.py [--seconds 8] [--connections 4]``. Results: ``bench/results/degraded_feed.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from devstack.processes import ManagedProcess  # noqa: E402
from devstack.supervisor import EmbeddedStack  # noqa: E402
from events.envelope import Event  # noqa: E402
from graph.statements.outbox import OUTBOX_PENDING  # noqa: E402
from runtime.bootstrap import prepare  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from server.app import create_app  # noqa: E402
from services.posts import MediaSpec  # noqa: E402
from workers.fanout import make_handler  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench password 123"
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }"
FOLLOW = "mutation($id: ID!) { follow(input: {userId: $id}) { status } }"
FEED = "{ feed(first: 10) { edges { node { id caption likeCount author { username } } } } }"
TYPENAME = "{ __typename }"


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _world(settings: Settings) -> str:
    """Register the viewer and 20 authors, follow, publish 5 posts each, fan them out; returns the token."""
    app = create_app(settings)
    png = _png()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as api:
            tokens: dict[str, tuple[str, str]] = {}
            for n, name in enumerate(["viewer", *(f"author{i}" for i in range(20))]):
                body = (await api.post("/graphql", json={"query": REGISTER, "variables": {"i": {
                    "username": f"bench_{name}", "email": f"{name}@bench.example", "password": PASSWORD}}},
                    headers={"X-Forwarded-For": f"10.9.0.{n + 1}"})).json()  # fmt: skip
                reg = body["data"]["register"]
                tokens[name] = (reg["accessToken"], reg["user"]["id"])
            viewer_token = tokens["viewer"][0]
            services = app.state.services
            await services.feed.read_home_feed(_raw_id(tokens["viewer"][1]), 10, None)  # a live feed
            for name, (_, gid) in tokens.items():
                if name != "viewer":
                    await api.post("/graphql", json={"query": FOLLOW, "variables": {"id": gid}},
                                   headers={"Authorization": f"Bearer {viewer_token}"})  # fmt: skip
            async with httpx.AsyncClient(timeout=30) as s3:
                for name, (_, gid) in tokens.items():
                    if name == "viewer":
                        continue
                    for k in range(5):
                        created = await services.posts.create_post(
                            _raw_id(gid), f"post {k} by {name} #bench", [MediaSpec("image/png", len(png))]
                        )
                        ticket = created.uploads[0]
                        await s3.post(ticket.url, data=dict(ticket.fields), files={"file": ("p.png", png, "image/png")})
                        await services.posts.complete_upload(_raw_id(gid), created.post.id)
                        await services.media.process_post(created.post.id)
            handler = make_handler(services)
            for row in await app.state.resources.graph.read(OUTBOX_PENDING, {"batch": 100_000}):
                if row["type"] == "post.published":
                    await handler(Event.from_json(row["payload"]))
    return viewer_token


def _raw_id(gid: str) -> str:
    from schema.base import from_global_id

    return from_global_id(gid, field="id")[1]


def _lua(path: Path, query: str, token: str | None) -> None:
    body = json.dumps({"query": query}).replace("\\", "\\\\").replace('"', '\\"')
    lines = ['wrk.method = "POST"', f'wrk.body = "{body}"', 'wrk.headers["Content-Type"] = "application/json"']
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    path.write_text("\n".join(lines) + "\n")


def _wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if match is None:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"req_per_s": float(rps.group(1)) if rps else float("nan"), "p50_ms": ms("50%"),
            "p99_ms": ms("99%"), "non_2xx": int(errors.group(1)) if errors else 0}  # fmt: skip


async def main(seconds: int, connections: int) -> dict[str, object]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: run `make bench-deps` (apt-get install wrk)")
    data = Path(tempfile.mkdtemp(prefix="bench_degraded_"))
    base = Settings()
    stack = EmbeddedStack(data, s3_access_key=base.s3_access_key, s3_secret_key=base.s3_secret_key,
                          s3_bucket=base.s3_bucket)  # fmt: skip
    info = await stack.start()
    os.environ.update(info.as_env())
    os.environ["INSTAGRAPH_ENV"] = "test"
    os.environ["INSTAGRAPH_RATE_LIMITS"] = "feed=100000000/60"  # measure the feed, not its rate limit
    settings = Settings()
    server: ManagedProcess | None = None
    try:
        await prepare(settings)
        token = await _world(settings)
        port = _free_port()
        server = ManagedProcess("api", [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                                log_path=data / "api.log", env=dict(os.environ), cwd=ROOT)  # fmt: skip
        server.start()
        url = f"http://127.0.0.1:{port}/graphql"
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(200):
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            feed = await client.post(url, json={"query": FEED}, headers={"Authorization": f"Bearer {token}"})
            assert len(feed.json()["data"]["feed"]["edges"]) == 10, feed.text
        scripts = data / "wrk"
        scripts.mkdir()
        _lua(scripts / "typename.lua", TYPENAME, None)
        _lua(scripts / "feed.lua", FEED, token)
        results: dict[str, object] = {"seconds": seconds, "connections": connections}
        results["typename"] = _wrk(url, scripts / "typename.lua", seconds, connections)
        results["feed_cache_path"] = _wrk(url, scripts / "feed.lua", seconds, connections)
        pids = [info.pids["redis"], info.pids["cache"]]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            async with httpx.AsyncClient(timeout=10) as client:  # the first failures open the circuits
                started = time.monotonic()
                while time.monotonic() - started < 2.5:
                    answer = await client.post(url, json={"query": FEED}, headers={"Authorization": f"Bearer {token}"})
                    assert len(answer.json()["data"]["feed"]["edges"]) == 10, answer.text
            results["feed_redis_blackholed"] = _wrk(url, scripts / "feed.lua", seconds, connections)
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        return results
    finally:
        if server is not None:
            await server.stop()
        await stack.stop()


def write(result: dict[str, object]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "degraded_feed.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [("`{ __typename }` (ceiling)", "typename"), ("`feed(first: 10)`, cache path", "feed_cache_path"),
            ("`feed(first: 10)`, both Redis roles SIGSTOPped", "feed_redis_blackholed")]  # fmt: skip
    md = [
        "# Feed with Redis blackholed vs the normal feed (wrk, same server, same run)",
        "",
        f"wrk -t1 -c{result['connections']} -d{result['seconds']}s; the degraded run starts after 2.5 s of "
        "requests under SIGSTOP (the circuits open).",
        "",
        "| request | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|",
    ]
    for label, key in rows:
        r = result[key]
        assert isinstance(r, dict)
        md.append(f"| {label} | {r['req_per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['non_2xx']} |")
    (RESULTS / "degraded_feed.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.seconds, args.connections))
    write(outcome)
    print(json.dumps(outcome, indent=2))
