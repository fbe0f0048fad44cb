"""The consumer runtime against real Tansu and Redis: retries, DLQ, dedupe, commits, and a real store outage
(the cache Redis SIGSTOPped under the real fan-out handler) that pauses the consumer instead of dead-lettering."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cache.keys import RedisKeys
from events.envelope import HEADER_EVENT_ID, HEADER_EVENT_TYPE, Event
from tests.support.factories import make_user
from tests.support.fanout import event_for, feed_ids, follow, open_feeds, publish_post
from tests.support.metrics import metric_value
from tests.support.processes import paused
from workers.fanout import make_handler

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import httpx
    import redis.asyncio as aioredis
    from aiokafka.structs import ConsumerRecord
    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack
    from events.consumer import Consumer
    from events.producer import EventProducer
    from events.topics import Topics
    from graph.store import GraphStore
    from runtime.settings import Settings
    from tests.support.factories import TestUser


async def _publish(producer: EventProducer, topic: str, event: Event) -> None:
    await producer.publish(topic, event.subject_id, event.to_json(), event.headers())


async def test_handler_failing_twice_then_succeeding_runs_the_side_effect_once(
    settings: Settings,
    redis: aioredis.Redis,
    topics: Topics,
    producer: EventProducer,
    make_consumer: Callable[..., Consumer],
) -> None:
    # given: a handler that fails on its first two attempts
    topic = topics.name("follows")
    event = Event.new("follow.created", actor_id="u1", subject_id="flaky-1")
    attempts: list[str] = []
    side_effects: list[str] = []

    async def flaky(e: Event) -> None:
        attempts.append(e.id)
        if len(attempts) <= 2:
            raise RuntimeError("transient")
        side_effects.append(e.id)

    await _publish(producer, topic, event)
    group = f"{settings.consumer_group_prefix}.flaky"

    # when: the consumer runs
    consumer = make_consumer("flaky", [topic], flaky, group=group)
    assert await consumer.run_until_idle() == 1
    await consumer.close()

    # then: three attempts, one side effect, the event is marked seen ...
    assert attempts == [event.id] * 3
    assert side_effects == [event.id]
    assert await redis.exists(RedisKeys(settings.redis_prefix).seen("flaky", event.id)) == 1
    # ... and the offset is committed: the same group, restarted, has nothing to do
    again = make_consumer("flaky", [topic], flaky, group=group)
    assert await again.run_until_idle() == 0
    assert attempts == [event.id] * 3


async def test_poison_event_goes_to_dlq_with_original_record_and_consumer_moves_on(
    topics: Topics,
    producer: EventProducer,
    make_consumer: Callable[..., Consumer],
    read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:
    # given: a poison event, a record that is no event at all, then a good event, all on one key
    topic = topics.name("posts")
    poison = Event.new("post.published", actor_id="u1", subject_id="post-p", data={"poison": True})
    good = Event.new("post.published", actor_id="u1", subject_id="post-p", data={"poison": False})
    await _publish(producer, topic, poison)
    await producer.publish(topic, "post-p", b"{not json", [("trace", b"abc")])
    await _publish(producer, topic, good)
    handled: list[Event] = []
    calls: list[str] = []

    async def handler(e: Event) -> None:
        calls.append(e.id)
        if e.data["poison"]:
            raise ValueError("cannot handle this one")
        handled.append(e)

    # when
    consumer = make_consumer("poison", [topic], handler, max_retries=2)
    assert await consumer.run_until_idle() == 3

    # then: the poison was tried 1 + 2 times, the good one handled, both bad records are in the DLQ
    assert calls == [poison.id] * 3 + [good.id]
    assert handled == [good]
    dead = await read_topic(topics.dlq(topic))
    assert [r.value for r in dead] == [poison.to_json(), b"{not json"]
    assert all(r.key == b"post-p" for r in dead)
    first, second = (dict(r.headers) for r in dead)
    assert first[HEADER_EVENT_ID] == poison.id.encode()
    assert first[HEADER_EVENT_TYPE] == b"post.published"
    assert first["x-attempts"] == b"3"
    assert first["x-original-topic"] == topic.encode()
    assert first["x-consumer"] == b"poison"
    assert b"cannot handle this one" in first["x-error"]
    assert second["trace"] == b"abc"
    assert second["x-attempts"] == b"0"
    assert b"InvalidEvent" in second["x-error"]


async def test_redelivered_event_is_a_no_op(
    settings: Settings,
    redis: aioredis.Redis,
    topics: Topics,
    producer: EventProducer,
    make_consumer: Callable[..., Consumer],
) -> None:
    # given: the same event published twice (a relay that crashed between publish and delete)
    topic = topics.name("engagement")
    event = Event.new("like.created", actor_id="u1", subject_id="post-dup")
    await producer.publish_event(event)
    await producer.publish_event(event)
    likes: list[str] = []

    async def count_like(e: Event) -> None:
        likes.append(e.subject_id)

    # when
    consumer = make_consumer("likes", [topic], count_like)
    handled = await consumer.run_until_idle()

    # then: both records were consumed, the side effect happened once
    assert handled == 2
    assert likes == ["post-dup"]
    assert await redis.exists(RedisKeys(settings.redis_prefix).seen("likes", event.id)) == 1


async def test_dedupe_is_per_consumer(
    topics: Topics, producer: EventProducer, make_consumer: Callable[..., Consumer]
) -> None:
    # given: one event and two different consumers (e.g. fanout and notifications)
    topic = topics.name("users")
    event = Event.new("user.registered", actor_id="u9", subject_id="u9")
    await _publish(producer, topic, event)
    seen: list[str] = []

    async def record(e: Event) -> None:
        seen.append(e.id)

    # when / then: each consumer handles it once
    assert await make_consumer("first", [topic], record).run_until_idle() == 1
    assert await make_consumer("second", [topic], record).run_until_idle() == 1
    assert seen == [event.id, event.id]


async def test_a_store_outage_pauses_the_consumer_instead_of_dead_lettering(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, stack: EmbeddedStack,
    settings: Settings, cache_redis: aioredis.Redis, topics: Topics, producer: EventProducer,
    make_consumer: Callable[..., Consumer], read_topic: Callable[..., Awaitable[list[ConsumerRecord]]],
) -> None:  # fmt: skip
    # given: the real fan-out handler, a follower with a live feed, and a post.published event
    author, fan = await make_user(api, "co_author"), await make_user(api, "co_fan")
    await follow(api, fan, author)
    await open_feeds(app, fan)
    post_id = await publish_post(app, author)
    event = await event_for(graph_store, "post.published", subject_id=post_id)
    topic = topics.name("posts")
    # 2 retries 20/40 ms apart: the old runtime dead-lettered such an event within ~0.1 s of an outage
    consumer = make_consumer("co-fanout", [topic], make_handler(app.state.services), max_retries=2,
                             outage_backoff_max_ms=500)  # fmt: skip
    await consumer.run_until_idle(idle_ms=300)  # joined its group
    labels = {"consumer": "co-fanout"}
    waits = metric_value("instagraph_consumer_store_waits_total", **labels)
    processed = metric_value("instagraph_events_processed_total", **labels, topic=topic)
    runner = asyncio.create_task(consumer.run())
    try:
        # when: the cache Redis is blackholed (SIGSTOP) while the event arrives, for several seconds
        with paused(stack, "cache"):
            await producer.publish_event(event)
            await _until(lambda: metric_value("instagraph_consumer_store_waits_total", **labels) >= waits + 3)
            await asyncio.sleep(1.5)
            assert metric_value("instagraph_consumer_paused", **labels) == 1.0
        # then: once it answers again the same event is handled, exactly once, and never dead-lettered
        await _until_async(lambda: _in_feed(cache_redis, settings, fan, post_id))
    finally:
        consumer.stop()
        await asyncio.wait_for(runner, timeout=15)
    assert metric_value("instagraph_events_processed_total", **labels, topic=topic) == processed + 1
    assert metric_value("instagraph_events_failed_total", **labels, topic=topic) == 0
    dead = await read_topic(topics.dlq(topic), idle_ms=500)
    assert [r for r in dead if dict(r.headers).get(HEADER_EVENT_ID) == event.id.encode()] == []
    assert metric_value("instagraph_consumer_paused", **labels) == 0.0


async def _until(check: Callable[[], bool], within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _until_async(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _in_feed(cache_redis: aioredis.Redis, settings: Settings, user: TestUser, post_id: str) -> bool:
    return post_id in await feed_ids(cache_redis, settings, user)
