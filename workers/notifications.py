"""The ``notifications`` worker: turns like, comment, follow, block and post events into notifications.

Its own consumer group (``<prefix>.notifications``) on the ``engagement``, ``follows`` and ``posts`` topics.
Every event goes to ``NotificationService.handle`` (``services/notifications.py`` has the event -> kind
table, the exclusions and the aggregation); other event types are ignored. Handlers reload from the graph and
are idempotent, so a redelivered event changes nothing; errors propagate to the consumer runtime (retries,
then the DLQ). Live delivery of what changed is decided in the same call (debounce, do-not-disturb); held
updates are sent by the ``notification-delivery`` job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from workers.consumers import Worker

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from events.envelope import Event
    from services.notifications import NotificationService

NAME = "notifications"
TOPICS: tuple[str, ...] = ("engagement", "follows", "posts")


class HasNotifications(Protocol):
    """What the handler factory needs from the worker context: a ``notifications`` service."""

    notifications: NotificationService


def make_handler(ctx: HasNotifications) -> Callable[[Event], Awaitable[None]]:
    """Build the ``notifications`` handler over ``ctx.notifications``: ``await handler(event)``."""
    service = ctx.notifications

    async def handle(event: Event) -> None:
        await service.handle(event)

    return handle


#: The registry's entry; its context is the process's ``Services`` (``services.notifications``).
WORKER: Worker[HasNotifications] = Worker(name=NAME, topics=TOPICS, make_handler=make_handler)
