"""``seed_posts`` on the real CSVs and photos, through the real presigned-POST flow; idempotent."""

from __future__ import annotations

import asyncio
import csv
import statistics
from typing import TYPE_CHECKING

import pytest

from graph.cypher import cypher
from seed.posts import CSV_FILES, HUBS, SEED_AUTHORS, read_rows, seed_posts
from tests.support.factories import graphql, make_user
from tests.support.paths import DATASETS

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from graph.store import GraphStore

POSTS_DIR, IMAGES_DIR = DATASETS / "instagram-posts", DATASETS / "images"
SEEDED = cypher(
    "tests.seed_posts.SEEDED",
    """
    MATCH (a:User)-[:POSTED]->(p:Post)
    WHERE p.seed_key IS NOT NULL
    RETURN p.seed_key AS seed_key, p.status AS status, a.username AS author,
           size([(p)-[:HAS_MEDIA]->(m:Media) | m]) AS media
    """,
)
GRID = "query($u: String!) { user(username: $u) { postCount posts(first: 100) { edges { node { id } } } } }"
BY_TAG = cypher(
    "tests.seed_posts.BY_TAG",
    "MATCH (p:Post)-[:TAGGED]->(:Hashtag {name: $name}) WHERE p.seed_key = $key RETURN p.id AS id",
)


def csv_rows() -> int:
    total = 0
    for name in CSV_FILES:
        with (POSTS_DIR / name).open(encoding="utf-8", newline="") as fh:
            total += sum(1 for _ in csv.DictReader(fh))
    return total


def test_rows_are_assigned_deterministically_to_the_40_authors() -> None:
    images = sorted(p.name for p in IMAGES_DIR.iterdir())
    rows = read_rows(POSTS_DIR, images)

    assert len(SEED_AUTHORS) == len(set(SEED_AUTHORS)) == 40 and set(HUBS) <= set(SEED_AUTHORS)
    assert len(rows) == csv_rows() == 276
    assert rows == read_rows(POSTS_DIR, images)
    assert [r.author for r in rows[:41]] == [*SEED_AUTHORS, SEED_AUTHORS[0]]
    assert [len(r.images) for r in rows[:5]] == [1, 1, 1, 1, 2]
    # the dates file's caption is followed by its Hashtags column; the reach file's when not already in it
    assert rows[0].caption.endswith("#amankharwal\xa0#thecleverprogrammer")
    assert rows[0].caption.startswith("Here are some of the most important data visualizations")
    reach5 = next(r for r in rows if r.seed_key == "instagram_reach.csv:5")
    assert "\n\n#edtech\xa0#learning#educationtechnology" in reach5.caption


@pytest.mark.timeout(600)
async def test_seed_posts_publishes_every_row_once(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    # given: the 40 seed authors exist (registered through the API, as the graph seed would create them)
    await asyncio.gather(*(make_user(api, username) for username in SEED_AUTHORS))
    services = app.state.services

    # when: seeding twice
    first = await seed_posts(
        services.posts, services.media, graph_store, posts_dir=POSTS_DIR, images_dir=IMAGES_DIR
    )
    second = await seed_posts(
        services.posts, services.media, graph_store, posts_dir=POSTS_DIR, images_dir=IMAGES_DIR
    )

    # then: every row published once, through the real upload flow; the second run changes nothing
    assert (first.rows, first.created, first.published, first.failed, first.rejected) == (276, 276, 276, 0, 0)
    assert (second.created, second.resumed, second.skipped, second.published) == (0, 0, 276, 0)
    rows = await graph_store.read(SEEDED)
    assert len(rows) == 276 and {r["status"] for r in rows} == {"PUBLISHED"}
    assert sum(r["media"] for r in rows) == 276 + 276 // 5
    per_author = {u: sum(r["author"] == u for r in rows) for u in SEED_AUTHORS}
    assert set(per_author.values()) == {6, 7}
    grid = (await graphql(api, GRID, {"u": "fb_107"}))["data"]["user"]
    assert grid["postCount"] == per_author["fb_107"] == len(grid["posts"]["edges"]) == 7
    assert await graph_store.read(BY_TAG, {"name": "edtech", "key": "instagram_reach.csv:5"}) != []
    assert await graph_store.read(BY_TAG, {"name": "learning", "key": "instagram_reach.csv:5"}) != []
    print(
        f"\nseed: {first.rows} posts in {first.seconds:.1f} s; per post (upload+complete+variants) "
        f"median {statistics.median(first.post_seconds) * 1000:.0f} ms, "
        f"p90 {statistics.quantiles(first.post_seconds, n=10)[-1] * 1000:.0f} ms; "
        f"second run {second.seconds:.2f} s"
    )
