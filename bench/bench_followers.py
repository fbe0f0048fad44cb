"""Followers page latency as one account's followers grow 1x -> 10x -> 100x (a benchmark, not a test).

On the seeded SNAP stack (``bench/stack.py``), the hub ``fb_107`` (1,045 followers) gets SYNTHETIC followers
written straight to the graph (users ``bench_synthetic_<n>`` with ``synthetic: true``, FOLLOWS edges with
``synthetic: true``, the hub's ``follower_count`` raised to match) until it has 10x, then 100x its real
followers. At each size its ``followers`` index (``cache.edge_index``) is dropped; one read (served by the
graph's keyset statement) asks for it and the ``edge-indexes`` job's step builds it (the build time is
reported: O(edges), once, off the request path); then it is measured with wrk (``-t1 -c8``):

- ``followers(first: 20)``, the first page;
- ``followers(first: 20, after: <the cursor of the middle follower>)``, a page deep in the list;

each beside ``{ __typename }`` from the same run, plus the graph's own keyset statement (``FOLLOWERS_PAGE``,
the fallback when Redis is down, O(edges)) timed directly for contrast. The synthetic users are removed at the
end. Results: ``bench/results/followers.json`` and ``followers.md``. Needs ``wrk`` (``make bench-deps``).

Run: ``.venv/bin/python bench/bench_followers.py [--data-dir DIR] [--seconds 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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

from bench.stack import console, seeded_stack  # noqa: E402
from bench.wrk import run_wrk, wrk_binary  # noqa: E402
from cache.keys import RedisKeys  # noqa: E402
from graph.cypher import cypher  # noqa: E402
from graph.statements.follows import FOLLOWER_EDGES, FOLLOWERS_PAGE  # noqa: E402
from runtime.container import build_services  # noqa: E402
from runtime.resources import open_resources  # noqa: E402
from services.core.pagination import encode_cursor  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HUB = "fb_107"
BATCH = 5_000
TYPENAME = {"query": "{ __typename }"}
PAGE = """query($after: String) { user(username: "fb_107") { followers(first: 20, after: $after) {
  totalCount edges { cursor node { id username displayName } } pageInfo { hasNextPage endCursor } } } }"""

GROW = cypher(
    "bench.GROW_FOLLOWERS",
    """
    MATCH (hub:User {username: $hub})
    UNWIND $rows AS row
    CREATE (u:User {id: row.id, username: row.username, display_name: 'synthetic follower', synthetic: true,
                    created_at: row.at, follower_count: 0, following_count: 1, post_count: 0, is_private: false})
    CREATE (u)-[:FOLLOWS {created_at: row.at, synthetic: true}]->(hub)
    WITH hub, count(u) AS added
    SET hub.follower_count = coalesce(hub.follower_count, 0) + added
    RETURN hub.id AS id, hub.follower_count AS followers
    """,
    write=True,
    system=True,
)
DROP = cypher(
    "bench.DROP_SYNTHETIC",
    """
    MATCH (u:User {synthetic: true})-[:FOLLOWS]->(hub:User {username: $hub})
    WITH hub, u LIMIT $limit
    DETACH DELETE u
    WITH hub, count(*) AS removed
    SET hub.follower_count = hub.follower_count - removed
    RETURN removed
    """,
    write=True,
    system=True,
)
HUB_STATE = cypher(
    "bench.HUB_STATE",
    "MATCH (hub:User {username: $hub}) RETURN hub.id AS id, coalesce(hub.follower_count, 0) AS followers",
    system=True,
)


async def grow_to(graph: Any, target: int, base_ms: int) -> dict[str, Any]:
    """Add synthetic followers to the hub until it has ``target``; their edges are older than every real one
    (``base_ms`` minus their index), so real followers stay on the first page."""
    state = (await graph.read(HUB_STATE, {"hub": HUB}))[0]
    have = int(state["followers"])
    started = time.perf_counter()
    n = have
    while n < target:
        rows = [{"id": f"bench-synthetic-{i}", "username": f"bench_synthetic_{i}", "at": base_ms - i}
                for i in range(n, min(target, n + BATCH))]  # fmt: skip
        await graph.write(GROW, {"hub": HUB, "rows": rows})
        n += len(rows)
    return {"hub_id": state["id"], "followers": n, "grow_s": round(time.perf_counter() - started, 1)}


async def timed_statement(graph: Any, hub_id: str, after: tuple[int, str] | None, runs: int = 15) -> float:
    """Median ms of the graph's own keyset page statement (the fallback path) over ``runs`` runs."""
    params = {"viewer_id": None, "user_ids": [hub_id], "after_at": after[0] if after else None,
              "after_id": after[1] if after else None, "limit": 21}  # fmt: skip
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await graph.read(FOLLOWERS_PAGE, params)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


async def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Grow the hub's followers step by step and measure each size; returns the result document."""
    async with seeded_stack(data_dir, port=args.port, workers=False) as run:
        graphql = f"{run.base_url}/graphql"
        sizes: list[dict[str, Any]] = []
        async with open_resources(run.settings) as res, build_services(res) as services:
            real = int((await res.graph.read(HUB_STATE, {"hub": HUB}))[0]["followers"])
            base_ms = 1_000_000_000_000  # 2001: older than every seeded follow
            try:
                for factor in (1, 10, 100):
                    grown = await grow_to(res.graph, real * factor, base_ms)
                    key = RedisKeys(run.settings.redis_prefix).edge_index("followers", grown["hub_id"])
                    await res.cache.unlink(key)
                    async with httpx.AsyncClient(timeout=600) as client:  # served by the graph; asks for the index
                        (await client.post(graphql, json={"query": PAGE})).raise_for_status()
                    started = time.perf_counter()
                    await services.edge_pages.rebuild_wanted()  # the edge-indexes job's step
                    rebuild_s = time.perf_counter() - started
                    edges = await res.graph.read(FOLLOWER_EDGES, {"owner_id": grown["hub_id"]})
                    ordered = sorted(((int(e["created_at"]), e["id"]) for e in edges), reverse=True)
                    deep = ordered[len(ordered) // 2]  # the cursor of the middle follower
                    deep_body = {"query": PAGE, "variables": {"after": encode_cursor(*deep)}}
                    results = {}
                    for name, body in (("typename", TYPENAME), ("first_page", {"query": PAGE}),
                                       ("deep_page", deep_body)):  # fmt: skip
                        res_wrk = await asyncio.to_thread(run_wrk, graphql, bodies=[body], seconds=args.seconds)
                        results[name] = res_wrk.as_dict()
                        console.print(f"{factor}x {name}: {res_wrk.requests_per_s:.0f} req/s, "
                                      f"p50 {res_wrk.p50_ms:.2f} ms, p99 {res_wrk.p99_ms:.2f} ms")
                    graph_ms = await timed_statement(res.graph, grown["hub_id"], None)
                    console.print(f"{factor}x graph keyset statement (fallback): {graph_ms} ms")
                    sizes.append({"factor": factor, **grown, "index_rebuild_s": round(rebuild_s, 2),
                                  "wrk": results, "graph_statement_p50_ms": graph_ms})  # fmt: skip
            finally:
                while await res.graph.write(DROP, {"hub": HUB, "limit": BATCH}):
                    pass
                hub_id = (await res.graph.read(HUB_STATE, {"hub": HUB}))[0]["id"]
                await res.cache.unlink(RedisKeys(run.settings.redis_prefix).edge_index("followers", hub_id))
    first = sizes[0]["wrk"]
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average": os.getloadavg(),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {wrk_binary()}",
        "sizes": sizes,
        "p50_vs_1x": {
            f"{s['factor']}x": {k: round(s["wrk"][k]["p50_ms"] / first[k]["p50_ms"], 2)
                                for k in ("first_page", "deep_page")}
            for s in sizes
        },
    }


def write_results(result: dict[str, Any]) -> None:
    """``bench/results/followers.json`` and ``followers.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "followers.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Followers page as fb_107's followers grow ({result['when']}, {result['machine']})",
        "",
        "SYNTHETIC followers (users `bench_synthetic_<n>`, edges marked `synthetic: true`) written straight to the "
        "graph on top of the SNAP graph; wrk -t1 -c8, anonymous viewer; load average "
        f"{', '.join(f'{x:.2f}' for x in result['load_average'])}.",
        "",
        "| followers | first page req/s | p50 | p99 | deep page req/s | p50 | p99 | `{ __typename }` req/s "
        "| index rebuild (once) | graph keyset statement p50 (fallback) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in result["sizes"]:
        w = s["wrk"]
        lines.append(
            f"| {s['followers']:,} ({s['factor']}x) | {w['first_page']['req_per_s']:.0f} "
            f"| {w['first_page']['p50_ms']} ms "
            f"| {w['first_page']['p99_ms']} ms | {w['deep_page']['req_per_s']:.0f} | {w['deep_page']['p50_ms']} ms "
            f"| {w['deep_page']['p99_ms']} ms | {w['typename']['req_per_s']:.0f} | {s['index_rebuild_s']} s "
            f"| {s['graph_statement_p50_ms']} ms |"
        )
    lines += ["", f"p50 relative to 1x: `{json.dumps(result['p50_vs_1x'])}`", ""]
    (RESULTS / "followers.md").write_text("\n".join(lines))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep the stack's data here (seeded once); default: a temp dir")
    parser.add_argument("--port", type=int, default=18083, help="API port on 127.0.0.1")
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk duration per measurement")
    args = parser.parse_args()
    wrk_binary()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_followers_")).resolve()
    result = asyncio.run(measure(args, data_dir))
    write_results(result)
    console.print((RESULTS / "followers.md").read_text())


if __name__ == "__main__":
    cli()
