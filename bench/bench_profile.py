"""Where the API's CPU goes under feed load: py-spy sampling the API process while wrk drives the feed.

On the seeded stack of ``bench/stack.py`` (one API process), ``wrk -t1 -c8`` sends ``feed(first: 10)`` with the
fields of ``bench/bench_http.py`` as its 20 ordinary viewers in turn, and ``py-spy record --format raw`` samples
the API process (``run.api.pid``) for the same ``--seconds``. The collapsed stacks are folded into:

- ``self``: the share of samples whose innermost frame is in each function (``file:function``);
- ``inclusive``: the share of samples with each function anywhere on the stack;
- ``areas``: the share of samples by what they were doing, by the first matching rule of ``AREAS`` over the
  stack (graph reply decoding, GraphQL execution, HTTP, auth, Redis, ...).

Results: ``bench/results/profile.json`` and ``bench/results/profile.md`` (the top frames). Needs ``wrk``
and ``py-spy`` (``make bench-deps``); py-spy attaches with ptrace (root, or ``CAP_SYS_PTRACE``).

Run: ``.venv/bin/python bench/bench_profile.py [--data-dir DIR] [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_http import BENCH_LIMITS, FEED, HUB  # noqa: E402
from bench.stack import console, seeded_stack, snap_neighbours  # noqa: E402
from bench.wrk import WrkResult, run_wrk, wrk_binary  # noqa: E402

RESULTS = ROOT / "bench" / "results"

#: (area, substrings of a frame's ``file:function``): a sample counts for the first area (in this order) that
#: any frame of its stack matches, so reading a FalkorDB reply (redis-py's parser under the falkordb client)
#: counts as graph, a Redis call made by the auth code as Redis, and a service called by a resolver as the
#: feed pipeline rather than GraphQL execution.
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("graph (FalkorDB client, reply decoding)", ("falkordb", "graph/falkordb")),
    ("redis (client, parser, breaker)", ("redis/", "hiredis", "purgatory", "cache/client", "cache/breaker")),
    ("auth (JWT, session check)", ("jwt/", "services/auth", "services/sessions", "services/core/tokens")),
    ("GraphQL execution (graphql-core, strawberry)", ("graphql/", "strawberry/")),
    ("feed pipeline (services, cache, resolvers)", ("services/", "cache/", "resolvers/", "schema/")),
    ("HTTP (uvicorn, starlette, httptools, our middlewares)",
     ("uvicorn/protocols", "uvicorn/middleware", "starlette/", "httptools", "h11", "server/view", "server/app",
      "server/idempotency", "server/limits", "server/logs")),
    ("JSON", ("orjson", "json/")),
    ("asyncio event loop", ("asyncio/", "uvloop")),
)


def py_spy() -> str:
    """The ``py-spy`` next to this interpreter or on PATH; raises ``RuntimeError`` naming ``make bench-deps``."""
    here = Path(sys.executable).with_name("py-spy")
    found = str(here) if here.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed: run `make bench-deps`")
    return found


def _frame_key(frame: str) -> str:
    # raw frames look like "execute_field (graphql/execution/execute.py:534)"; keep file:function
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/perf/", "/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{name}"


def fold(raw: str) -> dict[str, Any]:
    """Fold py-spy's raw (collapsed) stacks ``"f1;f2;...;fn count"`` into self/inclusive/area shares (%)."""
    selfs: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_key(f) for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        selfs[frames[-1]] += count
        for key in set(frames):
            inclusive[key] += count
        area = next((a for a, subs in AREAS if any(s in f for f in frames for s in subs)), "other")
        areas[area] += count

    def shares(counter: collections.Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, round(100.0 * v / total, 1)) for k, v in counter.most_common(n)] if total else []

    return {"samples": total, "self": shares(selfs, 25), "inclusive": shares(inclusive, 40),
            "areas": shares(areas, 20)}


def record(url: str, spec: dict[str, Any], seconds: float, pid: int | None) -> tuple[WrkResult, str]:
    """``py-spy record`` of ``pid`` while ``run_wrk(url, **spec)`` runs for ``seconds``; returns the wrk result
    and the collapsed stacks. Raises ``RuntimeError`` when py-spy recorded nothing."""
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as handle:
        out = Path(handle.name)
    spy = subprocess.Popen(
        [py_spy(), "record", "--format", "raw", "--rate", "200", "--duration", f"{int(seconds)}",
         "--nonblocking", "--pid", str(pid), "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    load = run_wrk(url, seconds=seconds, **spec)
    spy.wait(seconds + 60)
    raw = out.read_text() if out.exists() else ""
    out.unlink(missing_ok=True)
    if not raw:
        raise RuntimeError(f"py-spy recorded nothing: {spy.stderr.read().decode() if spy.stderr else ''}")
    return load, raw


async def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Profile the API under the feed load on a seeded stack in ``data_dir``; returns the result document."""
    env = {"INSTAGRAPH_RATE_LIMITS": BENCH_LIMITS}
    async with seeded_stack(data_dir, port=args.port, reseed=False, env=env) as run:
        neighbours = snap_neighbours(ROOT / run.settings.seed_graph_path, int(HUB.split("_")[1]))
        viewers = [f"fb_{n}" for n in neighbours[:: max(1, len(neighbours) // 20)][:20]]
        tokens = await run.tokens(viewers)
        url = f"{run.base_url}/graphql"
        spec = {"bodies": [FEED], "tokens": [tokens[v] for v in viewers]}
        await asyncio.to_thread(run_wrk, url, seconds=3.0, **spec)  # warm: plans, feeds, caches
        load, raw = await asyncio.to_thread(record, url, spec, args.seconds, run.api.pid)
        (data_dir / f"profile-{args.label or 'current'}.raw").write_text(raw)  # collapsed stacks, for a re-fold
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "label": args.label,
        "load_average": os.getloadavg(),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {wrk_binary()}",
        "wrk": load.as_dict(),
        "profile": fold(raw),
    }


def write_results(result: dict[str, Any]) -> None:
    """``bench/results/profile[-label].json`` and a markdown summary ``.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "profile" + (f"-{result['label']}" if result["label"] else "")
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    prof, load = result["profile"], result["wrk"]
    lines = [
        f"# API profile under feed load ({result['label'] or 'current'}; {result['when']}, {result['machine']})",
        "",
        f"py-spy, {prof['samples']} samples of the API process while wrk -t1 -c8 sent `feed(first: 10)` as 20 "
        f"viewers in turn: {load['req_per_s']} req/s, p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms; "
        f"load average {', '.join(f'{x:.2f}' for x in result['load_average'])}.",
        "",
        "| area | % of samples |",
        "|---|---|",
        *(f"| {a} | {s} |" for a, s in prof["areas"]),
        "",
        "| innermost frame (self) | % |",
        "|---|---|",
        *(f"| `{f}` | {s} |" for f, s in prof["self"][:15]),
        "",
        "| on the stack (inclusive) | % |",
        "|---|---|",
        *(f"| `{f}` | {s} |" for f, s in prof["inclusive"][:25]),
        "",
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep the stack's data here (seeded once); default: a temp dir")
    parser.add_argument("--port", type=int, default=18082, help="API port on 127.0.0.1")
    parser.add_argument("--seconds", type=float, default=20.0, help="wrk and py-spy duration")
    parser.add_argument("--label", default="", help="suffix of the result files (e.g. before, after)")
    args = parser.parse_args()
    wrk_binary()
    py_spy()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_profile_")).resolve()
    result = asyncio.run(measure(args, data_dir))
    write_results(result)
    console.print((RESULTS / ("profile" + (f"-{args.label}" if args.label else "") + ".md")).read_text())


if __name__ == "__main__":
    cli()
