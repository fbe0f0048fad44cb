"""Rate limits per (subject, action), enforced atomically in Redis (GCRA, ``cache.rate_limits``).

| action            | subject (``Limit.scope``)      | default       | counted by                          |
|-------------------|--------------------------------|---------------|-------------------------------------|
| ``createPost``    | user id (``user``)             | 10 / minute   | ``createPost``                      |
| ``likePost``      | user id                        | 60 / minute   | ``likePost`` and ``unlikePost``     |
| ``addComment``    | user id                        | 20 / minute   | ``addComment``                      |
| ``feed``          | user id                        | 30 / minute   | ``feed``                            |
| ``follow``        | user id                        | 30 / minute   | ``follow`` and ``unfollow``         |
| ``login``         | (login, client IP) (``login``) | 5 / minute    | every ``login`` attempt             |
| ``login_ip``      | client IP (``ip``)             | 20 / minute   | every ``login`` attempt             |
| ``login_account`` | account (``account``)          | 10 / 15 min   | ``login`` attempts on one account   |
| ``register``      | client IP (``ip``)             | 5 / hour      | ``register``                        |
| ``createStory``   | user id                        | 5 / minute    | ``createStory``                     |
| ``viewStory``     | user id                        | 600 / minute  | ``viewStory``                       |
| ``search``        | user id (anonymous: client IP) | 20 / minute   | ``searchUsers`` and ``searchPosts`` |

and the notification mutations' own: ``markNotificationsRead`` 60, ``updateNotificationPreferences`` 30,
``registerPushSubscription`` 10 per minute per user.

Action names are the GraphQL field names (one name for a budget two fields share) and the names the
``rateLimits`` query lists and ``INSTAGRAPH_RATE_LIMITS`` overrides (:func:`parse_rate_limits`): a new
action is one more ``LIMITS`` entry, configurable and listed without further code.

Every call to ``hit`` counts, so ten aliased ``login`` fields in one operation are ten attempts. Subjects
that are not plain ids (logins, IPv6, anything with braces) are hashed (SHA-256) into the key, so user input
never shapes a Redis key or its Cluster hash tag.

Redis down: every limit FAILS OPEN (the request proceeds), logged as ``rate_limit.fail_open`` and counted
in ``instagraph_rate_limit_fail_open_total{action}``. A cache outage must not lock users out of signing in
or following; brute force stays bounded meanwhile by argon2id's cost per attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog
from prometheus_client import Counter

from cache.errors import CacheUnavailable
from services.core.errors import RateLimited

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cache.keys import RedisKeys
    from cache.rate_limits import Decision, GcraLimiter

log = structlog.get_logger(__name__)

FAIL_OPEN = Counter(
    "instagraph_rate_limit_fail_open_total",
    "Rate-limit checks let through because Redis was down",
    ["action"],
)
LIMITED = Counter("instagraph_rate_limited_total", "Requests refused by a rate limit", ["action"])

_PLAIN_SUBJECT = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ENTRY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(\d+)\s*/\s*(\d+)\s*$")
SETTING = "INSTAGRAPH_RATE_LIMITS"

Scope = Literal["user", "ip", "login", "account"]


@dataclass(frozen=True, slots=True)
class Limit:
    """``count`` requests per ``period`` seconds per subject; ``scope`` says what the subject is: the
    signed-in ``user``'s id, the client ``ip``, the ``login`` typed with the client IP, or the ``account``
    a login names (its user id)."""

    count: int
    period: int
    scope: Scope = "user"


LIMITS: dict[str, Limit] = {
    "createPost": Limit(10, 60),
    "likePost": Limit(60, 60),
    "addComment": Limit(20, 60),
    "feed": Limit(30, 60),
    "follow": Limit(30, 60),
    "login": Limit(5, 60, "login"),
    "login_ip": Limit(20, 60, "ip"),
    "login_account": Limit(10, 900, "account"),
    "register": Limit(5, 3600, "ip"),
    "markNotificationsRead": Limit(60, 60),
    "updateNotificationPreferences": Limit(30, 60),
    "registerPushSubscription": Limit(10, 60),
    "createStory": Limit(5, 60),
    "viewStory": Limit(600, 60),  # ten a second: far above a person tapping through stories
    "search": Limit(20, 60),
}


def parse_rate_limits(text: str, known: Mapping[str, Limit] | None = None) -> dict[str, Limit]:
    """Parse ``INSTAGRAPH_RATE_LIMITS``: comma-separated ``action=count/period_seconds`` entries, e.g.
    ``"feed=100000/60,createPost=1000/60"``; each overrides that action's default (scope kept).

    Returns ``{action: Limit}`` for the named actions only (``""`` -> ``{}``). Raises ``ValueError`` naming
    the entry for a malformed one, an action not in ``known`` (default ``LIMITS``), a count or period below
    1, or an action given twice.
    """
    actions = LIMITS if known is None else known
    parsed: dict[str, Limit] = {}
    for raw in text.split(","):
        if not raw.strip():
            continue
        match = _ENTRY.fullmatch(raw)
        if match is None:
            raise ValueError(f"{SETTING}: malformed entry {raw.strip()!r}; expected action=count/period_seconds")
        action, count, period = match.group(1), int(match.group(2)), int(match.group(3))
        if action not in actions:
            raise ValueError(
                f"{SETTING}: unknown action {action!r} in {raw.strip()!r}; known: {', '.join(sorted(actions))}"
            )
        if count < 1 or period < 1:
            raise ValueError(f"{SETTING}: {raw.strip()!r} needs a count and a period of at least 1")
        if action in parsed:
            raise ValueError(f"{SETTING}: action {action!r} is given twice")
        parsed[action] = Limit(count, period, actions[action].scope)
    return parsed


@dataclass(frozen=True, slots=True)
class Budget:
    """One action's budget for one subject: ``limit`` per ``period`` s, ``remaining`` now, ``reset_at_ms``
    (epoch ms) when the whole budget is available again (now, when nothing is used)."""

    action: str
    limit: int
    period: int
    remaining: int
    reset_at_ms: int


class RateLimitService:
    """``await hit(action, subject)``; ``limits`` defaults to ``LIMITS`` (the composition root passes
    ``LIMITS`` updated with ``INSTAGRAPH_RATE_LIMITS``)."""

    def __init__(self, limiter: GcraLimiter, keys: RedisKeys, limits: Mapping[str, Limit] | None = None) -> None:
        self._limiter = limiter
        self._keys = keys
        self._limits = dict(LIMITS if limits is None else limits)

    @property
    def limits(self) -> dict[str, Limit]:
        """The limits in force, by action (a copy)."""
        return dict(self._limits)

    async def hit(self, action: str, subject: str) -> None:
        """Count one request of ``subject`` for ``action``.

        Raises ``RateLimited(retry_after)`` (whole seconds) when over the limit and ``KeyError`` for an
        unknown action. Returns normally (fail open) when Redis is down.
        """
        key, limit = self.budget_key(action, subject)
        try:
            decision = await self._limiter.hit(key, count=limit.count, period_s=limit.period)
        except CacheUnavailable:
            FAIL_OPEN.labels(action).inc()
            log.warning("rate_limit.fail_open", action=action)
            return
        self.enforce(action, decision)

    def budget_key(self, action: str, subject: str) -> tuple[str, Limit]:
        """The Redis key of ``subject``'s ``action`` budget (hash-tagged with the subject: a user id stays
        itself) and its limit; ``KeyError`` for an unknown action."""
        return self._keys.rate(_subject_key(subject), action), self._limits[action]

    def enforce(self, action: str, decision: Decision) -> None:
        """Raise ``RateLimited(retry_after)`` (counted) when ``decision`` refused a hit of ``action``."""
        if not decision.allowed:
            LIMITED.labels(action).inc()
            raise RateLimited(decision.retry_after_s)

    async def reset(self, action: str, subject: str) -> None:
        """Give ``subject`` its whole ``action`` budget back (a successful login resets the account's
        failure budget). Logs and returns when Redis is down; ``KeyError`` for an unknown action."""
        self._limits[action]
        try:
            await self._limiter.reset(self._keys.rate(_subject_key(subject), action))
        except CacheUnavailable:
            log.warning("rate_limit.reset_failed", action=action)

    async def budgets(self, subjects: Mapping[Scope, str]) -> list[Budget]:
        """The current budget of every action whose scope has a subject in ``subjects`` (e.g. ``{"user":
        uid, "ip": ip, "login": "ana|1.2.3.4", "account": uid}``), in ``LIMITS`` order, without counting
        anything. Raises ``CacheUnavailable`` when Redis is down (nothing can be said then)."""
        chosen = [(a, lim) for a, lim in self._limits.items() if lim.scope in subjects]
        states = await asyncio.gather(
            *(
                self._limiter.peek(
                    self._keys.rate(_subject_key(subjects[lim.scope]), a), count=lim.count, period_s=lim.period
                )
                for a, lim in chosen
            )
        )
        return [
            Budget(action=a, limit=lim.count, period=lim.period, remaining=s.remaining, reset_at_ms=s.reset_at_ms)
            for (a, lim), s in zip(chosen, states, strict=True)
        ]


def _subject_key(subject: str) -> str:
    if _PLAIN_SUBJECT.fullmatch(subject):
        return subject
    return hashlib.sha256(subject.encode()).hexdigest()[:32]
