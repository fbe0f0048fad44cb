"""Like counts never read like edges on the request path: ``Post.like_total`` is kept exact by the like
statements, so an evicted Redis counter is restored from one property, not from a scan of the edges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.cypher import cypher
from graph.statements.engagement import LIKE_COUNTS, RECOUNT_ALL_LIKE_COUNTS
from tests.support.factories import make_user
from tests.support.fanout import app_keys, publish_post

if TYPE_CHECKING:
    import httpx
    import redis.asyncio as aioredis
    from starlette.applications import Starlette

    from runtime.settings import Settings

LIKE_TOTAL = cypher("test.LIKE_TOTAL", "MATCH (p:Post {id: $id}) RETURN p.like_total AS total", system=True)
FORGET_TOTAL = cypher(
    "test.FORGET_TOTAL", "MATCH (p:Post {id: $id}) REMOVE p.like_total RETURN p.id AS id", write=True, system=True
)


def test_the_request_path_statement_reads_no_like_edge() -> None:
    assert "LIKED" not in LIKE_COUNTS.text
    assert "like_total" in LIKE_COUNTS.text


async def test_an_evicted_counter_comes_back_exact_from_the_kept_total(
    app: Starlette, api: httpx.AsyncClient, cache_redis: aioredis.Redis, settings: Settings
) -> None:
    engagement, graph = app.state.services.engagement, app.state.resources.graph
    author = await make_user(api, "lt_author")
    fans = [await make_user(api, f"lt_fan{i}") for i in range(3)]
    post_id = await publish_post(app, author)
    for fan in fans:
        assert await engagement.like_post(fan.id, post_id) is True
    assert await engagement.like_post(fans[0].id, post_id) is False  # a repeat changes nothing
    assert await engagement.unlike_post(fans[1].id, post_id) is True
    assert (await graph.read(LIKE_TOTAL, {"id": post_id}))[0]["total"] == 2

    await cache_redis.delete(app_keys(settings).like_count(post_id))  # evicted
    assert await engagement.like_counts([post_id]) == [2]
    assert await cache_redis.get(app_keys(settings).like_count(post_id)) == b"2:4"


async def test_the_migration_counts_posts_from_before_the_kept_total(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    engagement, graph = app.state.services.engagement, app.state.resources.graph
    author, fan = await make_user(api, "lm_author"), await make_user(api, "lm_fan")
    post_id = await publish_post(app, author)
    await engagement.like_post(fan.id, post_id)
    await graph.write(FORGET_TOTAL, {"id": post_id})  # as stored before the like statements kept it

    assert (await graph.write(RECOUNT_ALL_LIKE_COUNTS))[0]["posts"] >= 1
    assert (await graph.read(LIKE_TOTAL, {"id": post_id}))[0]["total"] == 1
