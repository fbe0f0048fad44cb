"""The ``hashtags`` worker: keeps the trending-hashtag counters (``services.hashtags``) in step with posts.

Its own consumer group reads ``posts``: ``post.published`` -> ``HashtagService.record_post(post_id)`` (the post
reloaded by id and counted at its publication time if it is PUBLISHED now), ``post.deleted`` ->
``forget_post(post_id)``; other types are ignored. Both are idempotent (each post is counted and removed at
most once), so redelivery is harmless. A Redis or graph outage pauses the consumer (``events.consumer``): the
events wait, uncommitted, instead of going to the DLQ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from workers.consumers import Worker

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from events.envelope import Event
    from services.hashtags import HashtagService

NAME = "hashtags"
TOPICS: tuple[str, ...] = ("posts",)


class HasHashtags(Protocol):
    """What the handler factory needs from the worker context: a ``hashtags`` service."""

    @property
    def hashtags(self) -> HashtagService: ...


def make_handler(ctx: HasHashtags) -> Callable[[Event], Awaitable[None]]:
    """Build the ``hashtags`` handler over ``ctx.hashtags``: ``await handler(event)``."""
    hashtags = ctx.hashtags

    async def handle(event: Event) -> None:
        post_id = event.data.get("post_id") or event.subject_id
        if event.type == "post.published":
            await hashtags.record_post(post_id)
        elif event.type == "post.deleted" and event.data.get("was_published") is not False:
            await hashtags.forget_post(post_id)

    return handle


#: The registry's entry; its context is the process's ``Services`` (``services.hashtags``).
WORKER: Worker[HasHashtags] = Worker(name=NAME, topics=TOPICS, make_handler=make_handler)
