"""The ``SearchIndex`` contract, run against every backend that can run here.

Tantivy runs in process on a temporary directory. Meilisearch runs wherever ``INSTAGRAPH_TEST_MEILISEARCH_URL``
points at a server (with ``INSTAGRAPH_TEST_MEILISEARCH_KEY`` as its key, if any); each run uses its own index
prefix and deletes its indexes afterwards. Users and posts are indexed through ``apply`` exactly as the indexer
writes them.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

import pytest

from search.documents import GeoFilter, IndexBatch, PostDocument, PostQuery, UserDocument, post_key
from search.geo import haversine_km
from search.index import open_search_index

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from search.index import SearchIndex

MEILI_URL = os.environ.get("INSTAGRAPH_TEST_MEILISEARCH_URL", "")
LISBON = (38.7223, -9.1393)


def _user(uid: str, username: str, display: str | None, followers: int, private: bool = False) -> UserDocument:
    return UserDocument(uid, username, display, None, followers, private)


USERS = [
    _user("u-carlos", "carlos", "Carlos Mendes", 3),
    _user("u-alinta", "alinta_k", "Alinta K", 1),
    _user("u-sofi1", "sofi_r1", "Sofia Reyes", 10),
    _user("u-sofi2", "sofi_r2", "Sofia Reyes", 500),
    _user("u-fran", "francesco", "Francesco", 2),
    _user("u-bob", "bob", None, 7),
    _user("u-priv", "privata", "Private Person", 0, private=True),
]


def _post(
    pid: str, caption: str, tags: tuple[str, ...], at: int, where: tuple[float, float] | None = None
) -> PostDocument:
    lat, lng = where if where is not None else (None, None)
    return PostDocument(pid, "author-1", caption, tags, at, 0, lat, lng)


NORTH_8KM = (LISBON[0] + 8 / 111.195, LISBON[1])
NORTH_15KM = (LISBON[0] + 15 / 111.195, LISBON[1])
POSTS = [
    _post("p-golden", "Golden sunset over the bay #Sunset #GoldenHour", ("sunset", "goldenhour"), 1_000, LISBON),
    _post("p-therapy", "Sunsets are my therapy", (), 2_000),
    _post("p-coffee15", "Morning coffee up north #coffee", ("coffee",), 3_000, NORTH_15KM),
    _post("p-coffee8", "Coffee with a view #coffee", ("coffee",), 3_500, NORTH_8KM),
    _post("p-east", "Dateline east", (), 3_600, (0.0, 179.95)),
]


@pytest.fixture(scope="module", params=["tantivy", "meilisearch"])
async def index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SearchIndex]:
    """A prepared, empty index of the backend ``request.param``, holding ``USERS`` and ``POSTS``."""
    if request.param == "tantivy":
        backend = open_search_index(f"tantivy://{tmp_path_factory.mktemp('contract')}")
    else:
        if not MEILI_URL:
            pytest.skip("set INSTAGRAPH_TEST_MEILISEARCH_URL to run the contract against Meilisearch")
        prefix = f"t{secrets.token_hex(4)}_"
        backend = open_search_index(
            f"{MEILI_URL}?index_prefix={prefix}", api_key=os.environ.get("INSTAGRAPH_TEST_MEILISEARCH_KEY", ""),
            timeout=30,
        )  # fmt: skip
    await backend.prepare()
    await backend.apply(IndexBatch(indexed_at=10, users=list(USERS), posts=list(POSTS)))
    try:
        yield backend
    finally:
        if request.param == "meilisearch":
            client = backend._client  # type: ignore[attr-defined]
            for name in ("users", "posts"):
                await client.index(backend.uid(name)).delete()  # type: ignore[attr-defined]
        await backend.close()


async def _posts(index: SearchIndex, **kwargs: object) -> list[str]:
    result = await index.search_posts(PostQuery(**kwargs))  # type: ignore[arg-type]
    return [hit.id for hit in result.hits]


# -- users ---------------------------------------------------------------------------------------------------


async def test_one_typo_in_a_six_letter_name_is_tolerated(index: SearchIndex) -> None:
    assert (await index.search_users("carlis", 5))[:1] == ["u-carlos"]


async def test_a_three_letter_prefix_finds_the_user(index: SearchIndex) -> None:
    assert await index.search_users("ali", 5) == ["u-alinta"]


async def test_two_typos_from_nine_letters_but_none_below_five(index: SearchIndex) -> None:
    assert (await index.search_users("fransesko", 5))[:1] == ["u-fran"]
    assert await index.search_users("bab", 5) == []


async def test_the_more_followed_namesake_ranks_first(index: SearchIndex) -> None:
    assert (await index.search_users("sofia reyes", 5))[:2] == ["u-sofi2", "u-sofi1"]


async def test_display_name_words_and_private_accounts_are_found(index: SearchIndex) -> None:
    assert (await index.search_users("mendes", 5))[:1] == ["u-carlos"]
    assert (await index.search_users("privata", 5))[:1] == ["u-priv"]


async def test_upsert_replaces_and_delete_removes_users(index: SearchIndex) -> None:
    renamed = _user("u-bob", "bobby_tables", None, 7)
    await index.apply(IndexBatch(indexed_at=20, users=[renamed, _user("u-tmp", "temporary", None, 0)]))
    assert await index.search_users("bobby", 5) == ["u-bob"]
    await index.apply(IndexBatch(indexed_at=21, user_deletes=["u-tmp", "u-never-there"]))
    assert await index.search_users("temporary", 5) == []
    assert await index.count("users") == len(USERS)


async def test_limit_and_empty_queries(index: SearchIndex) -> None:
    assert len(await index.search_users("sofia", 1)) == 1
    assert await index.search_users("   ", 5) == []


# -- posts ---------------------------------------------------------------------------------------------------


async def test_caption_words_are_stemmed(index: SearchIndex) -> None:
    assert await _posts(index, text="sunsets") == ["p-therapy", "p-golden"]


async def test_every_word_must_match(index: SearchIndex) -> None:
    assert await _posts(index, text="golden sunsets") == ["p-golden"]
    assert await _posts(index, text="golden coffee") == []


async def test_hashtag_filter_is_exact_on_the_case_folded_tag(index: SearchIndex) -> None:
    assert await _posts(index, hashtag="sunset") == ["p-golden"]
    assert await _posts(index, hashtag="coffee") == ["p-coffee8", "p-coffee15"]
    assert await _posts(index, hashtag="sunsets") == []


async def test_geo_radius_keeps_8_km_and_drops_15_km_at_10_km(index: SearchIndex) -> None:
    assert round(haversine_km(*LISBON, *NORTH_15KM), 1) == 15.0
    near10 = GeoFilter(LISBON[0], LISBON[1], 10.0)
    assert await _posts(index, near=near10) == ["p-coffee8", "p-golden"]
    near20 = GeoFilter(LISBON[0], LISBON[1], 20.0)
    assert await _posts(index, near=near20) == ["p-coffee8", "p-coffee15", "p-golden"]
    assert await _posts(index, near=near20, hashtag="coffee", text="coffee") == ["p-coffee8", "p-coffee15"]


async def test_geo_radius_across_the_180th_meridian(index: SearchIndex) -> None:
    assert await _posts(index, near=GeoFilter(0.0, -179.95, 20.0)) == ["p-east"]


async def test_keyset_pages_are_newest_first_without_gaps_or_repeats(index: SearchIndex) -> None:
    crowd = [_post(f"p-crowd{i:03d}", f"crowd photo {i}", ("crowd",), 9_000 if i < 450 else 8_000) for i in range(460)]
    await index.apply(IndexBatch(indexed_at=30, posts=crowd))
    expected = [p.id for p in sorted(crowd, key=lambda p: p.key, reverse=True)]
    seen: list[str] = []
    before = None
    while True:
        page = await index.search_posts(PostQuery(hashtag="crowd", before=before, limit=97))
        seen.extend(hit.id for hit in page.hits)
        if page.exhausted or not page.hits:
            break
        last = page.hits[-1]
        before = post_key(last.created_at, last.id)
    assert seen == expected
    await index.apply(IndexBatch(indexed_at=31, post_deletes=[p.id for p in crowd]))
    assert await _posts(index, hashtag="crowd") == []


async def test_deleted_post_is_gone_and_prune_drops_what_a_rebuild_did_not_rewrite(index: SearchIndex) -> None:
    extra = _post("p-stale", "stale sunset", (), 4_000)
    await index.apply(IndexBatch(indexed_at=5, posts=[extra]))
    assert "p-stale" in await _posts(index, text="sunset")
    await index.prune("posts", indexed_before=10)
    assert "p-stale" not in await _posts(index, text="sunset")
    assert await index.count("posts") == len(POSTS)
    await index.apply(IndexBatch(indexed_at=40, post_deletes=["p-therapy"]))
    assert await _posts(index, text="sunsets") == ["p-golden"]
    await index.apply(IndexBatch(indexed_at=41, posts=[POSTS[1]]))


async def test_a_query_without_words_matches_nothing_and_limit_zero_is_empty(index: SearchIndex) -> None:
    assert await _posts(index, text="!!!") == []
    assert (await index.search_posts(PostQuery(hashtag="coffee", limit=0))).hits == []
