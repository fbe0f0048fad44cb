"""Stories benchmark on the seeded SNAP data (a benchmark, not a test: nothing here gates CI on a time).

Measured side by side in ONE run on one machine; the ratios are what to read:

1. Ring read over HTTP: ``storiesRing(first: 20)`` (users, stories with their presigned media URL and seen
   flags) for ``fb_107``, who follows 1,045 users, beside the trivial ``{ __typename }`` on the same uvicorn
   server, on the stack ``bench/stack.py`` seeds (``instagraph seed``: SNAP graph, posts, engagement,
   notifications and ``seed.stories``' stories), loaded by ``wrk -t1 -c8`` (``bench/wrk.py``; ``make
   bench-deps`` installs wrk) for ``--seconds`` per query, the two interleaved over ``--rounds`` rounds
   (medians reported). Also the round trips of one ring page (graph statements, Redis pipelines) from the
   services' own counters.
2. Expiry: ``--stories`` (10,000) ACTIVE stories past their ``expires_at``, each with its original and three
   variants in S3, spread over the SNAP users; then ``StoryExpiryService.announce_due`` (the Redis schedule
   -> ``story.expired`` through the outbox) and ``StoryExpiryService.sweep`` (the reconciliation in the graph
   that expires them with the consumer down and deletes their 4 objects each from S3), in stories/s; the
   S3 deletes are then checked with HEADs of a sample (404).

Run: ``.venv/bin/python bench/bench_stories.py [--data-dir DIR]`` (a seeded stack in a temp dir unless
``--data-dir``; stories expire, so a kept data dir older than a day needs ``--reseed``). Results:
``bench/results/stories.json`` and ``bench/results/stories.md``.
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
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import orjson  # noqa: E402

from bench.stack import console, seeded_stack  # noqa: E402
from bench.wrk import WrkResult, run_wrk, wrk_binary  # noqa: E402
from graph.cypher import cypher  # noqa: E402
from media.errors import ObjectMissing  # noqa: E402
from runtime.container import build_services  # noqa: E402
from runtime.resources import open_resources  # noqa: E402
from seed.stories import SEED_VIEWER  # noqa: E402
from services.story_expiry import media_keys  # noqa: E402
from services.story_media import STORY_CACHE, story_variant_key  # noqa: E402

if TYPE_CHECKING:
    from runtime.settings import Settings

RESULTS = ROOT / "bench" / "results"
TYPENAME = {"query": "{ __typename }"}
RING = {
    "query": "{ storiesRing(first: 20) { edges { cursor node { user { username } hasUnseen latestAt "
    "stories { id viewerHasSeen media { url(size: FEED) } } } } pageInfo { hasNextPage endCursor } } }"
}

USER_BY_NAME = cypher("bench.stories.USER_BY_NAME", "MATCH (u:User {username: $u}) RETURN u.id AS id", system=True)
USER_IDS = cypher("bench.stories.USER_IDS", "MATCH (u:User) RETURN u.id AS id ORDER BY id LIMIT $limit", system=True)
CREATE_DUE = cypher(
    "bench.stories.CREATE_DUE",
    """
    UNWIND $rows AS row
    MATCH (a:User {id: row.author_id})
    CREATE (a)-[:POSTED_STORY]->(s:Story)
    SET s = row.story
    CREATE (s)-[:HAS_MEDIA {position: 0}]->(m:Media)
    SET m = row.media
    RETURN count(s) AS created
    """,
    write=True,
    system=True,
)
STATES = cypher(
    "bench.stories.STATES",
    "UNWIND $ids AS i MATCH (s:Story {id: i}) RETURN s.status AS status, s.media_state AS media, count(s) AS n",
    system=True,
)


async def ring_round_trips(settings: Settings) -> dict[str, int]:
    """Graph statements and Redis pipelines of one ring page of fb_107, from the services' counters."""
    async with open_resources(settings) as resources, build_services(resources) as services:
        viewer = (await resources.graph.read(USER_BY_NAME, {"u": SEED_VIEWER}))[0]["id"]
        await services.story_ring.ring(viewer, 20, None)
        graph_before, redis_before = resources.graph.round_trips, services.stories.cache.round_trips
        page = await services.story_ring.ring(viewer, 20, None)
        return {
            "items": len(page.items),
            "stories": sum(len(item.stories) for _, item in page.items),
            "graph_statements": resources.graph.round_trips - graph_before,
            "redis_round_trips": services.stories.cache.round_trips - redis_before,
        }


async def bench_ring(base_url: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    """Stage 1 (see the module docstring): interleaved wrk rounds of the ring and ``{ __typename }``."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        sample = (await client.post("/graphql", json=RING, headers={"Authorization": f"Bearer {token}"})).json()
    if sample.get("errors") or not sample["data"]["storiesRing"]["edges"]:
        raise RuntimeError(f"the ring of {SEED_VIEWER} is empty or failed: {str(sample)[:300]}")
    url = f"{base_url}/graphql"
    loads: dict[str, dict[str, Any]] = {
        "typename": {"bodies": [TYPENAME]},
        "ring": {"bodies": [RING], "tokens": [token]},
    }

    def load(name: str, seconds: float) -> WrkResult:
        return run_wrk(url, seconds=seconds, **loads[name])

    for name in loads:  # warm: plans cached, URLs signed, connections pooled
        await asyncio.to_thread(load, name, 2.0)
    rounds: list[dict[str, WrkResult]] = []
    for r in range(args.rounds):
        measured: dict[str, WrkResult] = {}
        for name in list(loads) if r % 2 == 0 else list(loads)[::-1]:
            measured[name] = res = await asyncio.to_thread(load, name, args.seconds)
            console.print(f"round {r + 1} {name}: {res.requests_per_s:.0f} req/s, p50 {res.p50_ms:.2f} ms, "
                          f"p99 {res.p99_ms:.2f} ms")  # fmt: skip
        rounds.append(measured)
    return {
        "page": {"items": len(sample["data"]["storiesRing"]["edges"]),
                 "stories": sum(len(e["node"]["stories"]) for e in sample["data"]["storiesRing"]["edges"])},
        "rounds": [{name: res.as_dict() for name, res in m.items()} for m in rounds],
        "median": {
            name: {k: statistics.median(m[name].as_dict()[k] for m in rounds)
                   for k in ("req_per_s", "p50_ms", "p99_ms")}
            for name in loads
        },
        "ring / typename req/s": round(
            statistics.median(m["ring"].requests_per_s / m["typename"].requests_per_s for m in rounds), 3
        ),
    }  # fmt: skip


async def bench_expiry(settings: Settings, count: int) -> dict[str, Any]:
    """Stage 2 (see the module docstring)."""
    async with open_resources(settings) as resources, build_services(resources) as services:
        graph, store = resources.graph, resources.objects
        authors = [r["id"] for r in await graph.read(USER_IDS, {"limit": 4_000})]
        now = services.stories.clock.now_ms()
        rows, ids = [], []
        for i in range(count):
            story_id, media_id = f"bench-{secrets.token_hex(8)}", f"m-{secrets.token_hex(8)}"
            variants = {size: story_variant_key(story_id, media_id, size) for size in ("THUMBNAIL", "FEED", "FULL")}
            rows.append({
                "author_id": authors[i % len(authors)],
                "story": {"id": story_id, "status": "ACTIVE", "audience": "FOLLOWERS", "created_at": now - 86_401_000,
                          "updated_at": now - 86_401_000, "expires_at": now - 1_000 - i, "media_state": "LIVE"},
                "media": {"id": media_id, "key": f"originals/{story_id}/{media_id}", "content_type": "image/jpeg",
                          "byte_size": 64, "variants": orjson.dumps(variants).decode(), "width": 8, "height": 8},
            })  # fmt: skip
            ids.append(story_id)
        started = time.perf_counter()
        for start in range(0, count, 1_000):
            await graph.write(CREATE_DUE, {"rows": rows[start : start + 1_000]})
        keys = [key for row in rows for key in media_keys(row["story"]["id"], [row["media"]])]
        gate = asyncio.Semaphore(32)

        async def put(key: str) -> None:
            async with gate:
                await store.put(key, b"\xff\xd8\xff" + b"\0" * 61, content_type="image/jpeg", cache_control=STORY_CACHE)

        await asyncio.gather(*(put(k) for k in keys))
        for row in rows:  # what the media worker does on publish
            await services.story_media.list_live(row["author_id"], row["story"]["id"], row["story"]["expires_at"])
        setup_s = time.perf_counter() - started

        started = time.perf_counter()
        announced = await services.story_expiry.announce_due()
        announce_s = time.perf_counter() - started
        trips = graph.round_trips
        started = time.perf_counter()
        swept = await services.story_expiry.sweep()
        sweep_s = time.perf_counter() - started
        states = await graph.read(STATES, {"ids": ids})
        sample = keys[:: max(1, len(keys) // 200)]
        left = 0
        for key in sample:
            try:
                await store.head(key)
                left += 1
            except ObjectMissing:
                pass
    return {
        "stories": count,
        "objects": len(keys),
        "setup_seconds": round(setup_s, 1),
        "announce": {"announced": announced, "seconds": round(announce_s, 2),
                     "stories_per_s": round(announced / announce_s, 1)},
        "sweep": {"expired": swept.expired, "purged": swept.purged, "seconds": round(sweep_s, 2),
                  "stories_per_s": round(swept.expired / sweep_s, 1),
                  "objects_deleted_per_s": round(swept.purged * 4 / sweep_s, 1),
                  "graph_statements": graph.round_trips - trips},
        "states_after": {f"{r['status']}/{r['media']}": r["n"] for r in states},
        "sampled_objects_left": f"{left} of {len(sample)}",
    }  # fmt: skip


def write_results(result: dict[str, Any]) -> None:
    """``bench/results/stories.json`` and ``stories.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "stories.json").write_text(json.dumps(result, indent=2) + "\n")
    ring, expiry, trips = result["ring"], result["expiry"], result["ring_round_trips"]
    med = ring["median"]
    lines = [
        f"# Stories benchmark ({result['when']}, {result['machine']})",
        "",
        f"## Ring read for {SEED_VIEWER} (follows 1,045 users; {ring['page']['items']} items and "
        f"{ring['page']['stories']} stories on the page)",
        "",
        f"wrk -t1 -c8, median of {len(ring['rounds'])} interleaved rounds of {result['parameters']['seconds']} s "
        "per query; one API process on the seeded SNAP data.",
        "",
        "| query | req/s | p50 | p99 | / typename |",
        "|---|---|---|---|---|",
        f"| `{{ __typename }}` | {med['typename']['req_per_s']:.0f} | {med['typename']['p50_ms']} ms | "
        f"{med['typename']['p99_ms']} ms | 1.0 |",
        f"| `storiesRing(first: 20)` | {med['ring']['req_per_s']:.0f} | {med['ring']['p50_ms']} ms | "
        f"{med['ring']['p99_ms']} ms | {ring['ring / typename req/s']} |",
        "",
        f"One page: {trips['graph_statements']} graph statements and {trips['redis_round_trips']} Redis pipelines.",
        "",
        f"## Expiry of {expiry['stories']:,} due stories ({expiry['objects']:,} S3 objects)",
        "",
        "| step | stories | seconds | stories/s |",
        "|---|---|---|---|",
        f"| announce (Redis schedule -> `story.expired` in the outbox) | {expiry['announce']['announced']} | "
        f"{expiry['announce']['seconds']} | {expiry['announce']['stories_per_s']} |",
        f"| sweep (graph: expire; S3: delete 4 objects each) | {expiry['sweep']['expired']} | "
        f"{expiry['sweep']['seconds']} | {expiry['sweep']['stories_per_s']} |",
        "",
        f"Sweep: {expiry['sweep']['objects_deleted_per_s']} objects deleted/s, {expiry['sweep']['graph_statements']} "
        f"graph statements; after it: {expiry['states_after']}; sampled objects left: "
        f"{expiry['sampled_objects_left']}.",
        "",
    ]
    (RESULTS / "stories.md").write_text("\n".join(lines))


async def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Both stages on a seeded stack in ``data_dir``; returns the result document."""
    async with seeded_stack(data_dir, port=args.port, reseed=args.reseed, workers=False) as run:
        token = (await run.tokens([SEED_VIEWER]))[SEED_VIEWER]
        console.print("stage 1: storiesRing vs { __typename } with wrk")
        ring = await bench_ring(run.base_url, token, args)
        trips = await ring_round_trips(run.settings)
        console.print(f"stage 2: expiry of {args.stories:,} due stories")
        expiry = await bench_expiry(run.settings, args.stories)
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {wrk_binary()}",
        "parameters": vars(args),
        "ring": ring,
        "ring_round_trips": trips,
        "expiry": expiry,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep the stack's data here (seeded once); default: a temp dir")
    parser.add_argument("--reseed", action="store_true", help="seed even when --data-dir was seeded before")
    parser.add_argument("--port", type=int, default=18090, help="API port on 127.0.0.1")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per query and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--stories", type=int, default=10_000, help="due stories for the expiry stage")
    args = parser.parse_args()
    wrk_binary()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_stories_")).resolve()
    result = asyncio.run(measure(args, data_dir))
    write_results(result)
    console.print_json(json.dumps({"ring": result["ring"]["median"], "expiry": result["expiry"]}))
    console.print(f"results: {RESULTS / 'stories.json'}, {RESULTS / 'stories.md'}")


if __name__ == "__main__":
    cli()
