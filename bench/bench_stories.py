"""Stories benchmark on the seeded SNAP data (a benchmark, not a test: nothing here gates CI on a time).

Measured side by side in ONE run on one machine; the ratios are what to read:

1. Ring read over HTTP: ``storiesRing(first: 20)`` (users, stories with their presigned media URL and seen
   flags) for ``fb_107``, who follows 1,045 users, beside the trivial ``{ __typename }`` on the same uvicorn
   server (a child process on loopback), each loaded by ``wrk`` (Debian's; ``make bench-tools`` installs it)
   for ``--seconds`` with ``--connections`` connections: requests/s and p50/p99 from wrk's latency
   distribution, GraphQL errors counted by a Lua ``response`` hook (both scripts carry the same hook). Also
   the round trips of one ring page (graph statements, Redis pipelines) from the services' own counters.
2. Expiry: ``--stories`` (10,000) ACTIVE stories past their ``expires_at``, each with its original and three
   variants in S3, spread over the SNAP users; then ``StoryExpiryService.announce_due`` (the Redis schedule
   -> ``story.expired`` through the outbox) and ``StoryExpiryService.sweep`` (the reconciliation in the graph
   that expires them with the consumer down and deletes their 4 objects each from S3), in stories/s; the
   S3 deletes are then checked with HEADs of a sample (404).

Run: ``.venv/bin/python bench/bench_stories.py`` (starts its own embedded stack in a temp dir, imports the
SNAP graph and ``seed.stories``' stories through the real upload flow). Results:
``bench/results/stories.json`` and ``bench/results/stories.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
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

import httpx  # noqa: E402
import orjson  # noqa: E402
from rich.console import Console  # noqa: E402

from devstack.processes import ManagedProcess  # noqa: E402
from devstack.supervisor import EmbeddedStack  # noqa: E402
from graph.cypher import cypher  # noqa: E402
from graph.migrations import migrate  # noqa: E402
from media.errors import ObjectMissing  # noqa: E402
from runtime.bootstrap import prepare  # noqa: E402
from runtime.container import build_services  # noqa: E402
from runtime.resources import open_resources  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from seed.snap_graph import import_snap_graph  # noqa: E402
from seed.stories import SEED_VIEWER, seed_stories  # noqa: E402
from services.core.clock import now_ms  # noqa: E402
from services.core.passwords import Passwords  # noqa: E402
from services.story_expiry import media_keys  # noqa: E402
from services.story_media import STORY_CACHE, story_variant_key  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TRIVIAL = "{ __typename }"
RING = (
    "{ storiesRing(first: 20) { edges { cursor node { user { username } hasUnseen latestAt "
    "stories { id viewerHasSeen media { url(size: FEED) } } } } pageInfo { hasNextPage endCursor } } }"
)
LOGIN = "mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }"
console = Console()

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
USER_BY_NAME = cypher("bench.stories.USER_BY_NAME", "MATCH (u:User {username: $u}) RETURN u.id AS id", system=True)
STATES = cypher(
    "bench.stories.STATES",
    "UNWIND $ids AS i MATCH (s:Story {id: i}) RETURN s.status AS status, s.media_state AS media, count(s) AS n",
    system=True,
)

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) errors = 0 end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then errors = errors + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("errors") end
  io.write(string.format("graphql_errors %d\\n", total))
end
"""


def lua_string(text: str) -> str:
    """``text`` as a Lua long-bracket string literal."""
    level = "=" * 3
    return f"[{level}[{text}]{level}]"


def parse_wrk(out: str) -> dict[str, float]:
    """Requests/s, p50/p99 (ms), request count, socket errors and GraphQL errors from wrk ``--latency`` output."""

    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    dist = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)$", out, re.M))
    requests = re.search(r"(\d+) requests in", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"graphql_errors (\d+)", out)
    return {
        "per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": round(ms(dist["50"]), 2),
        "p99_ms": round(ms(dist["99"]), 2),
        "requests": int(requests.group(1)) if requests else 0,
        "socket_errors": sum(int(g) for g in socket.groups()) if socket else 0,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "graphql_errors": int(errors.group(1)) if errors else -1,
    }


def run_wrk(url: str, query: str, token: str | None, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    """Load ``url`` with ``query`` (as ``token``) for ``args.seconds``; wrk's figures (see ``parse_wrk``)."""
    script = workdir / f"wrk_{secrets.token_hex(3)}.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script.write_text(LUA.format(body=lua_string(orjson.dumps({"query": query}).decode()), auth=auth))
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", "-s",
           str(script), url]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=args.seconds + 60).stdout
    return parse_wrk(out)


def child(name: str, args: list[str], env: dict[str, str], logs: Path) -> ManagedProcess:
    """``python -m server.cli <args>`` as a managed child logging to ``logs/<name>.log``."""
    return ManagedProcess(
        name, [sys.executable, "-m", "server.cli", *args], log_path=logs / f"{name}.log", env=env, cwd=ROOT
    )


async def seed(settings: Settings, authors: int) -> dict[str, Any]:
    """The SNAP graph and ``seed.stories`` around fb_107 (``authors`` of its followees get stories)."""
    async with open_resources(settings) as resources, build_services(resources) as services:
        await migrate(resources.graph, now_ms=now_ms())
        password_hash = await Passwords().hash(settings.seed_password)
        graph = await import_snap_graph(resources.graph, ROOT / settings.seed_graph_path, password_hash)
        result = await seed_stories(
            services.stories, services.story_media, services.story_views, services.close_friends,
            resources.graph, images_dir=ROOT / settings.seed_images_dir, authors=authors,
        )  # fmt: skip
        return {"users": graph.users, "follows": graph.follows, "stories": result.published,
                "views": result.views, "seconds": round(result.seconds, 1)}  # fmt: skip


async def ring_round_trips(settings: Settings) -> dict[str, int]:
    """Graph statements and Redis pipelines of one ring page of fb_107, from the services' counters."""
    async with open_resources(settings) as resources, build_services(resources) as services:
        viewer = (await resources.graph.read(USER_BY_NAME, {"u": SEED_VIEWER}))[0]["id"]
        await services.story_ring.ring(viewer, 20, None)
        graph_before, redis_before = resources.graph.round_trips, services.stories.cache.round_trips
        page = await services.story_ring.ring(viewer, 20, None)
        return {
            "items": len(page.items),
            "graph_statements": resources.graph.round_trips - graph_before,
            "redis_round_trips": services.stories.cache.round_trips - redis_before,
        }


async def bench_ring(base_url: str, settings: Settings, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Stage 1 (see the module docstring)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        variables = {"l": SEED_VIEWER, "p": settings.seed_password}
        login = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
        token = login.json()["data"]["login"]["accessToken"]
        sample = (await client.post("/graphql", json={"query": RING},
                                    headers={"Authorization": f"Bearer {token}"})).json()  # fmt: skip
    if sample.get("errors"):
        raise RuntimeError(f"ring query failed: {sample['errors']}")
    edges = sample["data"]["storiesRing"]["edges"]
    url = f"{base_url}/graphql"
    trivial = run_wrk(url, TRIVIAL, None, args, workdir)
    ring = run_wrk(url, RING, token, args, workdir)
    return {
        "ring_items": len(edges),
        "ring_stories": sum(len(e["node"]["stories"]) for e in edges),
        "trivial": trivial,
        "ring": ring,
        "round_trips": await ring_round_trips(settings),
    }


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
    ring, expiry = result["ring"], result["expiry"]
    lines = [
        f"# Stories benchmark ({result['when']}, {result['machine']})",
        "",
        f"Seed: {result['seed']}. wrk: {result['parameters']['threads']} threads, "
        f"{result['parameters']['connections']} connections, {result['parameters']['seconds']} s per query.",
        "",
        f"## Ring read for {SEED_VIEWER} (follows 1,045 users; {ring['ring_items']} items, "
        f"{ring['ring_stories']} stories on the page)",
        "",
        "| query | req/s | p50 ms | p99 ms | requests | errors |",
        "|---|---|---|---|---|---|",
        *(
            f"| {label} | {r['per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['requests']} | "
            f"{r['socket_errors'] + r['non_2xx'] + max(r['graphql_errors'], 0)} |"
            for label, r in (("{ __typename }", ring["trivial"]), ("storiesRing(first: 20)", ring["ring"]))
        ),
        "",
        f"Ring / typename: {result['ratios']['ring / typename throughput']}x the throughput, "
        f"{result['ratios']['ring / typename p50']}x the p50. One page: {ring['round_trips']['graph_statements']} "
        f"graph statements and {ring['round_trips']['redis_round_trips']} Redis pipeline.",
        "",
        f"## Expiry of {expiry['stories']:,} due stories ({expiry['objects']:,} S3 objects)",
        "",
        "| step | stories | seconds | stories/s |",
        "|---|---|---|---|",
        f"| announce (Redis schedule -> story.expired outbox) | {expiry['announce']['announced']} | "
        f"{expiry['announce']['seconds']} | {expiry['announce']['stories_per_s']} |",
        f"| sweep (graph: expire, S3: delete 4 objects each) | {expiry['sweep']['expired']} | "
        f"{expiry['sweep']['seconds']} | {expiry['sweep']['stories_per_s']} |",
        "",
        f"Sweep: {expiry['sweep']['objects_deleted_per_s']} objects deleted/s, {expiry['sweep']['graph_statements']} "
        f"graph statements; after it: {expiry['states_after']}; sampled objects left: "
        f"{expiry['sampled_objects_left']}.",
        "",
    ]
    (RESULTS / "stories.md").write_text("\n".join(lines))


async def main(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Both stages on a fresh embedded stack in ``data_dir``; returns the result document."""
    logs = data_dir / "logs"
    base = Settings()
    stack = EmbeddedStack(
        data_dir / "stack", console=console,
        s3_access_key=base.s3_access_key, s3_secret_key=base.s3_secret_key, s3_bucket=base.s3_bucket,
    )  # fmt: skip
    api: ManagedProcess | None = None
    try:
        info = await stack.start()
        env = {**os.environ, **info.as_env(), "INSTAGRAPH_ENV": "prod", "INSTAGRAPH_DATA_DIR": str(data_dir)}
        os.environ.update(env)
        settings = Settings()
        await prepare(settings)
        seeded = await seed(settings, args.authors)
        console.print(f"seed: {seeded}")
        api = child("api", ["serve", "--host", "127.0.0.1", "--port", str(args.port)], env, logs)
        api.start()
        base_url = f"http://127.0.0.1:{args.port}"
        async with httpx.AsyncClient(timeout=2) as probe:
            for _ in range(300):
                try:
                    if (await probe.get(f"{base_url}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        console.print("stage 1: storiesRing vs { __typename } with wrk")
        ring = await bench_ring(base_url, settings, args, data_dir)
        await api.stop()
        api = None
        console.print(f"stage 2: expiry of {args.stories:,} due stories")
        expiry = await bench_expiry(settings, args.stories)
    finally:
        if api is not None:
            await api.stop()
        await stack.stop()
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "parameters": vars(args),
        "seed": seeded,
        "ring": ring,
        "expiry": expiry,
        "ratios": {
            "ring / typename throughput": round(ring["ring"]["per_s"] / ring["trivial"]["per_s"], 3),
            "ring / typename p50": round(ring["ring"]["p50_ms"] / ring["trivial"]["p50_ms"], 2),
            "ring / typename p99": round(ring["ring"]["p99_ms"] / ring["trivial"]["p99_ms"], 2),
        },
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18090, help="API port on 127.0.0.1")
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration per query")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--authors", type=int, default=30, help="followees of fb_107 given stories by the seed")
    parser.add_argument("--stories", type=int, default=10_000, help="due stories for the expiry stage")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run `make bench-tools` (Debian's wrk package)")
    data_dir = Path(tempfile.mkdtemp(prefix="bench_stories_")).resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    try:
        result = asyncio.run(main(args, data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    write_results(result)
    console.print_json(json.dumps({"ratios": result["ratios"], "expiry": result["expiry"]}))
    console.print(f"results: {RESULTS / 'stories.json'}, {RESULTS / 'stories.md'}")


if __name__ == "__main__":
    cli()
