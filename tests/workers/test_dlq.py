"""``instagraph dlq list|redrive <topic>`` on the real stack: an event the fan-out worker could not handle is
dead-lettered, listed, redriven through the same handler once the cause is fixed, and takes effect once.

The cause is real bad data: the follower's ``feed:{uid}`` key holds a string, so every sorted-set command of
the fan-out on it fails with WRONGTYPE (not an outage: retried, then dead-lettered). The fix restores the key
from a ``DUMP`` taken before. The CLI runs as a child process on this module's settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from events.envelope import HEADER_EVENT_ID
from tests.support.factories import make_user
from tests.support.fanout import app_keys, event_for, feed_ids, follow, open_feeds, publish_post
from tests.support.processes import run_cli
from workers.dlq import dlq_topic
from workers.fanout import make_handler

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import httpx
    import redis.asyncio as aioredis
    from aiokafka.structs import ConsumerRecord
    from starlette.applications import Starlette

    from events.consumer import Consumer
    from events.producer import EventProducer
    from events.topics import Topics
    from graph.store import GraphStore
    from runtime.settings import Settings


async def test_a_dead_lettered_event_is_listed_redriven_and_takes_effect_once(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, cache_redis: aioredis.Redis,
    settings: Settings, topics: Topics, producer: EventProducer, make_consumer: Callable[..., Consumer],
    read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:  # fmt: skip
    # given: a follower whose live feed key gets corrupted, and the post.published event of a new post
    author, fan = await make_user(api, "dl_author"), await make_user(api, "dl_fan")
    await follow(api, fan, author)
    await open_feeds(app, fan)
    key = app_keys(settings).feed(fan.id)
    backup = await cache_redis.dump(key)
    await cache_redis.set(key, b"not a sorted set")
    post_id = await publish_post(app, author)
    event = await event_for(graph_store, "post.published", subject_id=post_id)
    await producer.publish_event(event)

    # when: the fan-out consumer runs (the group and name of the real worker)
    fanout = make_consumer("fanout", [topics.name("posts")], make_handler(app.state.services),
                           group=f"{settings.consumer_group_prefix}.fanout", max_retries=1)  # fmt: skip
    assert await fanout.run_until_idle() == 1

    # then: it is in the DLQ, and `dlq list` shows it
    dead = await read_topic(topics.dlq(topics.name("posts")))
    assert [dict(r.headers)[HEADER_EVENT_ID] for r in dead] == [event.id.encode()]
    assert dict(dead[0].headers)["x-consumer"] == b"fanout"
    status, out = await run_cli(settings, "dlq", "list", "posts")
    assert status == 0, out
    assert event.id in out and "post.published" in out and "ResponseError" in out  # WRONGTYPE
    assert "1 dead-lettered record(s) pending" in out

    # when: the cause is fixed (the key restored) and the DLQ redriven
    await cache_redis.restore(key, 0, backup, replace=True)
    assert post_id not in await feed_ids(cache_redis, settings, fan)
    status, out = await run_cli(settings, "dlq", "redrive", "posts")

    # then: the same handler pushed the post, once; a second redrive has nothing left to do
    assert status == 0, out
    assert "handled 1, already handled 0, failed again 0" in out
    assert post_id in await feed_ids(cache_redis, settings, fan)
    assert await cache_redis.exists(app_keys(settings).seen("fanout", event.id)) == 1
    status, out = await run_cli(settings, "dlq", "redrive", "instagraph.posts" + settings.topic_suffix)
    assert (status, "handled 0, already handled 0, failed again 0" in out) == (0, True), out
    status, out = await run_cli(settings, "dlq", "list", dlq_topic(settings, "posts"))
    assert "0 dead-lettered record(s) pending" in out


async def test_an_unknown_topic_is_refused(settings: Settings) -> None:
    status, out = await run_cli(settings, "dlq", "list", "nope")
    assert status == 2
    assert "unknown topic 'nope'" in out
