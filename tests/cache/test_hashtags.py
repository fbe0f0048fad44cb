"""Trend counters on the real Redis: sliding windows, the delta, one author counted once, deletes, redelivery.

Times are explicit epoch ms (the clock a service would inject), around the real time so that the keys'
expiry (absolute, on Redis's clock) lies in the future.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from cache.hashtags import WINDOWS, TrendCounters
from cache.keys import RedisKeys
from services.core.clock import now_ms

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from runtime.settings import Settings

MIN = 60_000
HOUR, DAY, WEEK = WINDOWS["HOUR"], WINDOWS["DAY"], WINDOWS["WEEK"]


@pytest.fixture(scope="module")
def counters(redis: aioredis.Redis, settings: Settings) -> TrendCounters:
    """Trend counters under the module's Redis prefix."""
    return TrendCounters(redis, RedisKeys(settings.redis_prefix))


def _t0() -> int:
    """A 5-minute bucket boundary 90 minutes ago."""
    start = now_ms() - 90 * MIN
    return start - start % (5 * MIN)


async def _counts(counters: TrendCounters, window: object, at: int, tag: str) -> tuple[int, int] | None:
    for count in await counters.top(window, at, 100):  # type: ignore[arg-type]
        if count.name == tag:
            return count.count, count.previous
    return None


async def test_the_hour_window_slides_bucket_by_bucket_and_the_day_keeps_it(counters: TrendCounters) -> None:
    t0 = _t0()
    for i in range(3):
        assert await counters.add_use(f"slide-{i}", f"author-{i}", t0 + i * MIN, ("slide",))

    assert await _counts(counters, HOUR, t0 + 59 * MIN, "slide") == (3, 0)  # 12 buckets of 5 min
    assert await _counts(counters, HOUR, t0 + 60 * MIN, "slide") is None  # slid out: not in the list
    assert await _counts(counters, DAY, t0 + 60 * MIN, "slide") == (3, 0)
    assert await _counts(counters, WEEK, t0 + 60 * MIN, "slide") == (3, 0)


async def test_delta_is_against_the_previous_window(counters: TrendCounters) -> None:
    t0 = _t0()
    await counters.add_use("rise-old", "a1", t0, ("rise",))
    for i in range(3):
        await counters.add_use(f"rise-new-{i}", f"b{i}", t0 + 65 * MIN + i, ("rise",))
    (rise,) = [c for c in await counters.top(HOUR, t0 + 70 * MIN, 10) if c.name == "rise"]

    assert (rise.count, rise.previous, rise.delta) == (3, 1, 2)


async def test_one_author_using_a_tag_fifty_times_in_a_window_counts_once(counters: TrendCounters) -> None:
    t0 = _t0()
    for i in range(50):
        await counters.add_use(f"spam-{i}", "spammer", t0 + i * MIN, ("spam",))  # across 10 buckets
    await counters.add_use("spam-other", "someone", t0 + 3 * MIN, ("spam",))

    assert await _counts(counters, HOUR, t0 + 55 * MIN, "spam") == (2, 0)


async def test_deleted_posts_leave_the_counts_once(counters: TrendCounters) -> None:
    t0 = _t0()
    await counters.add_use("del-1", "writer", t0, ("gone",))
    await counters.add_use("del-2", "writer", t0 + 20 * MIN, ("gone",))
    await counters.add_use("del-3", "other", t0 + 20 * MIN, ("gone",))

    assert await counters.remove_use("del-1")
    assert await _counts(counters, HOUR, t0 + 30 * MIN, "gone") == (2, 0)  # writer still has del-2
    assert await counters.remove_use("del-2")
    assert not await counters.remove_use("del-2")  # twice: nothing more
    assert await _counts(counters, HOUR, t0 + 30 * MIN, "gone") == (1, 0)
    assert await counters.remove_use("del-3")
    assert await _counts(counters, DAY, t0 + 30 * MIN, "gone") is None
    assert not await counters.remove_use("never-counted")


async def test_a_redelivered_use_is_counted_once(counters: TrendCounters) -> None:
    t0 = _t0()
    assert await counters.add_use("again", "a", t0, ("twice", "tagged"))
    assert not await counters.add_use("again", "a", t0, ("twice", "tagged"))
    assert not await counters.add_use("untagged", "a", t0, ())

    assert await _counts(counters, HOUR, t0 + MIN, "twice") == (1, 0)
    assert await _counts(counters, HOUR, t0 + MIN, "tagged") == (1, 0)


async def test_ranking_by_count_then_name_with_a_limit(counters: TrendCounters) -> None:
    t0 = _t0() + 4 * 60 * MIN  # a window of its own (later: past buckets have expired)
    for tag, authors in (("zeta", 2), ("alpha", 2), ("mid", 3), ("low", 1)):
        for i in range(authors):
            await counters.add_use(f"rank-{tag}-{i}", f"u{i}", t0 + i, (tag,))
    top = await counters.top(HOUR, t0 + MIN, 3)

    assert [(c.name, c.count) for c in top] == [("mid", 3), ("alpha", 2), ("zeta", 2)]


async def test_buckets_no_window_can_reach_expire(counters: TrendCounters, redis: aioredis.Redis,
                                                   settings: Settings) -> None:  # fmt: skip
    keys = RedisKeys(settings.redis_prefix)
    old = now_ms() - 3 * 60 * MIN  # HOUR keeps two windows (2 h) of buckets, DAY and WEEK much longer
    await counters.add_use("old-post", "a", old, ("old",))
    hour_bucket, day_bucket = old // HOUR.bucket_ms, old // DAY.bucket_ms

    assert await redis.exists(keys.trend_authors("hour", hour_bucket, "old")) == 0
    assert await redis.exists(keys.trend_authors("day", day_bucket, "old")) == 1
    assert 0 < await redis.pttl(keys.trend_post("old-post")) <= 15 * 24 * 60 * MIN
