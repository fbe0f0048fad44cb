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


TTL_S = 600


@pytest.fixture(scope="module")
def cache(cache_redis: aioredis.Redis, settings: Settings) -> FeedCache:
    """A feed cache on the module's prefix, capped at 5 posts per key, keys living 600 s after a read."""
    return FeedCache(cache_redis, RedisKeys(settings.redis_prefix), max_items=5, ttl_s=TTL_S)


@pytest.fixture(scope="module")
def redis(cache_redis: aioredis.Redis) -> aioredis.Redis:
    """The feed keys live on the cache Redis role."""
    return cache_redis


async def _members(redis: aioredis.Redis, key: str) -> list[str]:
    return [m.decode() for m in await redis.zrevrange(key, 0, -1)]


async def test_pushes_reach_only_live_feeds_and_keep_the_newest_posts_up_to_the_cap(
    cache: FeedCache, redis: aioredis.Redis
) -> None:
    await cache.begin_rebuild("capped")  # a reader's feed being rebuilt: pushes land in it already
    assert await cache.push("p1", 1_000, ["capped", "inactive"]) == 1
    await cache.finish_rebuild("capped", [])
    for score in range(2, 9):
        assert await cache.push(f"p{score}", score * 1_000, ["capped", "inactive"]) == 1

    assert await _members(redis, cache.keys.feed("capped")) == [BUILT, "p8", "p7", "p6", "p5", "p4"]
    assert await redis.exists(cache.keys.feed("inactive")) == 0  # never read: never created by a push
    assert await cache.add_to_feed("inactive", [FeedItem("p9", 9_000)]) is False
    assert await redis.exists(cache.keys.feed("inactive")) == 0


async def test_a_feed_lives_ttl_seconds_after_its_last_first_page_read(cache: FeedCache, redis: aioredis.Redis) -> None:
    key = cache.keys.feed("reader")
    await cache.finish_rebuild("reader", [FeedItem("x1", 1_000), FeedItem("x2", 2_000)])
    assert 0 < await redis.ttl(key) <= TTL_S
    await redis.expire(key, 5)
    await cache.push("x3", 3_000, ["reader"])  # a push does not renew it: only reads say the user is active
    assert await redis.ttl(key) <= 5
    page = await cache.feed_page("reader", (3_000, "x3"), 10)  # a later page does not renew it either
    assert [i.post_id for i in page.items] == ["x2", "x1"] and page.built is True
    assert await redis.ttl(key) <= 5
    page = await cache.feed_page("reader", None, 10)
    assert [i.post_id for i in page.items] == ["x3", "x2", "x1"] and page.built is True
    assert TTL_S - 5 <= await redis.ttl(key) <= TTL_S


async def test_a_rebuilt_key_carries_the_marker_which_is_never_a_post(cache: FeedCache, redis: aioredis.Redis) -> None:
    items = [FeedItem(f"r{i}", i * 1_000) for i in range(1, 8)]
    await cache.finish_rebuild("rebuilt", items)

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
    for user in ("rm_a", "rm_b", "rm_c"):
        await cache.finish_rebuild(user, [])
    await cache.push("gone", 7_000, ["rm_a", "rm_b", "rm_c"])
    await cache.push("stays", 6_000, ["rm_a", "rm_b", "rm_c"])

    assert await cache.remove_from_feeds(["gone"], ["rm_a", "rm_b"]) == 2
    assert await cache.remove_from_feeds(["gone"], ["rm_a", "rm_b"]) == 2  # again: nothing changes

    assert await _members(redis, cache.keys.feed("rm_a")) == [BUILT, "stays"]
    assert await _members(redis, cache.keys.feed("rm_c")) == [BUILT, "gone", "stays"]


async def test_an_unreachable_redis_is_cache_unavailable(settings: Settings) -> None:
    dead = open_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        with pytest.raises(CacheUnavailable):
            await FeedCache(dead, RedisKeys(settings.redis_prefix)).feed_page("anyone", None, 10)
    finally:
        await dead.aclose()
