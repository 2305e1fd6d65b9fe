"""ISO weeks in the settlement time zone: what "2026-W47" means as an instant range."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Week:
    label: str  # "2026-W47"
    starts_at: datetime  # Monday 00:00 in the settlement time zone, as an aware UTC instant
    ends_at: datetime  # the next Monday 00:00, exclusive
    time_zone: str

    @classmethod
    def parse(cls, label: str, time_zone: str | None = None) -> Week:
        """ "2026-W47" → the week; ValueError with a message a person can act on."""
        match = WEEK_PATTERN.match(label or "")
        if not match:
            raise ValueError(f"{label!r} is not an ISO week; write it like 2026-W47.")
        year, number = int(match[1]), int(match[2])
        try:
            monday = date.fromisocalendar(year, number, 1)
        except ValueError:
            raise ValueError(f"{year} has no ISO week {number}.") from None
        return cls._from_monday(monday, time_zone or settings.ORBIT_SETTLEMENT_TZ)

    @classmethod
    def containing(cls, moment: datetime, time_zone: str | None = None) -> Week:
        zone_name = time_zone or settings.ORBIT_SETTLEMENT_TZ
        local = moment.astimezone(ZoneInfo(zone_name)).date()
        return cls._from_monday(local - timedelta(days=local.weekday()), zone_name)

    @classmethod
    def _from_monday(cls, monday: date, zone_name: str) -> Week:
        zone = ZoneInfo(zone_name)
        year, number, _ = monday.isocalendar()
        # Midnight in the zone each Monday, so a daylight-saving week is 167 or 169 hours long.
        starts_at = datetime.combine(monday, time(0), zone).astimezone(UTC)
        ends_at = datetime.combine(monday + timedelta(days=7), time(0), zone).astimezone(UTC)
        return cls(f"{year}-W{number:02d}", starts_at, ends_at, zone_name)

    def previous(self) -> Week:
        return Week.containing(self.starts_at - timedelta(seconds=1), self.time_zone)

    def next(self) -> Week:
        return Week.containing(self.ends_at, self.time_zone)

    def __str__(self) -> str:
        return self.label
