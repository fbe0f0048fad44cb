"""Like counters racing recounts, on the real stack: Redis and the graph copy are right after the write-back.

Likes go through ``EngagementService`` (the one-statement like + the counter change); a "forced recount" is
an evicted counter (deleted key) read again. The interleaving test drives the reader's two steps by hand
(recount, then install) around a like committed between them: the case that left Redis one short for an
hour.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cache.like_counts import Counted
from graph.statements.engagement import LIKE_COUNTS
from tests.support.factories import make_user
from tests.support.fanout import app_keys, publish_post
from tests.support.posts import post_counts

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from runtime.settings import Settings


async def test_a_like_committed_during_a_recount_is_not_overwritten(
    app: Starlette, api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    engagement, graph = app.state.services.engagement, app.state.resources.graph
    cache = engagement.counters._cache  # the reader's own steps, driven one by one
    author, fans = await make_user(api, "lr_author"), [await make_user(api, f"lr_fan{i}") for i in range(3)]
    post_id = await publish_post(app, author)
    for fan in fans[:2]:
        await engagement.like_post(fan.id, post_id)
    key = app_keys(settings).like_count(post_id)
    await cache_redis.delete(key)  # evicted

    # a reader recounts (2 likes, version 2) ...
    (row,) = await graph.read(LIKE_COUNTS, {"ids": [post_id]})
    # ... a third like commits meanwhile, its counter change finding no counter ...
    assert await engagement.like_post(fans[2].id, post_id) is True
    # ... then the reader installs its older recount: refused
    assert await cache.install({post_id: Counted(int(row["likes"]), int(row["version"]))}) == {post_id: None}

    assert await engagement.like_counts([post_id]) == [3]
    assert await cache_redis.get(key) == b"3:3"
    await engagement.counters.write_back()
    assert (await post_counts(graph, post_id))["like_count"] == 3


async def test_concurrent_likes_and_forced_recounts_end_right_after_the_write_back(
    app: Starlette, api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    engagement, graph = app.state.services.engagement, app.state.resources.graph
    author = await make_user(api, "lc_author")
    fans = [await make_user(api, f"lc_fan{i}") for i in range(16)]
    post_id = await publish_post(app, author)
    key = app_keys(settings).like_count(post_id)
    liking = asyncio.Event()

    async def recount_while_liking() -> int:
        reads = 0
        while not liking.is_set():
            await cache_redis.delete(key)  # forced recount
            await engagement.like_counts([post_id])
            reads += 1
            await asyncio.sleep(0)
        return reads

    async def like_all() -> None:
        try:
            await asyncio.gather(*(engagement.like_post(f.id, post_id) for f in fans))
            await asyncio.gather(*(engagement.unlike_post(f.id, post_id) for f in fans[:5]))
        finally:
            liking.set()

    reads, _ = await asyncio.gather(recount_while_liking(), like_all())
    await engagement.counters.write_back()

    assert reads > 0
    assert await engagement.like_counts([post_id]) == [11]
    held = await cache_redis.get(key)
    assert held is None or held.split(b":")[0] == b"11"  # absent (recounted next) or exact, never one off
    assert (await post_counts(graph, post_id))["like_count"] == 11


async def test_the_write_back_reads_no_like_edge_when_redis_holds_the_value(
    app: Starlette, api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    engagement, graph = app.state.services.engagement, app.state.resources.graph
    author, fan = await make_user(api, "wb_author"), await make_user(api, "wb_fan")
    hot, cold = await publish_post(app, author), await publish_post(app, author)
    await engagement.like_counts([hot, cold])  # counters installed
    await engagement.like_post(fan.id, hot)
    await engagement.like_post(fan.id, cold)
    await engagement.counters.write_back()

    # when: one counter is current, the other evicted
    await engagement.unlike_post(fan.id, hot)
    await engagement.unlike_post(fan.id, cold)
    await cache_redis.delete(app_keys(settings).like_count(cold))
    before = graph.round_trips
    assert await engagement.counters.write_back() == 2

    # then: one statement copied the current one (no edge read); only the evicted one was recounted
    assert graph.round_trips - before == 2  # WRITE_BACK_LIKE_COUNTS + RECOUNT_LIKE_COUNTS (for `cold` only)
    assert [(await post_counts(graph, p))["like_count"] for p in (hot, cold)] == [0, 0]
    assert await cache_redis.get(app_keys(settings).like_count(cold)) == b"0:2"  # the recount installed
    await engagement.like_post(fan.id, hot)
    before = graph.round_trips
    await engagement.counters.write_back()
    assert graph.round_trips - before == 1  # every counter current: WRITE_BACK_LIKE_COUNTS alone
