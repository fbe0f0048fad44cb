"""The ``fanout`` worker: keeps the home-feed keys in step with post and follow events.

Reads the ``posts`` and ``follows`` topics (``block.*`` shares ``follows``). Dispatch, by event type:

- ``post.published`` -> ``FanoutService.fan_out_post(post_id)``
- ``post.deleted`` -> ``FanoutService.remove_post(post_id)``, unless ``data.was_published`` is false (the
  post never reached a feed: no I/O)
- ``follow.created``, ``follow.accepted`` -> ``backfill_follow(follower_id, followee_id)`` (also the
  followers/following indexes and the follower's cached feed context, suggestions and mutual followers)
- ``follow.removed`` -> ``remove_followee_posts(follower_id, followee_id)`` (likewise)
- ``block.created`` -> ``remove_block(blocker_id, blocked_id)`` (both directions)

Ids come from ``data`` (``post_id``; ``follower_id``/``followee_id``; ``blocker_id``/``blocked_id``) when
present, else from the envelope: for follows ``actor_id`` = follower and ``subject_id`` = followee, for
blocks ``actor_id`` = blocker and ``subject_id`` = blocked. Other types are ignored. Every use case
reloads from the graph and is idempotent, so redelivery is harmless; any error propagates to the consumer
runtime (retries, then DLQ).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import structlog

from workers.consumers import Worker

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from events.envelope import Event
    from services.fanout import FanoutService

log = structlog.get_logger(__name__)

NAME = "fanout"
TOPICS: tuple[str, ...] = ("posts", "follows")


class HasFanout(Protocol):
    """What the handler factory needs from the worker context: a ``fanout`` service."""

    fanout: FanoutService


def _pair(event: Event, first: str, second: str) -> tuple[str, str] | None:
    data: dict[str, Any] = event.data
    a = data.get(first) or event.actor_id
    b = data.get(second) or event.subject_id
    if not isinstance(a, str) or not isinstance(b, str) or a == b:
        return None
    return a, b


def make_handler(ctx: HasFanout) -> Callable[[Event], Awaitable[None]]:
    """Build the ``fanout`` handler over ``ctx.fanout``: ``await handler(event)``."""
    fanout = ctx.fanout

    async def handle(event: Event) -> None:
        kind = event.type
        if kind in ("post.published", "post.deleted"):
            post_id = event.data.get("post_id") or event.subject_id
            if kind == "post.published":
                result = await fanout.fan_out_post(post_id)
                log.debug("fanout.post", post_id=post_id, feeds=result.feeds, pushed=result.pushed)
            elif event.data.get("was_published") is not False:  # a never-published post is in no feed
                await fanout.remove_post(post_id)
        elif kind in ("follow.created", "follow.accepted", "follow.removed"):
            pair = _pair(event, "follower_id", "followee_id")
            if pair is None:
                log.warning("fanout.bad_follow_event", event_id=event.id, type=kind)
            elif kind == "follow.removed":
                await fanout.remove_followee_posts(*pair)
            else:
                await fanout.backfill_follow(*pair)
        elif kind == "block.created":
            pair = _pair(event, "blocker_id", "blocked_id")
            if pair is not None:
                await fanout.remove_block(*pair)

    return handle


#: The registry's entry (``workers/registry.py`` imports ``workers.fanout.WORKER``); its context is the
#: process's ``Services`` (``services.fanout``).
WORKER: Worker[HasFanout] = Worker(name=NAME, topics=TOPICS, make_handler=make_handler)
