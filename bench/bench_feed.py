"""Home-feed benchmark on the seeded SNAP data (a benchmark, not a test: nothing here gates CI on a time).

Everything is measured side by side in ONE run on one machine, and the ratios are what to read:

1. API: ``feed(first: 10)`` (posts with author, counts, viewer state, media URL) vs the trivial
   ``{ __typename }`` on the same uvicorn server (a subprocess on loopback), an httpx client with bounded
   concurrency and a bounded number of requests: throughput and p50/p99 latency, and for the feed the graph
   queries and Redis commands per request (the servers' own counters over the batch).
2. Fan-out on write: ``FanoutService.fan_out_post`` for a post by the 1,045-follower hub ``fb_107`` (graph
   paging of followers + pipelined ``ZADD`` + ``ZREMRANGEBYRANK``) vs the raw ceiling: one pipelined ``ZADD``
   per follower feed on the same Redis (and ``ZADD`` + trim without the graph, for reference), in feed
   inserts per second; plus the end-to-end time for the ``fanout`` worker process (Kafka -> worker -> Redis).
3. Read strategy: the hybrid read (``FeedService.home_feed``: ``feed:{uid}`` + celebrities' ``posts:{c}``,
   filtered in the graph) vs the pure graph pull (``FeedService.pull_feed``, the seed's "social graph
   traversal at read" row) for the same viewers, in-process, skeleton pages of 10 (the hybrid read without
   the API's hydration, ``hydrate=False``, so that both sides return post ids only).
4. Peak RSS (``VmHWM`` of ``/proc/<pid>/status``) of the API process and of every worker process.

Run: ``.venv/bin/python bench/bench_feed.py`` (starts its own embedded stack in a temp dir, bootstraps and
seeds it with ``instagraph seed``'s ``seed.run.run_seed``, starts the workers and the API as children).
``--data-dir DIR`` keeps the stack's data in DIR and skips the seed when DIR was seeded before
(``--reseed`` forces it). Results: ``bench/results/feed.json`` and ``bench/results/feed.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from rich.console import Console  # noqa: E402

from cache.feed import FeedCache  # noqa: E402
from devstack.processes import ManagedProcess  # noqa: E402
from devstack.supervisor import EmbeddedStack  # noqa: E402
from events.envelope import Event  # noqa: E402
from events.producer import EventProducer  # noqa: E402
from graph.statements import fanout as fanout_stmts  # noqa: E402
from graph.statements.outbox import OUTBOX_BACKLOG  # noqa: E402
from runtime.bootstrap import prepare  # noqa: E402
from runtime.container import build_services  # noqa: E402
from runtime.resources import open_resources  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from services.fanout import FanoutService  # noqa: E402
from services.feed import FeedService  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HUB = "fb_107"
SEEDED_MARK = ".bench_feed_seeded"
TRIVIAL = "{ __typename }"
FEED = """
query Feed($first: Int) {
  feed(first: $first) {
    edges { cursor node {
      id caption createdAt likeCount commentCount viewerHasLiked
      author { username } media { url(size: FEED) } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
LOGIN = "mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }"
console = Console()


# -- small helpers --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values`` by linear interpolation (numpy's default method)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    low, high = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(latencies_s: list[float], wall_s: float) -> dict[str, float]:
    """``{n, per_s, p50_ms, p99_ms, mean_ms}`` of one measured batch."""
    return {
        "n": len(latencies_s),
        "per_s": round(len(latencies_s) / wall_s, 1),
        "p50_ms": round(percentile(latencies_s, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies_s, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies_s) * 1000, 2),
    }


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
        if not line or line.startswith("#"):
            continue
        a, b = (int(x) for x in line.split())
        if a == node:
            found.add(b)
        elif b == node:
            found.add(a)
    return sorted(found)


def child(name: str, args: list[str], env: dict[str, str], logs: Path) -> ManagedProcess:
    """``python -m server.cli <args>`` as a managed child logging to ``logs/<name>.log``."""
    return ManagedProcess(
        name, [sys.executable, "-m", "server.cli", *args], log_path=logs / f"{name}.log", env=env, cwd=ROOT
    )


# -- stages ---------------------------------------------------------------------------------------------


async def seed(settings: Settings, data_dir: Path, reseed: bool) -> float | None:
    """Seed once per data dir (``seed.run.run_seed``, i.e. ``instagraph seed``, when it exists; else its
    three parts: SNAP graph, posts through the upload flow, likes/comments); returns seconds or None."""
    mark = data_dir / SEEDED_MARK
    if mark.exists() and not reseed:
        return None
    started = time.perf_counter()
    try:
        seeding = importlib.import_module("seed.run")
    except ModuleNotFoundError as exc:
        if exc.name != "seed.run":
            raise
        await _seed_parts(settings)
    else:
        result = seeding.run_seed(settings, console)
        if inspect.iscoroutine(result):
            await result
    mark.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return time.perf_counter() - started


async def _seed_parts(settings: Settings) -> None:
    from seed.engagement import seed_engagement
    from seed.posts import seed_posts
    from seed.snap_graph import import_snap_graph
    from services.core.passwords import Passwords

    async with open_resources(settings) as resources, build_services(resources) as services:
        password_hash = await Passwords().hash(settings.seed_password)
        stats = await import_snap_graph(resources.graph, ROOT / settings.seed_graph_path, password_hash)
        console.print(f"seed graph: {stats}")
        posts = await seed_posts(
            services.posts, services.media, resources.graph,
            posts_dir=ROOT / settings.seed_posts_dir, images_dir=ROOT / settings.seed_images_dir,
        )  # fmt: skip
        console.print(f"seed posts: {posts.published} published, {posts.failed} failed in {posts.seconds:.1f} s")
        console.print(f"seed engagement: {await seed_engagement(resources.graph, services.engagement.counters)}")


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


async def wait_idle(pids: list[int | None], timeout_s: float = 900.0) -> float:
    """Wait until ``pids`` (the workers) used under 5 CPU ticks (~50 ms) in each of two 2-s windows, i.e.
    they finished the seed's events (fan-out of every seeded post); returns the seconds waited."""
    started = time.monotonic()
    quiet = 0
    before = cpu_ticks(pids)
    while time.monotonic() - started < timeout_s:
        await asyncio.sleep(2.0)
        now = cpu_ticks(pids)
        quiet = quiet + 1 if now - before < 5 else 0
        before = now
        if quiet >= 2:
            return time.monotonic() - started
    raise TimeoutError("the workers did not become idle")


async def login_all(client: httpx.AsyncClient, usernames: list[str], password: str) -> dict[str, str]:
    """Access tokens of ``usernames`` (each login from its own X-Forwarded-For, under the rate limits)."""
    tokens: dict[str, str] = {}
    for name in usernames:
        ip = "10." + ".".join(str(b) for b in secrets.token_bytes(3))
        resp = await client.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"l": name, "p": password}},
            headers={"X-Forwarded-For": ip},
        )
        body = resp.json()
        if body.get("errors"):
            raise RuntimeError(f"login {name}: {body['errors']}")
        tokens[name] = body["data"]["login"]["accessToken"]
    return tokens


async def http_batch(
    client: httpx.AsyncClient, bodies: list[tuple[dict[str, Any], dict[str, str]]], concurrency: int
) -> dict[str, float]:
    """POST every ``(json, headers)`` with at most ``concurrency`` in flight; latency summary."""
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[dict[str, Any], dict[str, str]]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def run() -> None:
        while not queue.empty():
            payload, headers = queue.get_nowait()
            started = time.perf_counter()
            resp = await client.post("/graphql", json=payload, headers=headers)
            latencies.append(time.perf_counter() - started)
            data = resp.json()
            if resp.status_code != 200 or data.get("errors"):
                raise RuntimeError(f"request failed: {resp.status_code} {str(data)[:300]}")

    wall = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(concurrency)))
    return summary(latencies, time.perf_counter() - wall)


async def server_commands(settings: Settings) -> dict[str, int]:
    """Commands the stack's servers have run so far: ``graph_queries`` (FalkorDB ``GRAPH.QUERY`` +
    ``GRAPH.RO_QUERY`` calls, from ``INFO commandstats``) and ``redis_commands`` (Redis
    ``total_commands_processed``, this ``INFO`` excluded). Deltas over a batch / its requests give the
    per-request cost (the idle workers' polling adds a few hundredths)."""
    graph_url = urlsplit(settings.graph_url)
    graph = aioredis.Redis(host=graph_url.hostname or "127.0.0.1", port=graph_url.port or 6379)
    cache = aioredis.Redis.from_url(settings.redis_url)
    try:
        stats = await graph.info("commandstats")
        queries = sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("graph.QUERY", "graph.RO_QUERY"))
        commands = int((await cache.info("stats"))["total_commands_processed"])
    finally:
        await graph.aclose()
        await cache.aclose()
    return {"graph_queries": queries, "redis_commands": commands}


async def bench_api(
    base_url: str, settings: Settings, viewers: list[str], requests: int, concurrency: int
) -> dict[str, Any]:
    """Stage 1: feed query vs ``{ __typename }`` over HTTP on the same server; for the feed also the graph
    queries and Redis commands per request."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        tokens = await login_all(client, viewers, settings.seed_password)
        feed_bodies = [
            (
                {"query": FEED, "variables": {"first": 10}},
                {"Authorization": f"Bearer {tokens[viewers[i % len(viewers)]]}"},
            )
            for i in range(requests)
        ]
        trivial_bodies = [({"query": TRIVIAL}, {}) for _ in range(requests)]
        await http_batch(client, feed_bodies[: len(viewers)], concurrency)  # warm: rebuild cold feeds
        await http_batch(client, trivial_bodies[:50], concurrency)
        trivial = await http_batch(client, trivial_bodies, concurrency)
        before = await server_commands(settings)
        feed = await http_batch(client, feed_bodies, concurrency)
        after = await server_commands(settings)
        feed["graph_queries_per_request"] = round((after["graph_queries"] - before["graph_queries"]) / requests, 2)
        feed["redis_commands_per_request"] = round(
            (after["redis_commands"] - before["redis_commands"] - 1) / requests, 2
        )
        sample = (await client.post("/graphql", json=feed_bodies[0][0], headers=feed_bodies[0][1])).json()
    edges = sample["data"]["feed"]["edges"]
    return {"trivial": trivial, "feed": feed, "sample_page_size": len(edges), "viewers": len(viewers)}


async def bench_fanout(settings: Settings, rounds: int) -> dict[str, Any]:
    """Stage 2 (in-process part): fan-out of a hub post vs raw pipelined ZADD on the same Redis."""
    async with open_resources(settings) as resources, build_services(resources) as services:
        hub = await services.users.user_for_viewer(HUB, None)
        page = await services.posts.user_posts(hub.id, None, 100, None)
        post = page.items[0][1]
        cache = FeedCache(resources.redis, resources.keys, max_items=settings.feed_max_items)
        fanout = FanoutService(resources.graph, cache, celebrity_threshold=settings.celebrity_threshold)
        rows = await resources.graph.read(
            fanout_stmts.FOLLOWER_IDS_PAGE, {"author_id": hub.id, "after": "", "limit": 100_000}
        )
        users = [r["id"] for r in rows] + [hub.id]
        keys = [resources.keys.feed(u) for u in users]
        redis = resources.redis
        service_s, raw_s, raw_trim_s = [], [], []
        for i in range(rounds):
            await cache.remove_from_feeds([post.id], users)
            started = time.perf_counter()
            result = await fanout.fan_out_post(post.id)
            service_s.append(time.perf_counter() - started)
            assert result.feeds == len(users), (result, len(users))

            member = f"bench-{i}-{secrets.token_hex(4)}"
            started = time.perf_counter()
            pipe = redis.pipeline(transaction=False)
            for key in keys:
                pipe.zadd(key, {member: post.created_at})
            await pipe.execute()
            raw_s.append(time.perf_counter() - started)
            await cache.remove_from_feeds([member], users)

            started = time.perf_counter()
            pipe = redis.pipeline(transaction=False)
            for key in keys:
                pipe.zadd(key, {member: post.created_at})
                pipe.zremrangebyrank(key, 0, -(settings.feed_max_items + 2))
            await pipe.execute()
            raw_trim_s.append(time.perf_counter() - started)
            await cache.remove_from_feeds([member], users)

        def rate(samples: list[float]) -> dict[str, float]:
            p50 = percentile(samples, 0.5)
            return {"p50_ms": round(p50 * 1000, 2), "inserts_per_s": round(len(users) / p50)}

        return {
            "author": HUB,
            "follower_feeds": len(users),
            "rounds": rounds,
            "fan_out_post": rate(service_s),
            "raw_pipelined_zadd": rate(raw_s),
            "raw_pipelined_zadd_trim": rate(raw_trim_s),
            "post_id": post.id,
            "hub_id": hub.id,
            "users": users,
        }


async def bench_worker_fanout(settings: Settings, fan: dict[str, Any], rounds: int) -> dict[str, Any]:
    """Stage 2 (worker part): ``post.published`` via Kafka to the fanout worker, until every feed has it."""
    producer = EventProducer(settings.kafka_bootstrap, idempotence=settings.kafka_idempotence,
                             suffix=settings.topic_suffix)  # fmt: skip
    samples: list[float] = []
    async with open_resources(settings) as resources:
        cache = FeedCache(resources.redis, resources.keys)
        last_key = resources.keys.feed(fan["users"][-2])
        try:
            for _ in range(rounds):
                await cache.remove_from_feeds([fan["post_id"]], fan["users"])
                event = Event.new("post.published", actor_id=fan["hub_id"], subject_id=fan["post_id"],
                                  data={"post_id": fan["post_id"]})  # fmt: skip
                started = time.perf_counter()
                await producer.publish_event(event)
                while await resources.redis.zscore(last_key, fan["post_id"]) is None:
                    if time.perf_counter() - started > 30:
                        raise TimeoutError("the fanout worker did not fan out within 30 s")
                    await asyncio.sleep(0.002)
                samples.append(time.perf_counter() - started)
        finally:
            await producer.stop()
    p50 = percentile(samples, 0.5)
    return {"rounds": rounds, "p50_ms": round(p50 * 1000, 1), "inserts_per_s": round(len(fan["users"]) / p50)}


HUBS = ("fb_107", "fb_1684", "fb_1912", "fb_3437")  # the seed's hubs: they follow 1,045 / 792 / 755 / 547
CELEBRITY_BENCH_THRESHOLD = 500  # "hybrid+celebs": the hubs (547..1,045 followers) are pulled at read time


async def bench_reads(settings: Settings, groups: dict[str, list[str]], rounds: int) -> dict[str, Any]:
    """Stage 3: hybrid skeleton read vs pure graph pull, first pages of 10, per group of viewers; plus the
    hybrid read with the hubs treated as celebrities (merged from ``posts:{hub}`` at read time).

    The two strategies alternate viewer by viewer (hybrid first on even rounds, pull first on odd ones) so
    that drift on the shared machine hits both alike.
    """
    async with open_resources(settings) as resources, build_services(resources) as services:
        feed = services.feed
        hubs_as_celebrities = FeedService(  # the SNAP graph has no 10,000-follower account: make the hubs one
            resources.graph,
            FeedCache(resources.redis, resources.keys, max_items=settings.feed_max_items),
            services.engagement.counters,
            celebrity_threshold=CELEBRITY_BENCH_THRESHOLD,
            max_items=settings.feed_max_items,
        )
        reads = {"hybrid": feed.home_feed, "pull": feed.pull_feed, "hybrid+celebs": hubs_as_celebrities.home_feed}
        results: dict[str, Any] = {}
        for group, usernames in groups.items():
            ids = [(await services.users.user_for_viewer(v, None)).id for v in usernames]
            for viewer_id in ids:  # warm: every feed rebuilt, every plan cached
                for read in reads.values():
                    await read(viewer_id, 10, None)
            latencies: dict[str, list[float]] = {name: [] for name in reads}
            trips: dict[str, int] = dict.fromkeys(reads, 0)
            for r in range(rounds):
                for viewer_id in ids:
                    for name in list(reads) if r % 2 == 0 else list(reads)[::-1]:
                        before = resources.graph.round_trips
                        started = time.perf_counter()
                        await reads[name](viewer_id, 10, None)
                        latencies[name].append(time.perf_counter() - started)
                        trips[name] += resources.graph.round_trips - before
            same = 0
            for viewer_id in ids:
                pages = [[e.post_id for _, e in (await read(viewer_id, 10, None)).items] for read in reads.values()]
                same += pages[0] == pages[1]
            results[group] = {
                name: {
                    **summary(values, sum(values)),
                    "graph_round_trips_per_page": round(trips[name] / len(values), 2),
                }
                for name, values in latencies.items()
            }
            results[group]["viewers"] = len(ids)
            results[group]["same_first_page"] = f"{same}/{len(ids)}"
        return results


# -- orchestration --------------------------------------------------------------------------------------


def _row(label: str, stats: dict[str, float], unit: str) -> str:
    return f"| {label} | {stats['per_s']} {unit} | {stats['p50_ms']} ms | {stats['p99_ms']} ms |"


def write_results(result: dict[str, Any]) -> None:
    """``bench/results/feed.json`` and the markdown table ``feed.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "feed.json").write_text(json.dumps(result, indent=2) + "\n")
    api, fan, reads, r = result["api"], result["fanout"], result["reads"], result["ratios"]
    lines = [
        "# Feed benchmark",
        "",
        f"Run {result['when']} on the seeded SNAP data ({result['machine']}); one run, side by side.",
        "",
        "| measurement | throughput | p50 | p99 |",
        "|---|---|---|---|",
        _row("`{ __typename }` over HTTP", api["trivial"], "req/s"),
        _row("`feed(first: 10)` over HTTP", api["feed"], "req/s"),
        *(
            _row(f"{name} read, {group} (in-process, serial)", reads[group][name], "pages/s")
            for group in reads
            for name in ("hybrid", "hybrid+celebs", "pull")
        ),
        "",
        f"`feed(first: 10)` per request: {api['feed'].get('graph_queries_per_request')} graph queries, "
        f"{api['feed'].get('redis_commands_per_request')} Redis commands (server counters over the batch).",
        "",
        f"| fan-out of one {fan['author']} post ({fan['follower_feeds']} feeds) | feed inserts/s | p50 |",
        "|---|---|---|",
        f"| `fan_out_post` (graph paging + ZADD + trim) | {fan['fan_out_post']['inserts_per_s']} "
        f"| {fan['fan_out_post']['p50_ms']} ms |",
        f"| raw pipelined ZADD (ceiling) | {fan['raw_pipelined_zadd']['inserts_per_s']} "
        f"| {fan['raw_pipelined_zadd']['p50_ms']} ms |",
        f"| raw pipelined ZADD + ZREMRANGEBYRANK | {fan['raw_pipelined_zadd_trim']['inserts_per_s']} "
        f"| {fan['raw_pipelined_zadd_trim']['p50_ms']} ms |",
        f"| fanout worker end to end (Kafka -> worker -> Redis) | {result['worker_fanout']['inserts_per_s']} "
        f"| {result['worker_fanout']['p50_ms']} ms |",
        "",
        "| ratio | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in r.items()),
        "",
        "| process | peak RSS (VmHWM) |",
        "|---|---|",
        *(f"| {k} | {v} MiB |" for k, v in result["peak_rss_mib"].items()),
        "",
    ]
    (RESULTS / "feed.md").write_text("\n".join(lines))


async def main(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Run every stage on a fresh (or kept) embedded stack in ``data_dir``; returns the result document."""
    logs = data_dir / "logs"
    base = Settings()
    stack = EmbeddedStack(
        data_dir / "stack", console=console,
        s3_access_key=base.s3_access_key, s3_secret_key=base.s3_secret_key, s3_bucket=base.s3_bucket,
    )  # fmt: skip
    children: list[ManagedProcess] = []
    try:
        info = await stack.start()
        env = {**os.environ, **info.as_env(), "INSTAGRAPH_ENV": "prod", "INSTAGRAPH_DATA_DIR": str(data_dir)}
        os.environ.update(env)
        settings = Settings()
        await prepare(settings)
        from workers.registry import WORKER_NAMES

        workers = {n: child(f"worker-{n}", ["worker", n], env, logs) for n in WORKER_NAMES}
        for proc in workers.values():
            proc.start()
        seed_s = await seed(settings, data_dir, args.reseed)
        console.print(f"seed: {'skipped (seeded before)' if seed_s is None else f'{seed_s:.1f} s'}")
        await wait_quiet(settings)
        waited = await wait_idle([p.pid for p in workers.values()])
        console.print(f"workers idle after {waited:.0f} s")
        port = args.port
        api = child("api", ["serve", "--host", "127.0.0.1", "--port", str(port)], env, logs)
        api.start()
        children = [api, *workers.values()]
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=2) as probe:
            for _ in range(300):
                try:
                    if (await probe.get(f"{base_url}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        neighbours = snap_neighbours(ROOT / settings.seed_graph_path, int(HUB.split("_")[1]))
        viewers = [f"fb_{n}" for n in neighbours[:: max(1, len(neighbours) // args.viewers)][: args.viewers]]

        console.print("stage 1: feed vs { __typename } over HTTP")
        api_result = await bench_api(base_url, settings, viewers, args.requests, args.concurrency)
        console.print("stage 2: fan-out")
        fan = await bench_fanout(settings, args.fanout_rounds)
        worker_fan = await bench_worker_fanout(settings, fan, max(3, args.fanout_rounds // 4))
        console.print("stage 3: hybrid vs pull reads")
        reads = await bench_reads(
            settings, {"followers of fb_107": viewers, "hub viewers": list(HUBS)}, args.read_rounds
        )
        rss = {
            "api": peak_rss_mib(api.pid),
            **{f"worker {n}": peak_rss_mib(p.pid) for n, p in workers.items()},
        }
    finally:
        await asyncio.gather(*(c.stop() for c in children))
        await stack.stop()
    for key in ("users", "post_id", "hub_id"):
        fan.pop(key)
    ratios = {
        "feed / typename throughput": round(api_result["feed"]["per_s"] / api_result["trivial"]["per_s"], 3),
        "feed / typename p50": round(api_result["feed"]["p50_ms"] / api_result["trivial"]["p50_ms"], 2),
        "feed / typename p99": round(api_result["feed"]["p99_ms"] / api_result["trivial"]["p99_ms"], 2),
        "fan_out_post / raw ZADD inserts/s": round(
            fan["fan_out_post"]["inserts_per_s"] / fan["raw_pipelined_zadd"]["inserts_per_s"], 3
        ),
        "fan_out_post / raw ZADD+trim inserts/s": round(
            fan["fan_out_post"]["inserts_per_s"] / fan["raw_pipelined_zadd_trim"]["inserts_per_s"], 3
        ),
        "worker end-to-end / raw ZADD inserts/s": round(
            worker_fan["inserts_per_s"] / fan["raw_pipelined_zadd"]["inserts_per_s"], 3
        ),
        **{
            f"pull / hybrid read p50, {group}": round(
                reads[group]["pull"]["p50_ms"] / reads[group]["hybrid"]["p50_ms"], 2
            )
            for group in reads
        },
        **{
            f"pull / hybrid read p99, {group}": round(
                reads[group]["pull"]["p99_ms"] / reads[group]["hybrid"]["p99_ms"], 2
            )
            for group in reads
        },
        **{
            f"hybrid with hubs as celebrities / hybrid read p50, {group}": round(
                reads[group]["hybrid+celebs"]["p50_ms"] / reads[group]["hybrid"]["p50_ms"], 2
            )
            for group in reads
        },
    }
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "parameters": vars(args),
        "seed_seconds": seed_s,
        "api": api_result,
        "fanout": fan,
        "worker_fanout": worker_fan,
        "reads": reads,
        "peak_rss_mib": rss,
        "ratios": ratios,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep the stack's data here (seeded once); default: a temp dir")
    parser.add_argument("--reseed", action="store_true", help="seed even when --data-dir was seeded before")
    parser.add_argument("--port", type=int, default=18080, help="API port on 127.0.0.1")
    parser.add_argument("--requests", type=int, default=600, help="HTTP requests per measured batch")
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP requests in flight")
    parser.add_argument("--viewers", type=int, default=40, help="viewers (followers of fb_107)")
    parser.add_argument("--fanout-rounds", type=int, default=20, help="fan-out repetitions")
    parser.add_argument("--read-rounds", type=int, default=5, help="reads per viewer per strategy")
    args = parser.parse_args()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_feed_")).resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    result = asyncio.run(main(args, data_dir))
    write_results(result)
    console.print_json(json.dumps(result["ratios"]))
    console.print(f"results: {RESULTS / 'feed.json'}, {RESULTS / 'feed.md'}")


if __name__ == "__main__":
    cli()
