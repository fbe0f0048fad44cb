"""The ``stories-expiry`` worker: expires stories and deletes their media, from the ``stories`` topic.

Dispatch, by event type (the story id from ``data.story_id``, else the envelope's ``subject_id``):

- ``story.expired`` (the stories sweeper's schedule) -> ``StoryExpiryService.expire``: EXPIRED, media
  deleted unless the story is in a highlight, off ``stories:{uid}`` and the schedule;
- ``story.deleted`` -> ``StoryExpiryService.purge``: the deleted story's objects;
- ``story.highlight_deleted`` -> ``purge`` of the highlight's former stories (those now expired and in no
  highlight; the others are left alone);
- ``story.published`` -> ``StoryExpiryService.relist``: the live story into ``stories:{uid}`` and the schedule
  again (idempotent; it matters when Redis was down as the media worker published it).

Other types are ignored. Every use case reloads by id and acts on the expected state only, so a redelivered
event changes nothing; S3, Redis and graph outages propagate to the consumer runtime (retries, then the DLQ,
and the sweep catches whatever is left).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import structlog

from workers.consumers import Worker

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from events.envelope import Event
    from services.story_expiry import StoryExpiryService

log = structlog.get_logger(__name__)

NAME = "stories-expiry"
TOPICS: tuple[str, ...] = ("stories",)


class HasStoryExpiry(Protocol):
    """What the handler factory needs from the worker context."""

    story_expiry: StoryExpiryService


def make_expiry_handler(expiry: StoryExpiryService) -> Callable[[Event], Awaitable[None]]:
    """The ``stories-expiry`` handler over ``expiry``: ``await handler(event)``."""

    async def handle(event: Event) -> None:
        if event.type == "story.highlight_deleted":
            story_ids = [s for s in event.data.get("story_ids") or [] if isinstance(s, str)]
            log.info("stories_expiry.unhighlighted", purged=await expiry.purge(story_ids))
            return
        story_id = event.data.get("story_id") or event.subject_id
        if not isinstance(story_id, str):
            log.warning("stories_expiry.bad_event", event_id=event.id, type=event.type)
            return
        if event.type == "story.expired":
            expired, purged = await expiry.expire([story_id])
            log.info("stories_expiry.expired", story_id=story_id, expired=expired, purged=purged)
        elif event.type == "story.deleted":
            log.info("stories_expiry.deleted", story_id=story_id, purged=await expiry.purge([story_id]))
        elif event.type == "story.published":
            await expiry.relist(story_id)

    return handle


def make_handler(ctx: HasStoryExpiry) -> Callable[[Event], Awaitable[None]]:
    """Build the handler from the worker context (the process's ``Services``)."""
    return make_expiry_handler(ctx.story_expiry)


#: The registry's entry (``workers/registry.py`` imports ``workers.stories_expiry.WORKER``).
WORKER: Worker[HasStoryExpiry] = Worker(name=NAME, topics=TOPICS, make_handler=make_handler)
