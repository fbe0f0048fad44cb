"""Rate limits per (subject, action), enforced atomically in Redis (GCRA, ``cache.rate_limits``).

| action     | subject            | limit        |
|------------|--------------------|--------------|
| ``follow``   | user id            | 30 / minute  |
| ``login``    | (login, client IP) | 5 / minute   |
| ``login_ip`` | client IP          | 20 / minute  |
| ``register`` | client IP          | 5 / hour     |
| ``search``   | user id (anonymous: client IP) | 20 / minute, ``searchUsers`` and ``searchPosts`` together |

Every call to ``hit`` counts, so ten aliased ``login`` fields in one operation are ten
attempts. Subjects that are not plain ids (logins, IPv6, anything with braces) are hashed (SHA-256) into the
key, so user input never shapes a Redis key or its Cluster hash tag.

Redis down: every limit FAILS OPEN (the request proceeds), logged as ``rate_limit.fail_open`` and counted
in ``instagraph_rate_limit_fail_open_total{action}``. A cache outage must not lock users out of signing in
or following; brute force stays bounded meanwhile by argon2id's cost per attempt.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter

from cache.errors import CacheUnavailable
from services.core.errors import RateLimited

if TYPE_CHECKING:
    from cache.keys import RedisKeys
    from cache.rate_limits import GcraLimiter

log = structlog.get_logger(__name__)

FAIL_OPEN = Counter(
    "instagraph_rate_limit_fail_open_total",
    "Rate-limit checks let through because Redis was down",
    ["action"],
)
LIMITED = Counter("instagraph_rate_limited_total", "Requests refused by a rate limit", ["action"])

_PLAIN_SUBJECT = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Limit:
    """``count`` requests per ``period`` seconds."""

    count: int
    period: int


LIMITS: dict[str, Limit] = {
    "follow": Limit(30, 60),
    "login": Limit(5, 60),
    "login_ip": Limit(20, 60),
    "register": Limit(5, 3600),
    "markNotificationsRead": Limit(60, 60),
    "updateNotificationPreferences": Limit(30, 60),
    "registerPushSubscription": Limit(10, 60),
    "search": Limit(20, 60),
}


class RateLimitService:
    """``await hit(action, subject)``; ``limits`` defaults to ``LIMITS``."""

    def __init__(self, limiter: GcraLimiter, keys: RedisKeys, limits: dict[str, Limit] | None = None) -> None:
        self._limiter = limiter
        self._keys = keys
        self._limits = dict(LIMITS if limits is None else limits)

    async def hit(self, action: str, subject: str) -> None:
        """Count one request of ``subject`` for ``action``.

        Raises ``RateLimited(retry_after)`` (whole seconds) when over the limit and ``KeyError`` for an
        unknown action. Returns normally (fail open) when Redis is down.
        """
        limit = self._limits[action]
        key = self._keys.rate(_subject_key(subject), action)
        try:
            decision = await self._limiter.hit(key, count=limit.count, period_s=limit.period)
        except CacheUnavailable:
            FAIL_OPEN.labels(action).inc()
            log.warning("rate_limit.fail_open", action=action)
            return
        if not decision.allowed:
            LIMITED.labels(action).inc()
            raise RateLimited(decision.retry_after_s)


def _subject_key(subject: str) -> str:
    if _PLAIN_SUBJECT.fullmatch(subject):
        return subject
    return hashlib.sha256(subject.encode()).hexdigest()[:32]
