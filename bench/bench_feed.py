"""Home-feed benchmark on the seeded SNAP data (a benchmark, not a test: nothing here gates CI on a time).

Everything is measured side by side in ONE run on one machine, and the ratios are what to read (the API
over HTTP is ``bench/bench_http.py``'s, measured with wrk: a Python client on the same 2 cores saturates
before the server does):

1. Fan-out on write: ``FanoutService.fan_out_post`` for a post by the 1,045-follower hub ``fb_107`` (graph
   paging of followers + pipelined ``ZADD`` + ``ZREMRANGEBYRANK``) vs the raw ceiling: one pipelined ``ZADD``
   per follower feed on the same Redis (and ``ZADD`` + trim without the graph, for reference), in feed
   inserts per second; plus the end-to-end time for the ``fanout`` worker process (Kafka -> worker -> Redis).
2. Read strategy: the hybrid read (``FeedService.home_feed``: ``feed:{uid}`` + celebrities' ``posts:{c}``,
   filtered in the graph) vs the pure graph pull (``FeedService.pull_feed``, the seed's "social graph
   traversal at read" row) for the same viewers, in-process, skeleton pages of 10 (the hybrid read without
   the API's hydration: ``home_feed``, not ``read_home_feed``, so that both sides return post ids only).
3. Peak RSS (``VmHWM`` of ``/proc/<pid>/status``) of the API process and of every worker process.

Run: ``.venv/bin/python bench/bench_feed.py`` (starts its own seeded embedded stack with the workers,
``bench/stack.py``).
``--data-dir DIR`` keeps the stack's data in DIR and skips the seed when DIR was seeded before
(``--reseed`` forces it). Results: ``bench/results/feed.json`` and ``bench/results/feed.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
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
from cache.feed import FeedCache  # noqa: E402
from events.envelope import Event  # noqa: E402
from events.producer import EventProducer  # noqa: E402
from graph.statements import fanout as fanout_stmts  # noqa: E402
from runtime.container import build_services  # noqa: E402
from runtime.resources import open_resources  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from services.fanout import FanoutService  # noqa: E402
from services.feed import FeedService  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HUB = "fb_107"


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
    fan, reads, r = result["fanout"], result["reads"], result["ratios"]
    lines = [
        "# Feed benchmark",
        "",
        f"Run {result['when']} on the seeded SNAP data ({result['machine']}); one run, side by side. The API "
        "over HTTP: `bench/results/http.md` (wrk).",
        "",
        "| measurement | throughput | p50 | p99 |",
        "|---|---|---|---|",
        *(
            _row(f"{name} read, {group} (in-process, serial)", reads[group][name], "pages/s")
            for group in reads
            for name in ("hybrid", "hybrid+celebs", "pull")
        ),
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
    """Run every stage on a fresh (or kept) seeded stack in ``data_dir``; returns the result document."""
    async with seeded_stack(data_dir, port=args.port, reseed=args.reseed) as run:
        settings = run.settings
        neighbours = snap_neighbours(ROOT / settings.seed_graph_path, int(HUB.split("_")[1]))
        viewers = [f"fb_{n}" for n in neighbours[:: max(1, len(neighbours) // args.viewers)][: args.viewers]]
        console.print("stage 1: fan-out")
        fan = await bench_fanout(settings, args.fanout_rounds)
        worker_fan = await bench_worker_fanout(settings, fan, max(3, args.fanout_rounds // 4))
        console.print("stage 2: hybrid vs pull reads")
        reads = await bench_reads(
            settings, {"followers of fb_107": viewers, "hub viewers": list(HUBS)}, args.read_rounds
        )
        rss = {
            "api": peak_rss_mib(run.api.pid),
            **{f"worker {n}": peak_rss_mib(p.pid) for n, p in run.workers.items()},
        }
    for key in ("users", "post_id", "hub_id"):
        fan.pop(key)
    ratios = {
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
        "seed_seconds": run.seed_seconds,
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
    parser.add_argument("--viewers", type=int, default=40, help="viewers (followers of fb_107)")
    parser.add_argument("--fanout-rounds", type=int, default=20, help="fan-out repetitions")
    parser.add_argument("--read-rounds", type=int, default=5, help="reads per viewer per strategy")
    args = parser.parse_args()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_feed_")).resolve()
    result = asyncio.run(main(args, data_dir))
    write_results(result)
    console.print_json(json.dumps(result["ratios"]))
    console.print(f"results: {RESULTS / 'feed.json'}, {RESULTS / 'feed.md'}")


if __name__ == "__main__":
    cli()
