"""Follow benchmark on the seeded SNAP graph (a benchmark, not a test: nothing here gates CI on a time).

Measured side by side in ONE run, on one machine, against the same FalkorDB graph:

1. Seed: ``seed.snap_graph.import_snap_graph`` of the whole SNAP ego-Facebook file (4,039 users,
   176,468 FOLLOWS edges) into a fresh graph: wall seconds, and a second (no-op) run.
2. ``follow`` through the API: the GraphQL mutation ``follow(input: {userId})`` posted in-process (httpx
   ``ASGITransport`` on ``create_app``: auth, rate limit in Redis, resolver, service, ONE Cypher statement,
   payload with viewer flags) for ``--n`` new follower -> followee pairs of seeded users.
3. The same statement raw: ``graph.statements.follows.FOLLOW`` through the graph driver with the same
   parameters (outbox maps built the same way) for ``--n`` other new pairs.

The two loops are interleaved (API, raw, API, raw, ...) and sequential (latency, not throughput), so both
see the same graph size and server state; every measured follow creates a new edge. Output: p50/p99/mean
per path and the API/raw ratio; ``bench/results/follow.json`` and ``bench/results/follow.md``.

Run: ``.venv/bin/python bench/bench_follow.py`` (starts an embedded stack in a temp dir) or
``--services .instagraph/services.json`` to use a running stack (a fresh graph named ``bench_follow_<hex>``
is created there and dropped at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from devstack.stackinfo import StackInfo  # noqa: E402
from devstack.supervisor import EmbeddedStack  # noqa: E402
from events.envelope import Event  # noqa: E402
from graph.migrations import migrate  # noqa: E402
from graph.statements import follows as follow_stmts  # noqa: E402
from graph.store import open_graph_store  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from schema.base import to_global_id  # noqa: E402
from seed.snap_graph import import_snap_graph, read_snap_edges  # noqa: E402
from seed.statements import IDS_BY_USERNAME  # noqa: E402
from server.app import create_app  # noqa: E402
from services.core.passwords import Passwords  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FOLLOW = "mutation($id: ID!) { follow(input: {userId: $id}) { status user { followerCount viewerFollows } } }"
LOGIN = "mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }"
FOLLOWS_PER_USER = 25  # under the 30/min follow limit of each logged-in follower
console = Console()


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values`` by linear interpolation (numpy's default method)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(latencies_s: list[float]) -> dict[str, float]:
    """``{n, p50_ms, p99_ms, mean_ms}`` of one measured loop."""
    return {
        "n": len(latencies_s),
        "p50_ms": round(percentile(latencies_s, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies_s, 0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(latencies_s) * 1000, 3),
    }


def new_pairs(path: Path, followers: list[int], count: int, rng: random.Random) -> list[tuple[int, int]]:
    """``count`` distinct (follower, followee) SNAP node pairs that are NOT edges, ``count / len(followers)``
    per follower (so each stays under its rate limit)."""
    graph = read_snap_edges(path)
    adjacent = {(u, v) for u, v in graph.edges} | {(v, u) for u, v in graph.edges}
    per = -(-count // len(followers))
    pairs: list[tuple[int, int]] = []
    for follower in followers:
        chosen: set[int] = set()
        while len(chosen) < per:
            target = rng.choice(graph.nodes)
            if target != follower and (follower, target) not in adjacent:
                chosen.add(target)
        pairs += [(follower, t) for t in sorted(chosen)]
    return pairs[:count]


def outbox_params(viewer_id: str, target_id: str) -> dict[str, Any]:
    """``FOLLOW``'s parameters, built as ``services.follows.FollowService.follow_user`` builds them."""
    data = {"follower_id": viewer_id, "followee_id": target_id}

    def event(kind: str) -> dict[str, Any]:
        return Event.new(kind, actor_id=viewer_id, subject_id=target_id, data=data).outbox_props()

    return {
        "viewer_id": viewer_id,
        "target_id": target_id,
        "now": time.time_ns() // 1_000_000,
        "follow_outbox": event("follow.created"),
        "request_outbox": event("follow.requested"),
    }


async def run(args: argparse.Namespace, info: StackInfo) -> dict[str, Any]:
    """Seed a fresh graph on the stack ``info``, then measure; returns the results document."""
    graph_name = f"bench_follow_{secrets.token_hex(3)}"
    base = info.graph_url.rsplit("/", 1)[0]
    settings = Settings(
        env="test",
        graph_url=f"{base}/{graph_name}",
        redis_url=info.redis_url,
        redis_prefix=f"bench{secrets.token_hex(3)}:",
        kafka_bootstrap=info.kafka_bootstrap,
        kafka_idempotence=False,
        s3_endpoint=info.s3_endpoint,
        s3_access_key=info.s3_access_key,
        s3_secret_key=info.s3_secret_key,
        s3_bucket=info.s3_bucket,
        request_timeout=120.0,
    )
    path = (Path(args.edges) if args.edges else ROOT / settings.seed_graph_path).resolve()
    store = open_graph_store(settings.graph_url, timeout=120.0)
    try:
        await migrate(store, now_ms=time.time_ns() // 1_000_000)
        password_hash = await Passwords().hash(settings.seed_password)
        with Progress(console=console, transient=True) as progress:
            first = await import_snap_graph(store, path, password_hash, 5_000, progress)
        second = await import_snap_graph(store, path, password_hash, 5_000, None)
        console.print(
            f"seed: {first.follows_created:,} FOLLOWS, {first.users_created:,} users in {first.seconds:.2f} s"
        )

        rng = random.Random(args.seed)
        followers = list(range(args.n // FOLLOWS_PER_USER + 1))  # fb_0, fb_1, ... (all have SNAP edges)
        pairs = new_pairs(path, followers, 2 * args.n, rng)
        api_pairs, raw_pairs = pairs[0::2], pairs[1::2]
        warmup = (len(followers), 107)  # its own follower: the warm-up follows count against nobody measured
        names = sorted({f"fb_{n}" for pair in [*pairs, warmup] for n in pair})
        ids = {r["username"]: r["id"] for r in await store.read(IDS_BY_USERNAME, {"usernames": names})}
        result = await measure(args, settings, store, ids, api_pairs, raw_pairs, warmup)
        result["seed"] = {
            "path": str(path),
            "users": first.users,
            "follows": first.follows,
            "first_run_s": round(first.seconds, 3),
            "second_run_s": round(second.seconds, 3),
            "second_run_changes": second.users_created + second.follows_created + second.counters_updated,
        }
        return result
    finally:
        if not args.keep:
            await store.drop()
        await store.close()


async def measure(
    args: argparse.Namespace,
    settings: Settings,
    store: Any,
    ids: dict[str, str],
    api_pairs: list[tuple[int, int]],
    raw_pairs: list[tuple[int, int]],
    warmup: tuple[int, int],
) -> dict[str, Any]:
    """Log the API followers in, warm both paths up on ``warmup`` (follower, followee), then run the
    interleaved API / raw loops; returns the summaries."""
    app = create_app(settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://bench")
        )
        tokens: dict[int, str] = {}
        for follower in sorted({f for f, _ in [*api_pairs, warmup]}):
            headers = {"X-Forwarded-For": f"10.9.{follower // 250}.{follower % 250 + 1}"}
            variables = {"l": f"fb_{follower}", "p": settings.seed_password}
            body = (
                await client.post("/graphql", json={"query": LOGIN, "variables": variables}, headers=headers)
            ).json()
            tokens[follower] = body["data"]["login"]["accessToken"]
        warm_follower, warm_target = ids[f"fb_{warmup[0]}"], ids[f"fb_{warmup[1]}"]
        for _ in range(args.warmup):  # the first creates the edge, the rest are no-op follows
            headers = {"Authorization": f"Bearer {tokens[warmup[0]]}"}
            await client.post(
                "/graphql", json={"query": FOLLOW, "variables": {"id": gid(warm_target)}}, headers=headers
            )
            await store.write(follow_stmts.FOLLOW, outbox_params(warm_follower, warm_target))
        api_s: list[float] = []
        raw_s: list[float] = []
        statuses: dict[str, int] = {}
        app_graph = app.state.resources.graph
        trips_before = app_graph.round_trips
        for (af, at), (rf, rt) in zip(api_pairs, raw_pairs, strict=True):
            payload = {"query": FOLLOW, "variables": {"id": gid(ids[f"fb_{at}"])}}
            headers = {"Authorization": f"Bearer {tokens[af]}"}
            started = time.perf_counter()
            response = await client.post("/graphql", json=payload, headers=headers)
            api_s.append(time.perf_counter() - started)
            body = response.json()
            status = (
                body["data"]["follow"]["status"]
                if body.get("data")
                else body["errors"][0]["extensions"]["code"]
            )
            statuses[status] = statuses.get(status, 0) + 1
            params = outbox_params(ids[f"fb_{rf}"], ids[f"fb_{rt}"])
            started = time.perf_counter()
            rows = await store.write(follow_stmts.FOLLOW, params)
            raw_s.append(time.perf_counter() - started)
            assert rows[0]["changed"], rows
        api_trips = (app_graph.round_trips - trips_before) / len(api_s)
    api, raw = summary(api_s), summary(raw_s)
    return {
        "api_graph_round_trips_per_follow": round(api_trips, 2),
        "api_follow": api,
        "raw_cypher_follow": raw,
        "ratio_api_over_raw": {k: round(api[k] / raw[k], 2) for k in ("p50_ms", "p99_ms", "mean_ms")},
        "api_statuses": statuses,
    }


def gid(raw_id: str) -> str:
    """The User global ID of ``raw_id``."""
    return str(to_global_id("User", raw_id))


def _md_row(label: str, n: str, s: dict[str, float], unit: str) -> str:
    return f"| {label} | {n} | {s['p50_ms']:.2f}{unit} | {s['p99_ms']:.2f}{unit} | {s['mean_ms']:.2f}{unit} |"


def write_results(result: dict[str, Any]) -> None:
    """Print the table and write ``bench/results/follow.json`` and ``follow.md``."""
    table = Table(title="follow: API vs the same Cypher statement through the driver (ms)")
    for column in ("path", "n", "p50", "p99", "mean"):
        table.add_column(column, justify="right" if column != "path" else "left")
    for label, key in (
        ("GraphQL follow (in-process ASGI)", "api_follow"),
        ("raw FOLLOW statement", "raw_cypher_follow"),
    ):
        s = result[key]
        table.add_row(label, str(s["n"]), f"{s['p50_ms']:.2f}", f"{s['p99_ms']:.2f}", f"{s['mean_ms']:.2f}")
    ratio = result["ratio_api_over_raw"]
    table.add_row(
        "ratio API / raw",
        "",
        f"{ratio['p50_ms']:.2f}x",
        f"{ratio['p99_ms']:.2f}x",
        f"{ratio['mean_ms']:.2f}x",
    )
    console.print(table)
    console.print(f"graph round trips per API follow: {result['api_graph_round_trips_per_follow']}")
    seed = result["seed"]
    console.print(
        f"seed import: {seed['users']:,} users, {seed['follows']:,} FOLLOWS in {seed['first_run_s']:.2f} s; "
        f"second run {seed['second_run_s']:.2f} s, {seed['second_run_changes']} changes"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "follow.json").write_text(json.dumps(result, indent=2) + "\n")
    api, raw = result["api_follow"], result["raw_cypher_follow"]
    md = [
        "# follow benchmark",
        "",
        f"Run {result['run']['at']} on {result['run']['machine']} ({result['run']['backend']}); "
        "`bench/bench_follow.py`, one run, loops interleaved, sequential, every follow a new edge.",
        "",
        "| path | n | p50 ms | p99 ms | mean ms |",
        "|---|---:|---:|---:|---:|",
        _md_row("GraphQL `follow` (in-process ASGI)", str(api["n"]), api, ""),
        _md_row("raw `follows.FOLLOW` via driver", str(raw["n"]), raw, ""),
        _md_row("ratio API / raw", "", ratio, "x"),
        "",
        f"Graph round trips per API follow: {result['api_graph_round_trips_per_follow']}.",
        "",
        f"Seed (`import_snap_graph`, batches of 5,000): {seed['users']:,} users and "
        f"{seed['follows']:,} FOLLOWS in {seed['first_run_s']:.2f} s; "
        f"a second run took {seed['second_run_s']:.2f} s and changed {seed['second_run_changes']} things.",
        "",
    ]  # fmt: skip
    (RESULTS / "follow.md").write_text("\n".join(md))


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Use the stack in ``--services`` or start one in a temp dir; run; return the results."""
    meta = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()} {platform.system()}, python {platform.python_version()}",
        "backend": "FalkorDB (embedded)",
        "n": args.n,
    }  # fmt: skip
    if args.services:
        result = await run(args, StackInfo.read(Path(args.services)))
    else:
        with tempfile.TemporaryDirectory(prefix="bench_follow_") as tmp:
            stack = EmbeddedStack(
                Path(tmp),
                s3_access_key="bench-follow",
                s3_secret_key="bench-follow-secret-key",
                s3_bucket="bench",
            )
            info = await stack.start()
            try:
                result = await run(args, info)
            finally:
                await stack.stop()
    result["run"] = meta
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", help="services.json of a running stack (default: start one)")
    parser.add_argument("--edges", help="SNAP edge list (default: settings.seed_graph_path)")
    parser.add_argument("--n", type=int, default=300, help="measured follows per path")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured follows per path first (<= 30)")
    parser.add_argument("--seed", type=int, default=107, help="random seed for the pairs")
    parser.add_argument("--keep", action="store_true", help="keep the bench graph")
    write_results(asyncio.run(main(parser.parse_args())))
