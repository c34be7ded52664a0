"""Monthly billing periods anchored on a date: pure date arithmetic, no I/O."""

from __future__ import annotations

import calendar
from datetime import datetime


def add_months(anchor: datetime, months: int) -> datetime:
    """The anchor moved by whole months; a day the month lacks (the 31st) becomes its last day."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def monthly_period(anchor: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The [start, end) monthly period, counted from the anchor, that contains ``now``."""
    months = (now.year - anchor.year) * 12 + (now.month - anchor.month)
    start = add_months(anchor, months)
    if start > now:
        months -= 1
    elif add_months(anchor, months + 1) <= now:  # pragma: no cover - months already counts whole months
        months += 1
    return add_months(anchor, months), add_months(anchor, months + 1)
