"""HTTP throughput of the API, measured with wrk side by side in one run (a benchmark, not a test).

On the seeded SNAP data (``bench/stack.py``: the real datasets through ``instagraph seed``, every post fanned
out by the real workers), one API process, ``wrk -t1 -c8`` from the same machine, each route for
``--seconds`` per round, the routes interleaved round by round so that drift on the shared 2 cores hits all
of them alike:

- ``GET /healthz``: a plain Starlette route, the HTTP ceiling;
- ``{ __typename }``: the GraphQL ceiling (parse, validate, execute, serialise; no store);
- ``feed(first: 10)`` with exactly the fields of the feed benchmark (id, caption, createdAt, likeCount,
  commentCount, viewerHasLiked, author {id username displayName}, media {url(size: FEED) width height},
  pageInfo), as ``fb_107`` (the 1,045-follower hub, who follows 1,045 accounts) and as 20 ordinary viewers
  (followers of ``fb_107``, one token per request in turn);
- then the feed of the 20 viewers offered at half its measured maximum rate, for the p99 at that load.

Ratios are each figure over ``{ __typename }`` from the same round (the median over rounds is reported).
Results: ``bench/results/http.json`` and ``bench/results/http.md``. Needs ``wrk`` (``make bench-deps``).

Run: ``.venv/bin/python bench/bench_http.py [--data-dir DIR] [--seconds 10] [--rounds 3]``.
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

from bench.stack import console, peak_rss_mib, seeded_stack, snap_neighbours  # noqa: E402
from bench.wrk import WrkResult, run_wrk, wrk_binary  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HUB = "fb_107"
TYPENAME = {"query": "{ __typename }"}
FEED = {
    "query": """query Feed {
  feed(first: 10) {
    edges { cursor node {
      id caption createdAt likeCount commentCount viewerHasLiked
      author { id username displayName }
      media { url(size: FEED) width height } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
}
#: The production budgets would stop a load generator within a second; raised for this process only.
BENCH_LIMITS = "feed=100000000/60"


async def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Run the rounds on a seeded stack in ``data_dir``; returns the result document."""
    env = {"INSTAGRAPH_RATE_LIMITS": BENCH_LIMITS}
    async with seeded_stack(data_dir, port=args.port, reseed=args.reseed, env=env) as run:
        neighbours = snap_neighbours(ROOT / run.settings.seed_graph_path, int(HUB.split("_")[1]))
        viewers = [f"fb_{n}" for n in neighbours[:: max(1, len(neighbours) // args.viewers)][: args.viewers]]
        tokens = await run.tokens([HUB, *viewers])
        graphql, healthz = f"{run.base_url}/graphql", f"{run.base_url}/healthz"
        loads: dict[str, dict[str, Any]] = {
            "healthz": {"url": healthz},
            "typename": {"url": graphql, "bodies": [TYPENAME]},
            "feed_hub": {"url": graphql, "bodies": [FEED], "tokens": [tokens[HUB]]},
            "feed_viewers": {"url": graphql, "bodies": [FEED], "tokens": [tokens[v] for v in viewers]},
        }

        def load(name: str, seconds: float, rate: float | None = None) -> WrkResult:
            spec = dict(loads[name])
            return run_wrk(spec.pop("url"), seconds=seconds, rate=rate, **spec)

        for name in loads:  # warm: plans cached, feeds rebuilt, connections pooled
            await asyncio.to_thread(load, name, 2.0)
        rounds: list[dict[str, WrkResult]] = []
        for r in range(args.rounds):
            measured: dict[str, WrkResult] = {}
            for name in list(loads) if r % 2 == 0 else list(loads)[::-1]:
                measured[name] = res = await asyncio.to_thread(load, name, args.seconds)
                console.print(f"round {r + 1} {name}: {res.requests_per_s:.0f} req/s, "
                              f"p50 {res.p50_ms:.2f} ms, p99 {res.p99_ms:.2f} ms")
            rounds.append(measured)
        max_feed = statistics.median(m["feed_viewers"].requests_per_s for m in rounds)
        half = await asyncio.to_thread(load, "feed_viewers", args.seconds, max_feed / 2)
        console.print(f"feed at half max ({max_feed / 2:.0f} req/s offered): {half.requests_per_s:.0f} req/s, "
                      f"p99 {half.p99_ms:.2f} ms")
        rss = peak_rss_mib(run.api.pid)
    ratios = {
        f"{name} / typename req/s": round(statistics.median(m[name].requests_per_s / m["typename"].requests_per_s
                                                            for m in rounds), 3)
        for name in ("healthz", "feed_hub", "feed_viewers")
    }
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {wrk_binary()}",
        "parameters": {**vars(args), "viewers": viewers},
        "rounds": [{name: res.as_dict() for name, res in m.items()} for m in rounds],
        "median": {
            name: {k: statistics.median(m[name].as_dict()[k] for m in rounds) for k in ("req_per_s", "p50_ms",
                                                                                      "p99_ms")}
            for name in loads
        },
        "feed_viewers_at_half_max": {"offered_req_per_s": round(max_feed / 2, 1), **half.as_dict()},
        "ratios": ratios,
        "api_peak_rss_mib": rss,
    }


def write_results(result: dict[str, Any]) -> None:
    """``bench/results/http.json`` and a markdown table ``http.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "http.json").write_text(json.dumps(result, indent=2) + "\n")
    med, half = result["median"], result["feed_viewers_at_half_max"]
    label = {
        "healthz": "`GET /healthz` (plain Starlette route)",
        "typename": "`{ __typename }`",
        "feed_hub": f"`feed(first: 10)` as {HUB}",
        "feed_viewers": f"`feed(first: 10)` as {len(result['parameters']['viewers'])} viewers in turn",
    }
    lines = [
        f"# HTTP throughput, wrk -t1 -c8 ({result['when']}, {result['machine']})",
        "",
        f"Median of {len(result['rounds'])} interleaved rounds of {result['parameters']['seconds']} s per route; "
        "one API process on the seeded SNAP data.",
        "",
        "| route | req/s | p50 | p99 | / typename |",
        "|---|---|---|---|---|",
        *(
            f"| {label[name]} | {med[name]['req_per_s']:.0f} | {med[name]['p50_ms']:.2f} ms "
            f"| {med[name]['p99_ms']:.2f} ms "
            f"| {result['ratios'].get(f'{name} / typename req/s', 1.0)} |"
            for name in ("healthz", "typename", "feed_hub", "feed_viewers")
        ),
        "",
        f"Feed of the viewers offered at half its maximum ({half['offered_req_per_s']} req/s): "
        f"{half['req_per_s']} req/s achieved, p50 {half['p50_ms']} ms, p99 {half['p99_ms']} ms.",
        f"API peak RSS: {result['api_peak_rss_mib']} MiB.",
        "",
    ]
    (RESULTS / "http.md").write_text("\n".join(lines))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep the stack's data here (seeded once); default: a temp dir")
    parser.add_argument("--reseed", action="store_true", help="seed even when --data-dir was seeded before")
    parser.add_argument("--port", type=int, default=18081, help="API port on 127.0.0.1")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per route and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--viewers", type=int, default=20, help="ordinary viewers (followers of fb_107)")
    args = parser.parse_args()
    wrk_binary()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_http_")).resolve()
    result = asyncio.run(measure(args, data_dir))
    write_results(result)
    console.print_json(json.dumps(result["ratios"]))
    console.print(f"results: {RESULTS / 'http.json'}, {RESULTS / 'http.md'}")


if __name__ == "__main__":
    cli()
