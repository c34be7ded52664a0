"""Reporting periods: local days in any time zone (DST, quarter-hour offsets), and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from answerdesk.analytics.period import BUCKET_SECONDS, Period, week_start, zone_of
from answerdesk.kit.errors import ValidationFailed

TODAY = date(2026, 12, 7)


def test_days_are_local_and_follow_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    spring = Period(date(2026, 3, 29), date(2026, 3, 29), berlin)  # clocks go forward: 23 hours
    since, until = spring.bounds()
    assert since == datetime(2026, 3, 28, 23, 0, tzinfo=UTC) and (until - since).total_seconds() == 23 * 3600
    autumn = Period(date(2026, 10, 25), date(2026, 10, 25), berlin)  # clocks go back: 25 hours
    since, until = autumn.bounds()
    assert (until - since).total_seconds() == 25 * 3600


def test_every_local_midnight_starts_a_quarter_hour_bucket() -> None:
    for name in ("Asia/Kathmandu", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "UTC"):
        p = Period(date(2026, 1, 1), date(2026, 12, 31), ZoneInfo(name))
        for day in (date(2026, 1, 1), date(2026, 7, 1), date(2026, 12, 31)):
            midnight = p.midnight(day)
            assert int(midnight.timestamp()) % BUCKET_SECONDS == 0, name
            bucket = int(midnight.timestamp()) // BUCKET_SECONDS
            assert p.bucket_local(bucket).date() == day and p.bucket_local(bucket - 1).date() < day


def test_parse_defaults_and_bad_input() -> None:
    utc = zone_of(None)
    p = Period.parse(None, None, utc, today=TODAY)
    assert (p.start, p.end, p.days) == (date(2026, 11, 8), TODAY, 30)
    assert Period.parse("2026-01-01", "2026-12-31", utc, today=TODAY).days == 365
    for start, end in (("2026-02-30", None), ("2026-02-01", "2026-01-31"), ("2025-01-01", "2026-12-31")):
        with pytest.raises(ValidationFailed):
            Period.parse(start, end, utc, today=TODAY)
    assert str(zone_of("not/a-zone")) == "UTC"  # an old, unchecked setting falls back rather than fail
    assert week_start(date(2026, 12, 6)) == date(2026, 11, 30)  # a Sunday's week starts on Monday
