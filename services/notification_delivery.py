"""Live delivery of notification changes: debounce, do-not-disturb, then the stream (live) and Web Push.

A change of a group (a new actor) is delivered at once when the group had no delivery in the last
``debounce`` s (``INSTAGRAPH_NOTIFICATION_DEBOUNCE``); otherwise it is held and goes out once that interval is
over, coalesced with whatever else changed the group meanwhile: at most one update per group per interval,
the first at once (API.md "Aggregation"; the seed's notification storm: "Priya and 9,999 others liked your
reel", a 60 s window). During the recipient's do-not-disturb window nothing goes out; the change is held until
the window ends. Delivering = appending to the user's stream and waking the API processes
(``cache.notifications``), and queueing a Web Push job when Web Push is configured. The list itself always
shows the change at once (it is in the graph before delivery is decided).

``flush_due`` (the ``notification-delivery`` job) sends what came due; time comes from ``clock`` (epoch ms), so
tests drive do-not-disturb with a clock they control. Errors: ``CacheUnavailable`` and ``GraphError``
propagate (the consumer retries the event; the job retries next tick: a held update is popped only when it is
about to be sent, so an outage delays it and loses nothing but that one pop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter

from cache.push_queue import PushJob
from services.core.clock import now_ms
from services.notification_preferences import dnd_hold_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from cache.notification_schedule import DeliverySchedule
    from cache.notifications import NotificationStreams
    from cache.push_queue import PushQueue
    from services.notification_preferences import NotificationPreferenceService
    from services.notifications import StoredChange

log = structlog.get_logger(__name__)

DELIVERED = Counter("instagraph_notifications_delivered_total", "Notification updates delivered live", ["how"])
HELD = Counter("instagraph_notifications_held_total", "Notification updates held", ["why"])


class NotificationDelivery:
    """Decides when a change goes out and sends it. ``debounce_s`` seconds; ``clock`` returns epoch ms."""

    def __init__(
        self,
        streams: NotificationStreams,
        schedule: DeliverySchedule,
        preferences: NotificationPreferenceService,
        push_queue: PushQueue | None,
        *,
        debounce_s: float,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._streams, self._schedule, self._prefs, self._push = streams, schedule, preferences, push_queue
        self.debounce_ms = int(debounce_s * 1000)
        self.clock = clock

    async def changed(self, change: StoredChange) -> bool:
        """A group gained an actor: deliver now (True) or hold it (False)."""
        now = self.clock()
        hold = dnd_hold_until(change.dnd_start, change.dnd_end, change.time_zone, now)
        decision = await self._schedule.decide(
            change.recipient_id, change.notification_id, now_ms=now, debounce_ms=self.debounce_ms, hold_until_ms=hold
        )
        if decision.deliver:
            await self._send(change.recipient_id, change.notification_id, now)
            DELIVERED.labels("now").inc()
        else:
            HELD.labels("dnd" if hold else "debounce").inc()
        return decision.deliver

    async def flush_due(self) -> int:
        """Send every held update that came due (re-holding those whose recipient is in do-not-disturb again or
        still); returns how many were sent."""
        now = self.clock()
        users = await self._schedule.due_users(now)
        if not users:
            return 0
        prefs = await self._prefs.dnd_of(users)
        sent = 0
        for user_id in users:
            due = await self._schedule.pop_due(user_id, now)
            p = prefs.get(user_id)
            hold = dnd_hold_until(p.dnd_start, p.dnd_end, p.time_zone, now) if p else None
            for notification_id in due:
                if hold:
                    await self._schedule.hold(user_id, notification_id, hold)
                    continue
                await self._send(user_id, notification_id, now)
                await self._schedule.delivered(user_id, notification_id, now_ms=now, debounce_ms=self.debounce_ms)
                DELIVERED.labels("held").inc()
                sent += 1
        return sent

    async def _send(self, user_id: str, notification_id: str, now: int) -> None:
        await self._streams.append(user_id, notification_id)
        if self._push is not None:
            await self._push.put(PushJob(user_id, notification_id), now)
