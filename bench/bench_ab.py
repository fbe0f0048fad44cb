"""A/B of the feed's throughput: this checkout's API against another revision's, on one stack, with wrk.

A change worth a few percent cannot be seen in two runs of ``bench/bench_http.py`` on these shared cores: the
machine's speed moves by up to 25 % within minutes (``/healthz`` fell from 15,285 to 10,150 req/s across one
run with nothing else running). Here both APIs serve the same seeded stack (``bench/stack.py``, workers on)
at the same time, and wrk alternates between them within seconds, so drift hits both alike:

- A: this checkout's API (the one ``bench/stack.seeded_stack`` starts);
- B: ``--base`` (a git revision, default ``main``) checked out in a temporary ``git worktree`` and served by
  the same interpreter (``python -m server.cli serve`` run from the worktree imports the worktree's code);
- each round runs ``feed(first: 10)`` (``bench/bench_http.FEED``) for ``--seconds`` and ``{ __typename }``
  for ``--seconds``, on A then B, the order swapped every other round; ``--viewer hub`` loads the feed of
  ``fb_107``, ``viewers`` (default) 20 of its followers in turn, as in ``bench_http.py``.

Printed and written to ``bench/results/ab.md``: per API the feed req/s of each round, the medians, the ratio
feed/typename, and B/A of both. Compare the ratios: each API's own ``{ __typename }`` takes out what slows one
process as a whole. An A/A run (``--base HEAD``, the same code twice, 8 rounds) measured B/A 0.898 for the
feed's req/s and 0.916 for typename's, but 0.978 for the ratio: the second process was slower at everything.
Needs ``wrk`` (``make bench-deps``) and ``git``.

Run: ``.venv/bin/python bench/bench_ab.py --data-dir DIR [--base main] [--rounds 10] [--seconds 6]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_http import BENCH_LIMITS, FEED, HUB, TYPENAME  # noqa: E402
from bench.stack import console, seeded_stack, snap_neighbours, wait_ready  # noqa: E402
from bench.wrk import run_wrk, wrk_binary  # noqa: E402
from devstack.processes import ManagedProcess  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


async def measure(args: argparse.Namespace, data_dir: Path, base_dir: Path) -> dict[str, dict[str, list[float]]]:
    """``{"A"|"B": {"feed": [req/s per round], "typename": [...]}}``."""
    env = {"INSTAGRAPH_RATE_LIMITS": BENCH_LIMITS}
    async with seeded_stack(data_dir, port=args.port, reseed=False, env=env) as run:
        neighbours = snap_neighbours(ROOT / run.settings.seed_graph_path, int(HUB.split("_")[1]))
        followers = [f"fb_{n}" for n in neighbours[:: max(1, len(neighbours) // 20)][:20]]
        viewers = [HUB] if args.viewer == "hub" else followers
        tokens = await run.tokens(viewers)
        b = ManagedProcess(
            "api-b", [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(args.port + 1)],
            log_path=data_dir / "logs" / "api-b.log", env=dict(os.environ), cwd=base_dir,
        )  # fmt: skip
        b.start()
        try:
            await wait_ready(f"http://127.0.0.1:{args.port + 1}", b)
            urls = {"A": f"{run.base_url}/graphql", "B": f"http://127.0.0.1:{args.port + 1}/graphql"}
            feed = {"bodies": [FEED], "tokens": [tokens[v] for v in viewers]}
            for url in urls.values():  # warm both: the post content cache, the token cache, the plan caches
                await asyncio.to_thread(run_wrk, url, seconds=3.0, **feed)
            results: dict[str, dict[str, list[float]]] = {k: {"feed": [], "typename": []} for k in urls}
            for i in range(args.rounds):
                for name in ("A", "B") if i % 2 == 0 else ("B", "A"):
                    f = await asyncio.to_thread(run_wrk, urls[name], seconds=args.seconds, **feed)
                    t = await asyncio.to_thread(run_wrk, urls[name], seconds=args.seconds, bodies=[TYPENAME])
                    results[name]["feed"].append(f.requests_per_s)
                    results[name]["typename"].append(t.requests_per_s)
                    console.print(f"round {i + 1} {name}: feed {f.requests_per_s:.0f} req/s, "
                                  f"typename {t.requests_per_s:.0f} req/s")  # fmt: skip
            return results
        finally:
            await b.stop()


def report(args: argparse.Namespace, head: str, base: str, results: dict[str, dict[str, list[float]]]) -> str:
    """The markdown of ``bench/results/ab.md``."""
    med = {k: {m: statistics.median(v[m]) for m in v} for k, v in results.items()}
    ratio = {k: med[k]["feed"] / med[k]["typename"] for k in med}
    who = HUB if args.viewer == "hub" else "20 viewers in turn"
    lines = [
        f"# Feed A/B, wrk -t1 -c8 ({time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, {wrk_binary()})",
        "",
        f"`feed(first: 10)` as {who} and `{{ __typename }}`, {args.rounds} rounds of {args.seconds} s each, "
        "A and B alternating on one seeded stack.",
        "",
        "| API | revision | feed req/s per round | feed median | typename median | feed / typename |",
        "|---|---|---|---|---|---|",
        *(
            f"| {k} | `{rev}` | {', '.join(f'{x:.0f}' for x in results[k]['feed'])} | {med[k]['feed']:.0f} "
            f"| {med[k]['typename']:.0f} | {ratio[k]:.3f} |"
            for k, rev in (("A", head), ("B", base))
        ),
        "",
        f"B/A feed req/s: {med['B']['feed'] / med['A']['feed']:.3f}; B/A feed/typename: {ratio['B'] / ratio['A']:.3f} "
        "(compare this one: see the module docstring).",
        "",
    ]
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="the seeded stack's data (seeded on first use)")
    parser.add_argument("--base", default="main", help="git revision served as B")
    parser.add_argument("--port", type=int, default=18091, help="A's port on 127.0.0.1 (B's is the next)")
    parser.add_argument("--seconds", type=int, default=6, help="wrk duration per load, API and round")
    parser.add_argument("--rounds", type=int, default=10, help="rounds (A and B each once per round)")
    parser.add_argument("--viewer", choices=("viewers", "hub"), default="viewers", help="whose feed")
    args = parser.parse_args()
    wrk_binary()
    head = _git("rev-parse", "--short", "HEAD") + (" (+ changes)" if _git("status", "--porcelain") else "")
    base = _git("rev-parse", "--short", args.base)
    base_dir = Path(tempfile.mkdtemp(prefix="bench_ab_")) / "base"
    _git("worktree", "add", "--detach", str(base_dir), args.base)
    try:
        results = asyncio.run(measure(args, Path(args.data_dir).resolve(), base_dir))
    finally:
        _git("worktree", "remove", "--force", str(base_dir))
    text = report(args, head, base, results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ab.md").write_text(text)
    console.print(text)


if __name__ == "__main__":
    cli()
