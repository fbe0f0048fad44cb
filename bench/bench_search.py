"""Search benchmark on the seeded data (a benchmark, not a test: nothing here gates CI on a time).

On the seeded SNAP users and the 276 real captions (``bench/stack.py``: ``instagraph seed``, the real workers,
the indexer among them), side by side in ONE run:

1. HTTP with ``wrk -t1 -c8`` (``bench/wrk.py``), routes interleaved round by round: ``{ __typename }`` (the
   GraphQL ceiling of the same server), ``searchUsers`` (usernames, prefixes and typos in turn) and
   ``searchPosts`` (caption words and hashtags in turn), anonymous, each request from another of 10,000
   ``X-Forwarded-For`` addresses so that the per-client ``search`` budget (20 a minute) does not stop the load;
2. the direct index query, in this process, on the same Tantivy directory with the same queries
   (``SearchIndex.search_users`` / ``search_posts``): what the index costs without HTTP, GraphQL and the graph;
3. index lag: posts published through the real flow (createPost, presigned POST, completeUpload, the media
   worker), each timed from its ``published_at`` (the media worker's clock, same machine) until this process's
   index reader finds it (polled every 5 ms): publish -> outbox -> relay -> Kafka -> indexer -> commit;
4. reindex throughput (measured first, so that the index is complete whatever the seed did): one
   ``SearchIndexer.reindex`` of every user and PUBLISHED post, documents per second.

Results: ``bench/results/search.json`` and ``bench/results/search.md``. Needs ``wrk`` (``make bench-deps``).
Run: ``.venv/bin/python bench/bench_search.py [--data-dir DIR] [--seconds 10] [--rounds 3] [--lag-posts 30]``.
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

import httpx  # noqa: E402

from bench.stack import console, peak_rss_mib, seeded_stack  # noqa: E402
from bench.wrk import WrkResult, run_wrk, wrk_binary  # noqa: E402
from graph.cypher import cypher  # noqa: E402
from runtime.container import build_services  # noqa: E402
from runtime.resources import open_resources  # noqa: E402
from search.documents import PostQuery  # noqa: E402
from search.index import open_search_index  # noqa: E402
from services.posts import MediaSpec  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TYPENAME = {"query": "{ __typename }"}
USER_QUERIES = ["fb_107", "fb_10", "fb_35", "fb_1o7", "fb_2", "fb_348", "fb_1912", "fb_39", "fb_3437", "fb_68"]
POST_WORDS = ["data science", "python", "machine learning", "visualization", "learning", "projects"]
POST_TAGS = ["datascience", "python", "amankharwal", "machinelearning"]
SEARCH_USERS = "query($q: String!) { searchUsers(query: $q, first: 10) { id username followerCount } }"
SEARCH_POSTS = """query($q: String, $t: String) {
  searchPosts(query: $q, hashtag: $t, first: 10) {
    edges { cursor node { id caption likeCount author { username } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
PUBLISHED_AT = cypher(
    "bench.search.PUBLISHED_AT", "MATCH (p:Post {id: $id}) RETURN p.status AS status, p.published_at AS at",
    system=True,
)  # fmt: skip
#: In case the deployment reads configurable budgets: the benchmark's load must not be throttled.
BENCH_LIMITS = "search=100000000/60"


def _bodies() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    users = [{"query": SEARCH_USERS, "variables": {"q": q}} for q in USER_QUERIES]
    posts = [{"query": SEARCH_POSTS, "variables": {"q": w}} for w in POST_WORDS]
    posts += [{"query": SEARCH_POSTS, "variables": {"t": t}} for t in POST_TAGS]
    return users, posts


def _clients(count: int = 10_000) -> list[str]:
    return [f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}" for i in range(1, count + 1)]


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    cut = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
    return {"p50_ms": round(statistics.median(ordered), 3), "p95_ms": round(cut[94], 3),
            "p99_ms": round(cut[98], 3), "n": len(ordered)}  # fmt: skip


async def _check_answers(url: str, bodies: list[dict[str, Any]]) -> None:
    """Each body answers without GraphQL errors (wrk sees only HTTP statuses, and errors are 200s)."""
    async with httpx.AsyncClient(timeout=30) as client:
        for i, body in enumerate(bodies):
            answer = (await client.post(url, json=body, headers={"X-Forwarded-For": f"10.255.0.{i + 1}"})).json()
            if answer.get("errors"):
                raise RuntimeError(f"{body['variables']}: {answer['errors']}")
            console.print(f"  {body['variables']}: {str(answer['data'])[:100]}")


async def direct_queries(search_url: str, seconds: float) -> dict[str, dict[str, float]]:
    """Queries/s and latency of the index alone (this process, same directory, same queries)."""
    index = open_search_index(search_url)
    out: dict[str, dict[str, float]] = {}
    try:
        for name, calls in (
            ("users", [lambda q=q: index.search_users(q, 10) for q in USER_QUERIES]),
            ("posts", [lambda w=w: index.search_posts(PostQuery(text=w, limit=17)) for w in POST_WORDS]
                      + [lambda t=t: index.search_posts(PostQuery(hashtag=t, limit=17)) for t in POST_TAGS]),
        ):  # fmt: skip
            samples: list[float] = []
            deadline, i = time.perf_counter() + seconds, 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await calls[i % len(calls)]()
                samples.append((time.perf_counter() - started) * 1000)
                i += 1
            out[name] = {"queries_per_s": round(len(samples) / seconds, 1), **_percentiles(samples)}
    finally:
        await index.close()
    return out


async def index_lag(settings: Any, posts: int) -> dict[str, Any]:
    """Publish ``posts`` posts one by one through the real flow; ms from ``published_at`` to searchable."""
    index = open_search_index(settings.search_url)
    image = (ROOT / settings.seed_images_dir / "rocket.jpg").read_bytes()
    lags: list[float] = []
    async with open_resources(settings) as resources, build_services(resources) as services:
        author = (await services.users.user_for_viewer("fb_0", None)).id
        async with httpx.AsyncClient(timeout=30) as s3:
            for _ in range(posts):
                tag = f"lag{secrets.token_hex(5)}"
                created = await services.posts.create_post(author, f"index lag probe #{tag}",
                                                           [MediaSpec("image/jpeg", len(image))])  # fmt: skip
                ticket = created.uploads[0]
                await s3.post(ticket.url, data=dict(ticket.fields), files={"file": ("p.jpg", image, "image/jpeg")})
                await services.posts.complete_upload(author, created.post.id)  # the media worker publishes it
                deadline = time.monotonic() + 60
                while not (await index.search_posts(PostQuery(hashtag=tag, limit=1))).hits:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"post {created.post.id} not searchable within 60 s")
                    await asyncio.sleep(0.005)
                found_at = time.time() * 1000
                row = (await resources.graph.read(PUBLISHED_AT, {"id": created.post.id}))[0]
                lags.append(found_at - int(row["at"]))
    await index.close()
    return {**_percentiles(lags), "samples_ms": [round(x, 1) for x in lags]}


async def reindex_rate(settings: Any) -> dict[str, Any]:
    """One full ``SearchIndexer.reindex``: documents and documents/s."""
    async with open_resources(settings) as resources, build_services(resources) as services:
        result = await services.search_indexer.reindex()
    documents = result.users + result.posts
    return {"users": result.users, "posts": result.posts, "seconds": round(result.seconds, 2),
            "documents_per_s": round(documents / result.seconds, 1)}  # fmt: skip


async def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Everything on one seeded stack in ``data_dir``; returns the result document."""
    env = {"INSTAGRAPH_RATE_LIMITS": BENCH_LIMITS}
    async with seeded_stack(data_dir, port=args.port, reseed=args.reseed, env=env) as run:
        rebuild = await reindex_rate(run.settings)  # first: also fills an index the seed did not (a new schema)
        console.print(f"reindex: {rebuild}")
        graphql = f"{run.base_url}/graphql"
        users, posts = _bodies()
        clients = _clients()
        loads: dict[str, dict[str, Any]] = {
            "typename": {"bodies": [TYPENAME]},
            "search_users": {"bodies": users, "clients": clients},
            "search_posts": {"bodies": posts, "clients": clients},
        }

        def load(name: str, seconds: float) -> WrkResult:
            return run_wrk(graphql, seconds=seconds, **loads[name])

        await _check_answers(graphql, users + posts)

        for name in loads:  # warm: plans cached, the index opened in the API, connections pooled
            await asyncio.to_thread(load, name, 2.0)
        rounds: list[dict[str, Any]] = []
        for r in range(args.rounds):
            measured: dict[str, Any] = {}
            for name in list(loads) if r % 2 == 0 else list(loads)[::-1]:
                res = await asyncio.to_thread(load, name, args.seconds)
                measured[name] = res.as_dict()
                console.print(f"round {r + 1} {name}: {res.requests_per_s:.0f} req/s, "
                              f"p50 {res.p50_ms:.2f} ms, p99 {res.p99_ms:.2f} ms")  # fmt: skip
            measured["direct"] = await direct_queries(run.settings.search_url, min(args.seconds, 5.0))
            console.print(f"round {r + 1} direct index: {measured['direct']}")
            rounds.append(measured)
        lag = await index_lag(run.settings, args.lag_posts)
        console.print(f"index lag: p50 {lag['p50_ms']} ms, p95 {lag['p95_ms']} ms over {lag['n']} posts")
        rss = peak_rss_mib(run.api.pid)
        indexer_rss = peak_rss_mib(run.workers["indexer"].pid) if "indexer" in run.workers else None

    def median(name: str, key: str) -> float:
        return round(statistics.median(m[name][key] for m in rounds), 2)

    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {wrk_binary()}",
        "parameters": vars(args),
        "rounds": rounds,
        "median": {
            **{name: {k: median(name, k) for k in ("req_per_s", "p50_ms", "p99_ms")} for name in loads},
            **{f"direct_{kind}": {k: round(statistics.median(m["direct"][kind][k] for m in rounds), 3)
                                  for k in ("queries_per_s", "p50_ms", "p99_ms")} for kind in ("users", "posts")},
        },
        "ratios": {
            f"{name} / typename req/s": round(statistics.median(
                m[name]["req_per_s"] / m["typename"]["req_per_s"] for m in rounds), 3)
            for name in ("search_users", "search_posts")
        },
        "index_lag": lag,
        "reindex": rebuild,
        "api_peak_rss_mib": rss,
        "indexer_peak_rss_mib": indexer_rss,
    }


def write_results(result: dict[str, Any]) -> None:
    """``bench/results/search.json`` and the markdown summary ``search.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    med, lag, rebuild = result["median"], result["index_lag"], result["reindex"]
    lines = [
        f"# Search ({result['when']}, {result['machine']})",
        "",
        f"Median of {len(result['rounds'])} interleaved rounds of {result['parameters']['seconds']} s per route "
        "(wrk -t1 -c8, one API process, the seeded SNAP users and 276 real captions, anonymous clients).",
        "",
        "| load | req/s | p50 | p99 | / typename |",
        "|---|---|---|---|---|",
        f"| `{{ __typename }}` | {med['typename']['req_per_s']:.0f} | {med['typename']['p50_ms']} ms "
        f"| {med['typename']['p99_ms']} ms | 1.0 |",
        *(
            f"| `{field}` ({label}) | {med[name]['req_per_s']:.0f} | {med[name]['p50_ms']} ms "
            f"| {med[name]['p99_ms']} ms | {result['ratios'][f'{name} / typename req/s']} |"
            for name, field, label in (("search_users", "searchUsers", "usernames, prefixes, typos"),
                                       ("search_posts", "searchPosts(first: 10)", "caption words, hashtags"))
        ),
        "",
        "| direct index query (in process, same queries) | queries/s | p50 | p99 |",
        "|---|---|---|---|",
        *(
            f"| {kind} | {med[f'direct_{kind}']['queries_per_s']:.0f} | {med[f'direct_{kind}']['p50_ms']} ms "
            f"| {med[f'direct_{kind}']['p99_ms']} ms |"
            for kind in ("users", "posts")
        ),
        "",
        f"Index lag (published -> searchable, {lag['n']} posts through the real flow): p50 {lag['p50_ms']:.0f} ms, "
        f"p95 {lag['p95_ms']:.0f} ms.",
        f"Reindex: {rebuild['users']:,} users + {rebuild['posts']:,} posts in {rebuild['seconds']} s "
        f"({rebuild['documents_per_s']:,.0f} documents/s).",
        f"Peak RSS: API {result['api_peak_rss_mib']} MiB, indexer worker {result['indexer_peak_rss_mib']} MiB.",
        "",
    ]
    (RESULTS / "search.md").write_text("\n".join(lines))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep the stack's data here (seeded once); default: a temp dir")
    parser.add_argument("--reseed", action="store_true", help="seed even when --data-dir was seeded before")
    parser.add_argument("--port", type=int, default=18082, help="API port on 127.0.0.1")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per route and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--lag-posts", type=int, default=30, help="posts published for the index lag")
    args = parser.parse_args()
    wrk_binary()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_search_")).resolve()
    result = asyncio.run(measure(args, data_dir))
    write_results(result)
    console.print(f"results: {RESULTS / 'search.md'}")


if __name__ == "__main__":
    cli()
