"""The service objects of one process, built once by the composition root (``runtime/container.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Services:
    """Every use-case object a resolver may call, by capability.

    ``auth`` must offer ``async authenticate(authorization_header) -> Principal`` (raises ``Unauthenticated``).
    The others are the capability services (accounts, follows, posts, feed, engagement, …); each resolver
    module documents what it calls.
    """

    auth: Any = None
    accounts: Any = None
    users: Any = None
    follows: Any = None
    blocks: Any = None
    connections: Any = None
    visibility: Any = None
    suggestions: Any = None
    rate_limits: Any = None
    idempotency: Any = None
    posts: Any = None
    media: Any = None
    feed: Any = None
    fanout: Any = None
    engagement: Any = None
    health: Any = None
    notifications: Any = None
    notification_reads: Any = None
    notification_preferences: Any = None
    notification_delivery: Any = None
    live_notifications: Any = None
    web_push: Any = None
