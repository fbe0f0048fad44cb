"""``cache.feed.FeedCache`` on the real Redis: the cap, the rebuilt marker, keyset pages through ties, removal,
and an outage raised as ``CacheUnavailable``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from cache.errors import CacheUnavailable
from cache.feed import BUILT, FeedCache, FeedItem
from cache.keys import RedisKeys
from runtime.resources import open_redis

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from runtime.settings import Settings


@pytest.fixture(scope="module")
def cache(redis: aioredis.Redis, settings: Settings) -> FeedCache:
    """A feed cache on the module's prefix, capped at 5 posts per key."""
    return FeedCache(redis, RedisKeys(settings.redis_prefix), max_items=5)


async def _members(redis: aioredis.Redis, key: str) -> list[str]:
    return [m.decode() for m in await redis.zrevrange(key, 0, -1)]


async def test_pushes_keep_the_newest_posts_up_to_the_cap(cache: FeedCache, redis: aioredis.Redis) -> None:
    for score in range(1, 9):
        await cache.push(f"p{score}", score * 1_000, ["capped"])

    assert await _members(redis, cache.keys.feed("capped")) == ["p8", "p7", "p6", "p5", "p4", "p3"]
    page = await cache.feed_page("capped", None, 10)
    assert page.built is False  # only pushed to: the read must rebuild it before trusting it


async def test_a_rebuilt_key_carries_the_marker_which_is_never_a_post(cache: FeedCache, redis: aioredis.Redis) -> None:
    items = [FeedItem(f"r{i}", i * 1_000) for i in range(1, 8)]
    await cache.add_to_feed("rebuilt", items, built=True)

    members = await _members(redis, cache.keys.feed("rebuilt"))
    assert members == [BUILT, "r7", "r6", "r5", "r4", "r3"]
    page = await cache.feed_page("rebuilt", None, 10)
    assert page.built is True and page.exhausted is True
    assert [i.post_id for i in page.items] == ["r7", "r6", "r5", "r4", "r3"]
    assert await cache.is_feed_built("rebuilt") is True
    assert await cache.oldest_feed_score("rebuilt") == 3_000


async def test_keyset_pages_walk_through_equal_scores_without_gaps_or_repeats(cache: FeedCache) -> None:
    tied = [FeedItem(f"t{i}", 5_000) for i in range(4)]  # one creation time, ordered by id descending
    await cache.store_posts("ties", [FeedItem("newest", 9_000), *tied, FeedItem("oldest", 1_000)])

    seen: list[str] = []
    after: tuple[int, str] | None = None
    while True:
        page = (await cache.posts_pages(["ties"], after, 1))["ties"]
        seen += [i.post_id for i in page.items]
        if page.exhausted or not page.items:
            break
        after = page.items[-1].key()

    assert seen == ["newest", "t3", "t2", "t1", "t0"]  # the cap (5) dropped "oldest"


async def test_removal_is_idempotent_and_touches_only_the_named_feeds(cache: FeedCache, redis: aioredis.Redis) -> None:
    await cache.push("gone", 7_000, ["rm_a", "rm_b", "rm_c"])
    await cache.push("stays", 6_000, ["rm_a", "rm_b", "rm_c"])

    assert await cache.remove_from_feeds(["gone"], ["rm_a", "rm_b"]) == 2
    assert await cache.remove_from_feeds(["gone"], ["rm_a", "rm_b"]) == 2  # again: nothing changes

    assert await _members(redis, cache.keys.feed("rm_a")) == ["stays"]
    assert await _members(redis, cache.keys.feed("rm_c")) == ["gone", "stays"]


async def test_an_unreachable_redis_is_cache_unavailable(settings: Settings) -> None:
    dead = open_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        with pytest.raises(CacheUnavailable):
            await FeedCache(dead, RedisKeys(settings.redis_prefix)).feed_page("anyone", None, 10)
    finally:
        await dead.aclose()
