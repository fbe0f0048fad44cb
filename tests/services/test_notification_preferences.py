"""Do-not-disturb window arithmetic (``dnd_hold_until``): local times in IANA zones, windows across midnight,
DST changes inside a window. Pure functions: no store involved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notification_preferences import dnd_hold_until


def _ms(year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("start", "end", "zone", "now", "until"),
    [
        # 22:00-07:00 UTC: inside before midnight ends tomorrow 07:00, after midnight ends today 07:00
        ("22:00", "07:00", "UTC", _ms(2026, 3, 10, 23, 30), _ms(2026, 3, 11, 7)),
        ("22:00", "07:00", "UTC", _ms(2026, 3, 10, 3, 0), _ms(2026, 3, 10, 7)),
        ("22:00", "07:00", "UTC", _ms(2026, 3, 10, 7, 0), None),  # the end is outside ([start, end))
        ("22:00", "07:00", "UTC", _ms(2026, 3, 10, 21, 59), None),
        ("22:00", "07:00", "UTC", _ms(2026, 3, 10, 22, 0), _ms(2026, 3, 11, 7)),
        # a daytime window
        ("09:00", "17:30", "UTC", _ms(2026, 3, 10, 12), _ms(2026, 3, 10, 17, 30)),
        ("09:00", "17:30", "UTC", _ms(2026, 3, 10, 18), None),
        # in Tokyo (UTC+9): 23:30 JST is 14:30 UTC; the window ends 07:00 JST = 22:00 UTC
        ("22:00", "07:00", "Asia/Tokyo", _ms(2026, 3, 10, 14, 30), _ms(2026, 3, 10, 22)),
        # New York on the night clocks go forward (2026-03-08 02:00 EST -> 03:00 EDT): 07:00 EDT is 11:00 UTC
        ("22:00", "07:00", "America/New_York", _ms(2026, 3, 8, 4), _ms(2026, 3, 8, 11)),
        # ... and on the night they go back (2026-11-01): 07:00 EST is 12:00 UTC
        ("22:00", "07:00", "America/New_York", _ms(2026, 11, 1, 4), _ms(2026, 11, 1, 12)),
        # no window
        (None, None, "UTC", _ms(2026, 3, 10, 23), None),
        ("08:00", "08:00", "UTC", _ms(2026, 3, 10, 8), None),
    ],
)
def test_dnd_hold_until(start: str | None, end: str | None, zone: str, now: int, until: int | None) -> None:
    assert dnd_hold_until(start, end, zone, now) == until
