"""The ``notification-delivery`` periodic job: sends held notification updates and Web Push deliveries.

Every ``INSTAGRAPH_NOTIFICATION_DELIVERY_INTERVAL`` s (default 0.2): ``NotificationDelivery.flush_due`` sends
the updates whose debounce interval or do-not-disturb window is over (one coalesced update per group), then
``WebPushService.send_due`` sends the push jobs that are due (new ones and retries with backoff). Several
replicas are safe: both queues are popped atomically in Redis. A Redis or graph outage is logged by the
periodic runner and retried next tick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.periodic import PeriodicJob

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.core.container import Services

DEFAULT_INTERVAL_S = 0.2


def make_step(services: Services) -> Callable[[], Awaitable[int]]:
    """The job's step: ``await step()`` delivers once; returns updates sent plus push requests made."""
    delivery, push = services.notification_delivery, services.web_push

    async def step() -> int:
        sent = int(await delivery.flush_due())
        return sent + int(await push.send_due())

    return step


JOB: PeriodicJob[Services] = PeriodicJob(
    name="notification-delivery", interval=DEFAULT_INTERVAL_S, make_step=make_step
)
