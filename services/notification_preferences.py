"""Notification preferences and do-not-disturb: ``notification_preferences``, ``update_notification_preferences``
and the window arithmetic the delivery uses (:func:`dnd_hold_until`).

A kind turned off (``likes: false``...) stores nothing at all for it: the notifications worker checks the flag in
the statement that would store it. A do-not-disturb window is two local times ``"HH:MM"`` in the user's IANA
time zone (``zoneinfo`` with the ``tzdata`` package, so it works where the OS has no zone database); it may
cross midnight (``22:00``-``07:00``). During it nothing is pushed (live or Web Push); the list shows changes at
once and the held updates go out, coalesced, when it ends.

Errors: ``BadInput`` naming the input field (``doNotDisturbStart``, ``doNotDisturbEnd``, ``timeZone``), nothing
written; ``NotFound`` for an unknown user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from graph.statements import notification_preferences as stmts
from services.core.errors import BadInput, NotFound

if TYPE_CHECKING:
    from collections.abc import Mapping

    from graph.store import GraphStore
    from services.rate_limits import RateLimitService

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
ZONE_MAX_CHARS = 64
FLAGS = ("likes", "comments", "follows", "follow_requests", "mentions")
_FIELD = {"dnd_start": "doNotDisturbStart", "dnd_end": "doNotDisturbEnd", "time_zone": "timeZone"}


@dataclass(frozen=True, slots=True)
class NotificationPreferences:
    """Per-kind switches (True: notify), the do-not-disturb window (``"HH:MM"`` local, both or neither) and
    the IANA ``time_zone``."""

    likes: bool = True
    comments: bool = True
    follows: bool = True
    follow_requests: bool = True
    mentions: bool = True
    dnd_start: str | None = None
    dnd_end: str | None = None
    time_zone: str = "UTC"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> NotificationPreferences:
        """From the graph's raw properties (absent flags: on; ``''`` window: none; absent zone: UTC)."""
        flags = {f: row.get(f) is not False for f in FLAGS}
        return cls(**flags, dnd_start=row.get("dnd_start") or None, dnd_end=row.get("dnd_end") or None,
                   time_zone=row.get("time_zone") or "UTC")  # fmt: skip

    def to_props(self) -> dict[str, Any]:
        """The graph properties (``''`` for no window)."""
        props: dict[str, Any] = {f: getattr(self, f) for f in FLAGS}
        return {**props, "dnd_start": self.dnd_start or "", "dnd_end": self.dnd_end or "", "time_zone": self.time_zone}


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_time_zone(name: str, *, field: str = "timeZone") -> str:
    """``name`` when it is an IANA zone name (``Europe/Paris``, ``UTC``); raises ``BadInput(field)``."""
    if not name or len(name) > ZONE_MAX_CHARS or name not in _zones():
        raise BadInput(field, f"{field} must be an IANA time zone name such as 'Europe/Paris'.")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadInput(field, f"{field} must be an IANA time zone name such as 'Europe/Paris'.") from exc
    return name


def check_local_time(value: str, *, field: str) -> str:
    """``value`` when it is ``"HH:MM"`` (00:00-23:59); raises ``BadInput(field)`` (``"25:00"``, ``"7:00"``)."""
    if not _HHMM.match(value):
        raise BadInput(field, f"{field} must be a local time 'HH:MM' between 00:00 and 23:59.")
    return value


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def dnd_hold_until(start: str | None, end: str | None, time_zone: str | None, now_ms: int) -> int | None:
    """Epoch ms at which the do-not-disturb window ``start``-``end`` (local ``"HH:MM"`` in ``time_zone``)
    that contains ``now_ms`` ends, or ``None`` when there is no window or ``now_ms`` is outside it.

    The window is ``[start, end)`` in local wall time and crosses midnight when ``end <= start`` (``start ==
    end`` is no window). The end is the next local ``end`` after now, converted with the zone's offset at that
    moment (a DST change inside the window moves the end by the wall-clock rule: 07:00 local stays 07:00). An
    unknown zone counts as UTC.
    """
    if not start or not end or start == end:
        return None
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(zone)
    minute = local.hour * 60 + local.minute
    s, e = _minutes(start), _minutes(end)
    inside = s <= minute < e if s < e else (minute >= s or minute < e)
    if not inside:
        return None
    end_day = local.date() if minute < e else local.date() + timedelta(days=1)
    end_local = datetime(end_day.year, end_day.month, end_day.day, e // 60, e % 60, tzinfo=zone)
    return int(end_local.astimezone(UTC).timestamp() * 1000)


class NotificationPreferenceService:
    """Reads and updates a user's notification preferences (properties of their ``User`` node)."""

    def __init__(self, graph: GraphStore, rate_limits: RateLimitService | None = None) -> None:
        self._graph = graph
        self._rate_limits = rate_limits

    async def preferences(self, user_id: str) -> NotificationPreferences:
        """The user's preferences (defaults for what was never set); raises ``NotFound``."""
        rows = await self._graph.read(stmts.PREFERENCES, {"user_id": user_id})
        if not rows:
            raise NotFound("User not found.")
        return NotificationPreferences.from_row(rows[0])

    async def update_preferences(self, user_id: str, changes: Mapping[str, Any]) -> NotificationPreferences:
        """Apply ``changes`` (snake_case keys of the input fields the client sent; a ``None`` window time clears
        the window, both ends) and return the stored preferences.

        Raises ``BadInput`` for a malformed time (``doNotDisturbStart``/``doNotDisturbEnd``), an unknown zone
        (``timeZone``), a null switch (its field), or a window with one end only; nothing is written then;
        ``RateLimited`` over 30 updates a minute.
        """
        if self._rate_limits is not None:
            await self._rate_limits.hit("updateNotificationPreferences", user_id)
        current = await self.preferences(user_id)
        updated = current
        for flag in FLAGS:
            if flag in changes:
                value = changes[flag]
                if not isinstance(value, bool):
                    field = "followRequests" if flag == "follow_requests" else flag
                    raise BadInput(field, f"{field} must be true or false.")
                updated = replace(updated, **{flag: value})  # type: ignore[arg-type]
        if "time_zone" in changes:
            zone = changes["time_zone"]
            if not isinstance(zone, str):
                raise BadInput("timeZone", "timeZone must be an IANA time zone name such as 'Europe/Paris'.")
            updated = replace(updated, time_zone=check_time_zone(zone))
        window = {k: changes[k] for k in ("dnd_start", "dnd_end") if k in changes}
        if any(v is None or v == "" for v in window.values()):
            updated = replace(updated, dnd_start=None, dnd_end=None)
        elif window:
            for key, value in window.items():
                check_local_time(value, field=_FIELD[key])
            updated = replace(updated, **window)
            if (updated.dnd_start is None) != (updated.dnd_end is None):
                missing = "dnd_end" if updated.dnd_end is None else "dnd_start"
                raise BadInput(_FIELD[missing], f"{_FIELD[missing]} is needed too: a window has a start and an end.")
        rows = await self._graph.write(stmts.UPDATE_PREFERENCES, {"user_id": user_id, "prefs": updated.to_props()})
        if not rows:
            raise NotFound("User not found.")
        return NotificationPreferences.from_row(rows[0])

    async def dnd_of(self, user_ids: list[str]) -> dict[str, NotificationPreferences]:
        """The do-not-disturb settings of ``user_ids`` (one graph round trip), keyed by user id."""
        if not user_ids:
            return {}
        rows = await self._graph.read(stmts.DND_OF_USERS, {"ids": sorted(set(user_ids))})
        return {r["id"]: NotificationPreferences.from_row(r) for r in rows}
