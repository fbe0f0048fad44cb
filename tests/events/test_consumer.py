"""The consumer runtime against real Tansu and Redis: retries, DLQ, dedupe, commits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cache.keys import RedisKeys
from events.envelope import HEADER_EVENT_ID, HEADER_EVENT_TYPE, Event

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import redis.asyncio as aioredis
    from aiokafka.structs import ConsumerRecord

    from events.consumer import Consumer
    from events.producer import EventProducer
    from events.topics import Topics
    from runtime.settings import Settings


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
