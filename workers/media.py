"""The ``media`` worker: turns uploaded originals into published posts, and deletes a deleted post's objects.

Reads the ``media`` and ``posts`` topics. Dispatch, by event type:

- ``media.uploaded`` -> ``MediaService.process_post(post_id)`` (verify, variants, PUBLISHED or FAILED)
- ``post.deleted`` -> ``MediaService.delete_post_media(post_id)`` (originals and variants, from S3)
- ``media.story_uploaded`` -> ``StoryMediaService.process_story(story_id)`` (the same checks and variants,
  then ACTIVE or FAILED; a story's objects are deleted by the ``stories-expiry`` worker)

The post id comes from ``data.post_id`` when present, else the envelope's ``subject_id``. Other types are
ignored. Both use cases reload the post by id and act only on the expected status, so a redelivered event
changes nothing; S3 and graph outages propagate to the consumer runtime (retries, then the DLQ, then the
sweeper's PROCESSING pass picks the post up again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import structlog

from workers.consumers import Worker

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from events.envelope import Event
    from services.media_processing import MediaService
    from services.story_media import StoryMediaService

log = structlog.get_logger(__name__)

NAME = "media"
TOPICS: tuple[str, ...] = ("media", "posts")


class HasMedia(Protocol):
    """What the handler factory needs from the worker context: a ``media`` processor."""

    media: MediaService
    story_media: StoryMediaService


def make_media_handler(
    processor: MediaService, stories: StoryMediaService | None = None
) -> Callable[[Event], Awaitable[None]]:
    """The ``media`` handler over ``processor`` (posts) and ``stories``: ``await handler(event)``."""

    async def handle(event: Event) -> None:
        if event.type == "media.story_uploaded":
            story_id = event.data.get("story_id") or event.subject_id
            if stories is not None and isinstance(story_id, str):
                log.info("media.story_processed", story_id=story_id, outcome=await stories.process_story(story_id))
            return
        post_id = event.data.get("post_id") or event.subject_id
        if not isinstance(post_id, str):
            log.warning("media.bad_event", event_id=event.id, type=event.type)
            return
        if event.type == "media.uploaded":
            outcome = await processor.process_post(post_id)
            log.info("media.processed", post_id=post_id, outcome=outcome)
        elif event.type == "post.deleted":
            deleted = await processor.delete_post_media(post_id)
            log.info("media.deleted", post_id=post_id, objects=deleted)

    return handle


def make_handler(ctx: HasMedia) -> Callable[[Event], Awaitable[None]]:
    """Build the handler from the worker context (the process's ``Services``: ``services.media``)."""
    return make_media_handler(ctx.media, ctx.story_media)


#: The registry's entry (``workers/registry.py`` imports ``workers.media.WORKER``).
WORKER: Worker[HasMedia] = Worker(name=NAME, topics=TOPICS, make_handler=make_handler)
