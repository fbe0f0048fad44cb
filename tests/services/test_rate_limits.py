"""GCRA rate limits in the real Redis: the follow limit, refill, isolation, and failing open."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from cache.keys import RedisKeys
from cache.rate_limits import GcraLimiter
from runtime.settings import Settings
from services.core.errors import RateLimited
from services.rate_limits import LIMITS, Limit, RateLimitService, parse_rate_limits
from tests.support.posts import restart_redis

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from devstack.supervisor import EmbeddedStack


@pytest.fixture(scope="module")
def keys(settings: Settings) -> RedisKeys:
    return RedisKeys(settings.redis_prefix)


def test_the_limits_are_the_documented_budgets() -> None:
    assert LIMITS == {
        "createPost": Limit(10, 60),
        "likePost": Limit(60, 60),
        "addComment": Limit(20, 60),
        "feed": Limit(30, 60),
        "follow": Limit(30, 60),
        "login": Limit(5, 60, "login"),
        "login_ip": Limit(20, 60, "ip"),
        "login_account": Limit(10, 900, "account"),
        "register": Limit(5, 3600, "ip"),
        "markNotificationsRead": Limit(60, 60),
        "updateNotificationPreferences": Limit(30, 60),
        "registerPushSubscription": Limit(10, 60),
        "createStory": Limit(5, 60),
        "viewStory": Limit(600, 60),
        "search": Limit(20, 60),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feed=abc", "INSTAGRAPH_RATE_LIMITS: malformed entry 'feed=abc'; expected action=count/period_seconds"),
        ("feed=10/60,nope", "INSTAGRAPH_RATE_LIMITS: malformed entry 'nope'; expected action=count/period_seconds"),
        ("feed=1/6/1", "INSTAGRAPH_RATE_LIMITS: malformed entry 'feed=1/6/1'; expected action=count/period_seconds"),
        ("fed=1/60", "INSTAGRAPH_RATE_LIMITS: unknown action 'fed' in 'fed=1/60'; known: " + ", ".join(sorted(LIMITS))),
        ("feed=0/60", "INSTAGRAPH_RATE_LIMITS: 'feed=0/60' needs a count and a period of at least 1"),
        ("feed=1/60,feed=2/60", "INSTAGRAPH_RATE_LIMITS: action 'feed' is given twice"),
    ],
)
def test_a_malformed_override_is_refused_naming_the_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_rate_limits(text)
    assert str(refused.value) == message


def test_overrides_replace_the_named_budgets_only_and_keep_their_scope() -> None:
    assert parse_rate_limits(" feed = 100000/60 , login_account=50/900,") == {
        "feed": Limit(100_000, 60),
        "login_account": Limit(50, 900, "account"),
    }
    assert parse_rate_limits("") == {}


def test_settings_refuse_a_malformed_override_at_startup() -> None:
    with pytest.raises(ValueError, match="malformed entry 'createPost=lots'"):
        Settings(env="test", rate_limits="createPost=lots")
    assert Settings(env="test", rate_limits="createPost=1000/60").rate_limit_overrides == {
        "createPost": Limit(1000, 60)
    }


async def test_budgets_report_what_is_left_without_counting(redis: aioredis.Redis, keys: RedisKeys) -> None:
    limits = RateLimitService(GcraLimiter(redis), keys, {"follow": Limit(30, 60), "register": Limit(5, 3600, "ip")})
    fresh = await limits.budgets({"user": "budget-u", "ip": "10.9.9.9"})
    assert [(b.action, b.limit, b.period, b.remaining) for b in fresh] == [
        ("follow", 30, 60, 30),
        ("register", 5, 3600, 5),
    ]
    for _ in range(3):
        await limits.hit("follow", "budget-u")
    again = await limits.budgets({"user": "budget-u", "ip": "10.9.9.9"})
    follow = again[0]
    assert follow.remaining == 27  # peeking twice counted nothing
    assert 0 < follow.reset_at_ms - fresh[0].reset_at_ms <= 3 * 2000 + 100  # three 2 s intervals to refill
    assert (await limits.budgets({"ip": "10.9.9.9"}))[0].action == "register"  # user scope needs a user
    await limits.reset("follow", "budget-u")
    assert (await limits.budgets({"user": "budget-u"}))[0].remaining == 30


async def test_follow_allows_30_per_minute_then_says_when(redis: aioredis.Redis, keys: RedisKeys) -> None:
    limits = RateLimitService(GcraLimiter(redis), keys)
    for _ in range(30):
        await limits.hit("follow", "user-a")
    with pytest.raises(RateLimited) as denied:
        await limits.hit("follow", "user-a")
    assert denied.value.retry_after in (1, 2)  # one follow every 2 s refills the bucket
    assert denied.value.extensions() == {"code": "RATE_LIMITED", "retryAfter": denied.value.retry_after}
    await limits.hit("follow", "user-b")  # another user has their own budget
    ttl = await redis.pttl(keys.rate("user-a", "follow"))
    assert 0 < ttl <= 60_000  # the state expires when the bucket would be full again


async def test_concurrent_hits_are_counted_atomically(redis: aioredis.Redis, keys: RedisKeys) -> None:
    limits = RateLimitService(GcraLimiter(redis), keys)
    results = await asyncio.gather(
        *(limits.hit("follow", "user-c") for _ in range(50)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 30
    assert all(isinstance(r, RateLimited) for r in results if r is not None)


async def test_the_bucket_refills_at_the_emission_interval(redis: aioredis.Redis, keys: RedisKeys) -> None:
    limits = RateLimitService(GcraLimiter(redis), keys, {"burst": Limit(2, 1)})  # one every 500 ms, burst 2
    await limits.hit("burst", "s")
    await limits.hit("burst", "s")
    with pytest.raises(RateLimited) as denied:
        await limits.hit("burst", "s")
    assert denied.value.retry_after == 1
    await asyncio.sleep(0.6)
    await limits.hit("burst", "s")  # one more emission interval has passed
    with pytest.raises(RateLimited):
        await limits.hit("burst", "s")


async def test_subjects_with_odd_characters_are_hashed_into_the_key(
    redis: aioredis.Redis, keys: RedisKeys
) -> None:
    limits = RateLimitService(GcraLimiter(redis), keys, {"login": Limit(1, 60)})
    await limits.hit("login", "{evil}|2001:db8::1")
    with pytest.raises(RateLimited):
        await limits.hit("login", "{evil}|2001:db8::1")
    names = [k.decode() async for k in redis.scan_iter(match=f"{keys.prefix}rate:*:login")]
    assert len(names) == 1 and "evil" not in names[0]


async def test_unknown_action_is_a_programming_error(redis: aioredis.Redis, keys: RedisKeys) -> None:
    with pytest.raises(KeyError):
        await RateLimitService(GcraLimiter(redis), keys).hit("no-such-action", "x")


async def test_limits_fail_open_while_redis_is_down(
    stack: EmbeddedStack, redis: aioredis.Redis, keys: RedisKeys
) -> None:
    limits = RateLimitService(GcraLimiter(redis), keys, {"follow": Limit(1, 60)})
    await limits.hit("follow", "user-d")
    await stack.stop_service("redis")
    try:
        for _ in range(5):
            await limits.hit("follow", "user-d")  # over the limit, but Redis is gone: let it through
    finally:
        await restart_redis(stack, redis)
    with pytest.raises(RateLimited):  # back up: the limit holds again
        await limits.hit("follow", "user-d")
