"""Bounded Redis on the real stack: cache and state in two Redis roles, feeds that expire without reads.

- The cache role (``allkeys-lru`` under a ``maxmemory``) filled to its limit evicts cache keys, and sign-in,
  an existing session and the feed all keep working: state (refresh-token families, the session cache) lives
  in the state role, which never evicts.
- Feed keys live ``feed_ttl`` after their last read (this module: 1 s); the fan-out pushes only into live
  feeds, and a user back after their feed expired gets it rebuilt from the graph (the seed's "offline user
  returning after 2 weeks").
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from schema.base import from_global_id
from tests.support.factories import DEFAULT_PASSWORD, graphql, make_user
from tests.support.fanout import app_keys, follow, open_feeds, publish_post
from tests.support.metrics import metric_value

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from runtime.settings import Settings

FEED_TTL_S = 1
FEED = "{ feed(first: 20) { edges { node { id } } } }"
VIEWER = "{ viewer { username } }"
LOGIN = "mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }"
FILL_VALUE = b"x" * 4096


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """This module's settings with feeds living 1 s after their last read."""
    return settings.model_copy(update={"feed_ttl": FEED_TTL_S})


def _ids(body: dict[str, Any]) -> list[str]:
    assert body.get("errors") is None, body
    return [from_global_id(e["node"]["id"], field="id")[1] for e in body["data"]["feed"]["edges"]]


async def _evicted(client: aioredis.Redis) -> int:
    return int((await client.info("stats"))["evicted_keys"])


async def test_a_full_cache_evicts_cache_keys_and_sign_in_still_works(
    app: Starlette, api: httpx.AsyncClient, cache_redis: aioredis.Redis, redis: aioredis.Redis,
    settings: Settings,
) -> None:  # fmt: skip
    user, author = await make_user(api, "rr_user"), await make_user(api, "rr_author")
    await follow(api, user, author)
    post_id = await publish_post(app, author)
    assert _ids(await graphql(api, FEED, token=user.token)) == [post_id]
    state_keys = sorted(await redis.keys(f"{settings.redis_prefix}*"))
    original = (await cache_redis.config_get("maxmemory"))["maxmemory"]
    used = int((await cache_redis.info("memory"))["used_memory"])
    evicted = await _evicted(cache_redis)
    await cache_redis.config_set("maxmemory", used + 4 * 1024 * 1024)
    try:
        # when: the cache role is filled past its limit (16 MB of 4 KB values into a 4 MB margin)
        for start in range(0, 4096, 512):
            pipe = cache_redis.pipeline(transaction=False)
            for i in range(start, start + 512):
                pipe.set(f"{settings.redis_prefix}fill:{i}", FILL_VALUE)
            await pipe.execute()
        assert await _evicted(cache_redis) > evicted  # it evicted instead of refusing writes

        # then: signing in (a refresh-token family, state), an existing session and the feed all work
        login = await graphql(api, LOGIN, {"l": "rr_user", "p": DEFAULT_PASSWORD})
        assert login.get("errors") is None, login
        fresh = login["data"]["login"]["accessToken"]
        for token in (user.token, fresh):
            assert (await graphql(api, VIEWER, token=token))["data"]["viewer"] == {"username": "rr_user"}
        assert _ids(await graphql(api, FEED, token=user.token)) == [post_id]
        assert set(state_keys) <= set(await redis.keys(f"{settings.redis_prefix}*"))  # no state key lost
        assert (await redis.config_get("maxmemory-policy"))["maxmemory-policy"] == "noeviction"
    finally:
        await cache_redis.config_set("maxmemory", original)


async def test_an_expired_feed_gets_no_pushes_and_is_rebuilt_when_its_owner_returns(
    app: Starlette, api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    reader, author = await make_user(api, "ex_reader"), await make_user(api, "ex_author")
    await follow(api, reader, author)
    await open_feeds(app, reader, author)
    first = await publish_post(app, author)
    fanout = app.state.services.fanout
    assert (await fanout.fan_out_post(first)).feeds == 2  # the author's and the reader's live feeds
    key = app_keys(settings).feed(reader.id)
    assert 0 < await cache_redis.ttl(key) <= FEED_TTL_S

    await asyncio.sleep(FEED_TTL_S + 0.3)  # the reader stays away: both feeds expire
    assert await cache_redis.exists(key) == 0
    second = await publish_post(app, author)
    assert (await fanout.fan_out_post(second)).feeds == 0  # nobody reads: nothing pushed, nothing created
    assert await cache_redis.exists(key) == 0

    rebuilds = metric_value("instagraph_feed_rebuilds_total")
    assert _ids(await graphql(api, FEED, token=reader.token)) == [second, first]  # back: rebuilt
    assert metric_value("instagraph_feed_rebuilds_total") == rebuilds + 1
    assert await cache_redis.exists(key) == 1
