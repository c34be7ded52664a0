"""Reporting periods in the organization's time zone: the one place where local days and hours meet UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from answerdesk.kit.errors import ValidationFailed
from answerdesk.kit.timezones import canonical_timezone

MAX_DAYS = 366
# Conversations are grouped in SQL by quarter hour of UTC: every zone's offset is a whole number of quarter
# hours, so each bucket falls inside one local hour (and one local day) of any organization.
BUCKET_SECONDS = 900


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(canonical_timezone(name or "UTC"))
    except ValueError:  # a setting saved before zones were checked: fall back to UTC rather than fail
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Period:
    """Local days ``start``..``end`` (both included) in ``zone``."""

    start: date
    end: date
    zone: ZoneInfo

    @classmethod
    def parse(
        cls, start: str | date | None, end: str | date | None, zone: ZoneInfo, *, today: date
    ) -> Period:
        """A period from query-string dates; missing ends default to the 30 days up to today."""

        def day(value: str | date | None, name: str) -> date | None:
            if value is None or value == "":
                return None
            if isinstance(value, date):
                return value
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise ValidationFailed(
                    f"“{value[:40]}” is not a date: use YYYY-MM-DD.", details=[{"loc": ["query", name]}]
                ) from None

        last = day(end, "to") or today
        first = day(start, "from") or last - timedelta(days=29)
        if last < first:
            raise ValidationFailed(
                "The “to” date is before the “from” date.", details=[{"loc": ["query", "to"]}]
            )
        if (last - first).days + 1 > MAX_DAYS:
            raise ValidationFailed(
                f"The range is too long: at most {MAX_DAYS} days.",
                details=[{"loc": ["query", "from"], "max_days": MAX_DAYS}],
            )
        return cls(first, last, zone)

    @classmethod
    def last_days(cls, days: int, zone: ZoneInfo, *, today: date) -> Period:
        return cls(today - timedelta(days=days - 1), today, zone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def midnight(self, day: date) -> datetime:
        """The UTC instant of a local midnight (the zone's rules, DST included)."""
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    def bounds(self) -> tuple[datetime, datetime]:
        """UTC [start, end) of the whole period."""
        return self.midnight(self.start), self.midnight(self.end + timedelta(days=1))

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def bucket_local(self, bucket: int) -> datetime:
        """The local time at the start of a UTC quarter-hour bucket (see BUCKET_SECONDS)."""
        return self.local(datetime.fromtimestamp(bucket * BUCKET_SECONDS, tz=UTC))

    def all_days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


def today_in(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone).date()


def week_start(day: date) -> date:
    """The Monday of a day's ISO week: weekly series are labelled by it."""
    return day - timedelta(days=day.weekday())
