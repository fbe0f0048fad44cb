"""The live ``notifications(after:)`` subscription: replay what the client missed, then follow live.

Order of work, so that nothing falls in between (no gap) and nothing comes twice (no duplicate):

1. register with the process's relay FIRST (``NotificationRelay.subscribe``): from then on every change after
   ``start`` (the stream's tail at that moment) reaches the subscriber's queue;
2. with ``after`` (the id of the last notification the client saw): find that notification's newest entry in
   the user's stream and replay the entries after it up to ``start``, each notification once, in the order of
   its latest change; when the stream no longer holds it (trimmed), replay from the graph: the notifications
   updated after it, oldest change first;
3. then follow the queue, skipping every entry at or before the last one yielded (stream ids are totally
   ordered per user).

Each emitted notification is read from the graph as the subscriber may see it at that moment (blocked actors
out, deleted content hidden: a change that left nothing visible is skipped). A subscriber that falls behind is
closed by the relay (bounded queue). Errors: ``BadInput("after")`` for a notification that is not the
viewer's; ``Unavailable`` when Redis is down at subscribe time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cache.errors import CacheUnavailable
from cache.notification_relay import SubscriberClosed
from services.core.errors import BadInput, Unavailable

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from cache.notification_relay import NotificationRelay, Subscriber
    from cache.notifications import NotificationStreams, StreamId
    from services.core.records import NotificationRecord
    from services.notification_reads import NotificationReader

REPLAY_BATCH = 50


class LiveNotificationService:
    """Subscriptions over the process's ``relay``, the users' ``streams`` and the graph ``reader``."""

    def __init__(self, relay: NotificationRelay, streams: NotificationStreams, reader: NotificationReader) -> None:
        self.relay, self._streams, self._reader = relay, streams, reader

    async def subscribe(
        self, viewer_id: str, *, after: str | None = None, connection_id: str | None = None
    ) -> AsyncIterator[NotificationRecord]:
        """Yield the viewer's notifications as they are created or change (see the module docstring).

        The iterator ends when the relay drops the subscriber (its connection is being closed).
        """
        if after is not None and await self._reader.position(viewer_id, after) is None:
            raise BadInput("after", "after is not one of your notifications.")
        try:
            subscriber = await self.relay.subscribe(viewer_id, connection_id)
        except CacheUnavailable as exc:
            raise Unavailable("Live notifications are unavailable; try again shortly.") from exc
        try:
            last = subscriber.start
            if after is not None:
                for batch in await self._replay(viewer_id, after, subscriber):
                    for record in await self._reader.notifications_by_ids(viewer_id, batch):
                        if record is not None:
                            yield record
            while True:
                try:
                    entry = await subscriber.next()
                except SubscriberClosed:
                    return
                if entry.id <= last:
                    continue
                last = entry.id
                record = (await self._reader.notifications_by_ids(viewer_id, [entry.notification_id]))[0]
                if record is not None:
                    yield record
        finally:
            await self.relay.unsubscribe(subscriber)

    async def _replay(self, viewer_id: str, after: str, subscriber: Subscriber) -> list[list[str]]:
        """Batches of notification ids to replay, oldest change first, each id once (at its latest change)."""
        try:
            resume = await self._streams.last_of(viewer_id, after)
            ids = await self._from_stream(viewer_id, resume, subscriber.start) if resume else None
        except CacheUnavailable:
            ids = None
        if ids is None:
            since = await self._reader.position(viewer_id, after)
            ids = [] if since is None else await self._reader.changed_since(viewer_id, since)
            ids = [i for i in ids if i != after]
        return [ids[i : i + REPLAY_BATCH] for i in range(0, len(ids), REPLAY_BATCH)]

    async def _from_stream(self, viewer_id: str, resume: StreamId, upto: StreamId) -> list[str]:
        order: dict[str, None] = {}
        cursor = resume
        while cursor < upto:
            entries = await self._streams.after(viewer_id, cursor, upto=upto)
            if not entries:
                break
            for entry in entries:
                order.pop(entry.notification_id, None)  # keep each id once, at its latest change
                order[entry.notification_id] = None
            cursor = entries[-1].id
        return list(order)
