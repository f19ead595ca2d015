"""The report's days: calendar days in the company's time zone (``ORDERFLOW_DISPLAY_TIMEZONE``).

A day bucket is computed in Python for one time (``Days.of``), and in SQL for a column as the
local day's ``YYYY-MM-DD`` text (``Days.sql_day``, ``Days.sql_week``): the zone's offsets over the
period are worked out here, with zoneinfo, and the SQL only adds minutes (a CASE over the few
times the offset changes), so SQLite, which knows no time zones, and PostgreSQL count alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, literal_column
from sqlalchemy.orm import Session

from orderflow.core import timefmt
from orderflow.core.platform import platform_of

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Days:
    zone: ZoneInfo

    @classmethod
    def of_company(cls, session: Session) -> Days:
        return cls(timefmt.company_zone(platform_of(session).config))

    def of(self, moment: datetime) -> date:
        """The local day ``moment`` falls on."""
        return _aware(moment).astimezone(self.zone).date()

    def midnight(self, day: date) -> datetime:
        """Where ``day`` begins, in UTC."""
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    def bounds(self, start: date, end: date) -> tuple[datetime, datetime]:
        """[start's local midnight, the local midnight after end), in UTC."""
        return self.midnight(start), self.midnight(end + _DAY)

    def label(self, at: datetime) -> str:
        """``UTC+8``: the zone's offset at ``at``, as the page states it."""
        return timefmt.offset_label(_aware(at).astimezone(self.zone))

    def offsets(self, low: datetime, high: datetime) -> list[tuple[datetime, int]]:
        """The zone's UTC offset in minutes over [low, high): (from when, minutes), the first
        from ``low``. Offsets change at most a few times a year: days are scanned, a change is
        narrowed down to the second."""
        low, high = _aware(low), _aware(high)
        found = [(low, self._minutes(low))]
        moment = low
        while moment < high:
            following = min(moment + _DAY, high)
            if self._minutes(following) != found[-1][1]:
                change = self._change(moment, following, found[-1][1])
                found.append((change, self._minutes(change)))
            moment = following
        return found

    def _change(self, before: datetime, after: datetime, minutes: int) -> datetime:
        """The first whole second in (before, after] whose offset is no longer ``minutes``."""
        low, high = int(before.timestamp()), math.ceil(after.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if self._minutes(_at(middle)) == minutes else (low, middle)
        return _at(high)

    def _minutes(self, moment: datetime) -> int:
        offset = moment.astimezone(self.zone).utcoffset() or timedelta(0)
        return int(offset.total_seconds()) // 60

    def sql_day(self, session: Session, column: Any, low: datetime, high: datetime) -> Any:
        """SQL for the local day (``YYYY-MM-DD``) of a UTC time ``column`` read in [low, high)."""
        return self._sql(session, column, low, high, week=False)

    def sql_week(self, session: Session, column: Any, low: datetime, high: datetime) -> Any:
        """SQL for the Monday (``YYYY-MM-DD``) of the local week of ``column`` read in [low, high)."""
        return self._sql(session, column, low, high, week=True)

    def _sql(self, session: Session, column: Any, low: datetime, high: datetime, week: bool) -> Any:
        spans = self.offsets(low, high)
        if session.get_bind().dialect.name == "postgresql":
            minutes = _by_span(column, [(at, literal(m)) for at, m in spans])
            local = func.timezone("UTC", column) + minutes * literal_column("interval '1 minute'")
            if week:
                local = func.date_trunc("week", local)
            return func.to_char(local, "YYYY-MM-DD")
        shift = _by_span(column, [(at, literal(f"{m:+d} minutes")) for at, m in spans])
        extra = ("weekday 0", "-6 days") if week else ()
        return func.strftime("%Y-%m-%d", column, shift, *extra)


def _by_span(column: Any, spans: list[tuple[datetime, Any]]) -> Any:
    """The value of the span ``column`` falls in: a CASE when there are several."""
    if len(spans) == 1:
        return spans[0][1]
    whens = [(column < spans[i + 1][0], value) for i, (_, value) in enumerate(spans[:-1])]
    return case(*whens, else_=spans[-1][1])


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
