"""The event envelope and the topic registry (pure code, no services)."""

from __future__ import annotations

import orjson
import pytest

from events.envelope import HEADER_EVENT_ID, HEADER_EVENT_TYPE, Event
from events.errors import InvalidEvent, UnknownEventType
from events.topics import BASE_TOPICS, Topics, all_topics, topic_for


def test_round_trip_keeps_every_field() -> None:
    event = Event.new("follow.created", actor_id="u1", subject_id="u2", data={"state": "FOLLOWING"})

    assert Event.from_json(event.to_json()) == event
    assert event.version == 1
    assert event.id[14] == "7"  # UUIDv7
    assert event.headers() == [(HEADER_EVENT_ID, event.id.encode()), (HEADER_EVENT_TYPE, b"follow.created")]


def test_ids_are_time_sortable() -> None:
    first = Event.new("like.created", actor_id="u1", subject_id="p1")
    second = Event.new("like.created", actor_id="u1", subject_id="p1")

    assert first.id < second.id
    assert first.occurred_at <= second.occurred_at


def test_outbox_props_shape() -> None:
    event = Event.new("post.published", actor_id="u1", subject_id="p1", data={"n": 1}, version=2)

    props = event.outbox_props()

    assert props == {
        "id": event.id,
        "topic": "posts",
        "type": "post.published",
        "key": "p1",
        "payload": event.to_json().decode(),
        "created_at": event.occurred_at,
    }
    assert Event.from_json(props["payload"]).version == 2


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"",
        b"[1, 2]",
        orjson.dumps({"id": "x", "type": "follow.created"}),
        orjson.dumps(
            {
                "id": "x",
                "type": "t.x",
                "version": True,
                "occurred_at": 1,
                "actor_id": None,
                "subject_id": "s",
                "data": {},
            }
        ),
        orjson.dumps(
            {
                "id": "x",
                "type": "t.x",
                "version": 1,
                "occurred_at": 1,
                "actor_id": 5,
                "subject_id": "s",
                "data": {},
            }
        ),
    ],
)
def test_invalid_envelopes_raise(raw: bytes) -> None:
    with pytest.raises(InvalidEvent):
        Event.from_json(raw)


def test_none_value_is_invalid() -> None:
    with pytest.raises(InvalidEvent):
        Event.from_json(None)


@pytest.mark.parametrize(
    ("event_type", "base"),
    [
        ("user.registered", "users"),
        ("follow.created", "follows"),
        ("follow.deleted", "follows"),
        ("block.created", "follows"),
        ("post.published", "posts"),
        ("media.uploaded", "media"),
        ("like.created", "engagement"),
        ("comment.created", "engagement"),
        ("story.expired", "stories"),
        ("notification.created", "notifications"),
    ],
)
def test_topic_for(event_type: str, base: str) -> None:
    assert topic_for(event_type) == base


@pytest.mark.parametrize("event_type", ["weird.created", "follow", "", "Follow.Created"])
def test_unknown_event_type_is_a_value_error(event_type: str) -> None:
    with pytest.raises(ValueError):
        topic_for(event_type)
    with pytest.raises(UnknownEventType):
        Event.new(event_type, actor_id=None, subject_id="s")


def test_physical_names() -> None:
    topics = Topics(".t1")

    assert topics.name("follows") == "instagraph.follows.t1"
    assert topics.for_event("block.created") == "instagraph.follows.t1"
    assert Topics.dlq("instagraph.follows.t1") == "instagraph.follows.t1.dlq"
    assert len(all_topics(".t1")) == 2 * len(BASE_TOPICS)
    assert "instagraph.posts.t1.dlq" in all_topics(".t1")
    with pytest.raises(ValueError):
        topics.name("nope")
