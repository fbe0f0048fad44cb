"""The seed's last step on the real data: the 276 real captions (messy hashtags: NBSPs, glued tags) searchable,
their tags trending, through ``seed.search.reindex`` and ``instagraph search reindex``.

Expectations are computed from the CSVs themselves (``seed.posts.read_rows`` and the caption parser), not
written by hand: a tag's trending count is its distinct seed authors, a tag page holds every row using it.
"""

from __future__ import annotations

import asyncio
import io
from collections import defaultdict
from typing import TYPE_CHECKING

import pytest
from rich.console import Console
from typer.testing import CliRunner

from seed.posts import SEED_AUTHORS, read_rows, seed_posts
from seed.search import reindex
from server.cli import app as cli
from services.core.captions import parse_caption
from tests.support.factories import graphql, make_user
from tests.support.paths import DATASETS

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from runtime.settings import Settings

POSTS_DIR, IMAGES_DIR = DATASETS / "instagram-posts", DATASETS / "images"
TRENDING = "{ trendingHashtags(window: DAY, first: 10) { name postCount delta } }"
BY_TAG = """
query($t: String!, $after: String) {
  searchPosts(hashtag: $t, first: 100, after: $after) { edges { node { caption } } pageInfo { hasNextPage endCursor } }
}
"""
BY_WORDS = "query($q: String!) { searchPosts(query: $q, first: 100) { edges { node { caption } } } }"


def _rows_by_tag() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """tag -> seed authors using it, tag -> captions using it (the dataset's own tags)."""
    images = sorted(p.name for p in IMAGES_DIR.iterdir())
    authors: dict[str, set[str]] = defaultdict(set)
    captions: dict[str, list[str]] = defaultdict(list)
    for row in read_rows(POSTS_DIR, images):
        for tag in parse_caption(row.caption).hashtags:
            authors[tag].add(row.author)
            captions[tag].append(row.caption)
    return authors, captions


@pytest.fixture(scope="module")
async def seeded(app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore) -> None:
    """The 40 seed authors (through the API) and the 276 posts (``seed_posts``: the real upload flow), then the
    seed's reindex step."""
    await asyncio.gather(*(make_user(api, username) for username in SEED_AUTHORS))
    services = app.state.services
    result = await seed_posts(services.posts, services.media, graph_store, posts_dir=POSTS_DIR, images_dir=IMAGES_DIR)
    assert result.published == 276
    output = io.StringIO()
    indexed = await reindex(services, Console(file=output, width=120))
    assert (indexed.users, indexed.posts) == (40, 276)
    assert "40 users and 276 posts indexed" in output.getvalue()


@pytest.mark.timeout(600)
async def test_the_seeded_captions_are_searchable_by_their_messy_hashtags(
    api: httpx.AsyncClient, seeded: None
) -> None:
    _, captions = _rows_by_tag()
    for tag in ("amankharwal", "edtech", "educationtechnology", "datascience"):
        found: list[str] = []
        after = None
        while True:
            page = (await graphql(api, BY_TAG, {"t": f"#{tag}", "after": after}))["data"]["searchPosts"]
            found += [e["node"]["caption"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert sorted(found) == sorted(captions[tag]), tag


async def test_the_seeded_captions_are_searchable_by_stemmed_words(api: httpx.AsyncClient, seeded: None) -> None:
    images = sorted(p.name for p in IMAGES_DIR.iterdir())
    first_row = read_rows(POSTS_DIR, images)[0].caption  # "Here are some of the most important data visualizations"
    body = await graphql(api, BY_WORDS, {"q": "important visualization"})
    assert first_row in [e["node"]["caption"] for e in body["data"]["searchPosts"]["edges"]]


async def test_trending_shows_the_seeded_tags(api: httpx.AsyncClient, seeded: None) -> None:
    authors, _ = _rows_by_tag()
    expected = sorted(((t, len(a)) for t, a in authors.items()), key=lambda item: (-item[1], item[0]))[:10]

    body = await graphql(api, TRENDING)
    assert [(t["name"], t["postCount"], t["delta"]) for t in body["data"]["trendingHashtags"]] == [
        (name, count, count) for name, count in expected
    ]


async def test_instagraph_search_reindex_rebuilds_idempotently(
    app: Starlette, settings: Settings, seeded: None
) -> None:
    env = {
        "INSTAGRAPH_GRAPH_URL": settings.graph_url, "INSTAGRAPH_REDIS_URL": settings.redis_url,
        "INSTAGRAPH_REDIS_PREFIX": settings.redis_prefix, "INSTAGRAPH_SEARCH_URL": settings.search_url,
        "INSTAGRAPH_S3_ENDPOINT": settings.s3_endpoint, "INSTAGRAPH_S3_ACCESS_KEY": settings.s3_access_key,
        "INSTAGRAPH_S3_SECRET_KEY": settings.s3_secret_key, "INSTAGRAPH_S3_BUCKET": settings.s3_bucket,
        "INSTAGRAPH_DATA_DIR": str(settings.data_dir), "COLUMNS": "120",
    }  # fmt: skip
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["search", "reindex"], env=env)

    assert result.exit_code == 0, result.output
    assert "40 users and 276 posts indexed" in result.output
    assert "0 stale documents removed" in result.output
    assert "0 recent tagged posts counted" in result.output  # counted by the seed step already
    assert await app.state.resources.search.count("posts") == 276
