"""``cache.stories.StoryCache`` on the real Redis: live sets read by score and trimmed, their TTL following the
last story, the sharded expiry schedule, seen sets, counters that move only while they exist, round trips."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

import pytest

from cache.keys import RedisKeys
from cache.stories import SHARDS, StoryCache, shard_of

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from runtime.settings import Settings


@pytest.fixture
def cache(redis: aioredis.Redis, settings: Settings) -> StoryCache:
    return StoryCache(redis, RedisKeys(settings.redis_prefix), seen_ttl_s=3_600)


def uid() -> str:
    return secrets.token_hex(6)


async def test_live_sets_are_read_after_now_trimmed_and_expire_with_their_last_story(
    cache: StoryCache, redis: aioredis.Redis, settings: Settings
) -> None:
    author, viewer, now = uid(), uid(), int(time.time() * 1000)
    key = RedisKeys(settings.redis_prefix).stories(author)
    await cache.add_live(author, "old", now - 10, now_ms=now - 20)
    await cache.add_live(author, "a", now + 60_000, now_ms=now)  # trims "old"
    await cache.add_live(author, "b", now + 120_000, now_ms=now)
    await cache.add_live(author, "b", now + 120_000, now_ms=now)  # idempotent

    live, seen = await cache.live_stories([author, uid()], viewer, now + 60_000)

    assert live == {author: [("b", now + 120_000)]}
    assert seen == set()
    assert await redis.zcard(key) == 2
    assert now + 110_000 <= await redis.pexpiretime(key) <= now + 120_000  # the last story's expiry


async def test_the_author_index_reads_only_users_with_live_stories(
    cache: StoryCache, redis: aioredis.Redis, settings: Settings
) -> None:
    now = int(time.time() * 1000)
    live, gone, silent, viewer = uid(), uid(), uid(), uid()
    await cache.add_live(live, "l1", now + 60_000, now_ms=now)
    await cache.add_live(live, "l0", now + 30_000, now_ms=now)  # GT: the index keeps the later expiry
    await cache.add_live(gone, "g1", now + 1_000, now_ms=now)
    keys = RedisKeys(settings.redis_prefix)
    trips = cache.round_trips

    found, _ = await cache.live_stories([live, gone, silent, live], viewer, now + 2_000)

    assert found == {live: [("l0", now + 30_000), ("l1", now + 60_000)]}
    assert cache.round_trips == trips + 2  # the index with the seen set, then the one live user's stories
    assert await redis.zscore(keys.story_authors(shard_of(live)), live) == now + 60_000
    await cache.trim_authors(now + 2_000)
    assert await redis.zscore(keys.story_authors(shard_of(gone)), gone) is None
    assert await redis.zscore(keys.story_authors(shard_of(live)), live) == now + 60_000
    assert await cache.live_stories([silent], viewer, now) == ({}, set())


async def test_the_schedule_is_sharded_and_read_up_to_now(cache: StoryCache) -> None:
    now = int(time.time() * 1000)
    ids = [f"s{i}-{uid()}" for i in range(40)]
    for i, story_id in enumerate(ids):
        await cache.add_live(uid(), story_id, now + (i - 20) * 1000, now_ms=now - 30_000)
    assert len({shard_of(s) for s in ids}) > 1 and all(0 <= shard_of(s) < SHARDS for s in ids)
    trips = cache.round_trips

    due = await cache.due(now, 100)

    assert cache.round_trips == trips + 1  # every shard in one pipeline
    assert set(ids[:21]) <= set(due) and not set(ids[21:]) & set(due)
    await cache.unschedule(ids[:21])
    assert not set(ids) & set(await cache.due(now, 100))


async def test_seen_sets_and_counters(cache: StoryCache, redis: aioredis.Redis, settings: Settings) -> None:
    viewer, story = uid(), uid()
    keys = RedisKeys(settings.redis_prefix)

    await cache.record_view(viewer, story, fresh=True)  # no counter yet: stays absent
    assert await cache.view_counts([story]) == [None]
    assert await cache.install_view_counts({story: 1}) == {story: 1}
    assert await cache.install_view_counts({story: 5}) == {story: 1}  # NX: the first install holds
    await cache.record_view(uid(), story, fresh=True)
    await cache.record_view(viewer, story, fresh=False)

    assert await cache.view_counts([story]) == [2]
    assert await cache.seen(viewer, [story, "other"]) == [True, False]
    assert 0 < await redis.ttl(keys.story_seen(viewer)) <= 3_600
    assert sorted(await cache.pop_dirty_views(10)) == [story]  # marked once per fresh view, a set
