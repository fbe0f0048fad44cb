"""Live-notification benchmark (a benchmark, not a test: nothing here gates CI on a time).

Measured side by side in ONE run on one machine:

1. like -> subscriber receipt: ``likePost`` over HTTP on the API process, then outbox relay -> Kafka (Tansu)
   -> ``notifications`` worker -> Redis stream + wake-up -> the API's relay -> the subscriber's WebSocket (the
   ``websockets`` client, graphql-transport-ws). ``--likes`` likes (default 500), one at a time, each by a new
   liker of one post, debounce 0 so that every like is delivered; p50/p99 of mutation start -> frame received.
   Beside it the fixed delays the path contains: the outbox poll interval (``INSTAGRAPH_OUTBOX_POLL_INTERVAL``;
   a like waits half of it on average) and the consumer's ``fetch_max_wait_ms`` (Tansu answers a waiting fetch
   only when it runs out: about half of it on average), and the raw hop measured in the same run:
2. raw Redis publish -> WebSocket: ``NotificationStreams.append`` (XADD + PUBLISH) of the same notification from
   this process, to the frame on the subscriber's socket (relay, one graph read, GraphQL execution, send).
3. idle subscriptions: ``--idle`` sockets (default 2,000), each authenticated and subscribed, held by this
   process against the one API process; its RSS (``VmRSS``) before and after, per 1,000 subscriptions.

Run: ``.venv/bin/python bench/bench_notifications.py`` (own embedded stack in a temp dir; users from a star
graph through the seed's SNAP import, the post through the upload flow). Results:
``bench/results/notifications.json`` and ``bench/results/notifications.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402
from rich.console import Console  # noqa: E402

from cache.notifications import NotificationStreams  # noqa: E402
from devstack.processes import ManagedProcess  # noqa: E402
from devstack.supervisor import EmbeddedStack  # noqa: E402
from graph.cypher import cypher  # noqa: E402
from runtime.bootstrap import prepare  # noqa: E402
from runtime.container import build_services  # noqa: E402
from runtime.resources import open_resources  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from schema.base import from_global_id, to_global_id  # noqa: E402
from seed.snap_graph import import_snap_graph  # noqa: E402
from services.core.passwords import Passwords  # noqa: E402
from services.posts import MediaSpec  # noqa: E402

RESULTS = ROOT / "bench" / "results"
IMAGE = ROOT.parent / "shared" / "datasets" / "images" / "rocket.jpg"
LIKE = "mutation($input: PostIdInput!) { likePost(input: $input) { id } }"
SUBSCRIBE = "subscription { notifications { id actorCount updatedAt } }"
IDS = cypher("bench.notifications.IDS",
             "UNWIND $names AS n MATCH (u:User {username: n}) RETURN u.username AS username, u.id AS id")  # fmt: skip
console = Console()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def stats_ms(seconds: list[float]) -> dict[str, float]:
    """p50, p99 and mean of ``seconds`` in ms."""
    return {"p50_ms": round(percentile(seconds, 0.5) * 1000, 1), "p99_ms": round(percentile(seconds, 0.99) * 1000, 1),
            "mean_ms": round(statistics.fmean(seconds) * 1000, 1), "n": len(seconds)}  # fmt: skip


def rss_mib(pid: int | None) -> float:
    """``VmRSS`` of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(name: str, args: list[str], env: dict[str, str], logs: Path) -> ManagedProcess:
    """``python -m server.cli <args>`` as a managed child logging to ``logs/<name>.log``."""
    return ManagedProcess(name, [sys.executable, "-m", "server.cli", *args], log_path=logs / f"{name}.log",
                          env=env, cwd=ROOT)  # fmt: skip


async def open_subscription(url: str, token: str) -> websockets.ClientConnection:
    """An authenticated graphql-transport-ws socket with one ``notifications`` subscription."""
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None)  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    return ws


async def next_update(ws: websockets.ClientConnection) -> dict[str, Any]:
    """The next ``next`` payload on ``ws`` (pings answered)."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif message["type"] == "next":
            return message["payload"]["data"]["notifications"]  # type: ignore[no-any-return]
        elif message["type"] in ("error", "complete"):
            raise RuntimeError(message)


async def make_post(services: Any, author_id: str) -> str:
    """A PUBLISHED post of ``author_id`` through the upload flow (create, presigned POST, complete, process)."""
    data = IMAGE.read_bytes()
    created = await services.posts.create_post(author_id, "Bench reel", [MediaSpec("image/jpeg", len(data))])
    async with httpx.AsyncClient(timeout=30) as s3:
        for ticket in created.uploads:
            response = await s3.post(ticket.url, data=dict(ticket.fields),
                                     files={"file": ("p.jpg", data, "image/jpeg")})  # fmt: skip
            response.raise_for_status()
    await services.posts.complete_upload(author_id, created.post.id)
    assert await services.media.process_post(created.post.id) == "published"
    return str(created.post.id)


async def main(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Run the three stages on a fresh embedded stack in ``data_dir``; returns the result document."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the idle sockets, here and in the API child
    logs, base = data_dir / "logs", Settings()
    stack = EmbeddedStack(data_dir / "stack", console=console, s3_access_key=base.s3_access_key,
                          s3_secret_key=base.s3_secret_key, s3_bucket=base.s3_bucket)  # fmt: skip
    children: list[ManagedProcess] = []
    try:
        info = await stack.start()
        env = {**os.environ, **info.as_env(), "INSTAGRAPH_ENV": "prod", "INSTAGRAPH_DATA_DIR": str(data_dir),
               "INSTAGRAPH_NOTIFICATION_DEBOUNCE": "0", "INSTAGRAPH_SUBSCRIBER_QUEUE_SIZE": "1024"}  # fmt: skip
        os.environ.update(env)
        settings = Settings()
        await prepare(settings)
        edges = data_dir / "star.txt"
        edges.write_text("".join(f"0 {i}\n" for i in range(1, args.likes + 1)))
        async with open_resources(settings) as resources, build_services(resources) as services:
            graph = resources.graph
            await import_snap_graph(graph, edges, await Passwords().hash(settings.seed_password))
            rows = await graph.read(IDS, {"names": [f"fb_{i}" for i in range(args.likes + 1)]})
            ids = {r["username"]: r["id"] for r in rows}
            post_id = await make_post(services, ids["fb_0"])
            post_gid = to_global_id("Post", post_id)
            workers = [child(f"worker-{n}", ["worker", n], env, logs)
                       for n in ("outbox-relay", "notifications", "notification-delivery")]  # fmt: skip
            api = child("api", ["serve", "--host", "127.0.0.1", "--port", str(args.port)], env, logs)
            children = [api, *workers]
            for proc in children:
                proc.start()
            http = f"http://127.0.0.1:{args.port}/graphql"
            ws_url = http.replace("http://", "ws://")
            async with httpx.AsyncClient(timeout=30) as client:
                for _ in range(300):
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get(f"http://127.0.0.1:{args.port}/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.2)
                await asyncio.sleep(3)  # the workers join their consumer groups
                author_token = (await services.accounts.log_in(
                    login="fb_0", password=settings.seed_password, client_ip="10.9.9.9")).tokens.access_token
                liker_tokens = []
                for i in range(1, args.likes + 1):
                    result = await services.accounts.log_in(login=f"fb_{i}", password=settings.seed_password,
                                                            client_ip=f"10.8.{i // 250}.{i % 250}")  # fmt: skip
                    liker_tokens.append(result.tokens.access_token)

                console.print(f"stage 1: {args.likes} likes -> subscriber")
                ws = await open_subscription(ws_url, author_token)
                await asyncio.sleep(1.0)
                latencies: list[float] = []
                notification_id = None
                for i, token in enumerate(liker_tokens):
                    started = time.perf_counter()
                    like = {"query": LIKE, "variables": {"input": {"postId": post_gid}}}
                    response = await client.post(http, json=like, headers={"Authorization": f"Bearer {token}"})
                    assert "errors" not in response.json(), response.text
                    update = await next_update(ws)
                    while update["actorCount"] < i + 1:
                        update = await next_update(ws)
                    latencies.append(time.perf_counter() - started)
                    notification_id = update["id"]
                console.print("stage 2: raw XADD + PUBLISH -> WebSocket")
                streams = NotificationStreams(resources.redis, resources.keys, max_len=settings.notification_stream_max)
                raw_id = from_global_id(str(notification_id), field="id")[1]
                hops: list[float] = []
                for _ in range(args.hops):
                    started = time.perf_counter()
                    await streams.append(ids["fb_0"], raw_id)
                    await next_update(ws)
                    hops.append(time.perf_counter() - started)
                await ws.close()

                console.print(f"stage 3: {args.idle} idle subscriptions")
                await asyncio.sleep(1.0)
                before = rss_mib(api.pid)
                sockets = []
                for _ in range(args.idle):
                    sockets.append(await open_subscription(ws_url, author_token))
                await asyncio.sleep(2.0)
                after = rss_mib(api.pid)
                held = sum(1 for s in sockets if s.close_code is None)
                for s in sockets:
                    await s.close()
    finally:
        for proc in children:
            await proc.stop()
        await stack.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    fixed = {"outbox_poll_interval": settings.outbox_poll_interval * 1000, "consumer_fetch_max_wait": 100}
    idle = {"held": held, "rss_before_mib": round(before, 1), "rss_after_mib": round(after, 1),
            "rss_per_1000_mib": round((after - before) / max(held, 1) * 1000, 1)}  # fmt: skip
    return {
        "likes_to_subscriber": stats_ms(latencies),
        "raw_publish_to_websocket": stats_ms(hops),
        "fixed_delays_ms": fixed,
        "idle_subscriptions": idle,
        "machine": {"cores": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
    }


def write_results(result: dict[str, Any]) -> None:
    """``bench/results/notifications.json`` and ``.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "notifications.json").write_text(json.dumps(result, indent=2) + "\n")
    like, hop, idle = result["likes_to_subscriber"], result["raw_publish_to_websocket"], result["idle_subscriptions"]
    fixed = result["fixed_delays_ms"]
    lines = [
        "# Live notifications", "",
        "| path | n | p50 | p99 | mean |", "|---|---|---|---|---|",
        f"| like (HTTP) -> outbox -> Kafka -> worker -> stream -> relay -> WebSocket | {like['n']} | "
        f"{like['p50_ms']} ms | {like['p99_ms']} ms | {like['mean_ms']} ms |",
        f"| raw XADD + PUBLISH -> relay -> WebSocket | {hop['n']} | {hop['p50_ms']} ms | {hop['p99_ms']} ms | "
        f"{hop['mean_ms']} ms |", "",
        f"Fixed delays inside the like path: outbox poll interval {fixed['outbox_poll_interval']:.0f} ms (half on "
        f"average), consumer fetch_max_wait {fixed['consumer_fetch_max_wait']} ms (Tansu answers a waiting fetch "
        "when it runs out).", "",
        f"Idle subscriptions held by one API process: {idle['held']}; RSS {idle['rss_before_mib']} -> "
        f"{idle['rss_after_mib']} MiB, {idle['rss_per_1000_mib']} MiB per 1,000.", "",
        f"Machine: {result['machine']['cores']} cores, 1-min load {result['machine']['load_avg_1m']:.2f} at the end.",
    ]  # fmt: skip
    (RESULTS / "notifications.md").write_text("\n".join(lines) + "\n")


def cli() -> None:
    """Parse arguments, run, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--likes", type=int, default=500)
    parser.add_argument("--hops", type=int, default=200)
    parser.add_argument("--idle", type=int, default=2_000)
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_notifications_") as tmp:
        result = asyncio.run(main(args, Path(tmp)))
    write_results(result)
    console.print_json(json.dumps(result))


if __name__ == "__main__":
    cli()
