"""ISO-8601 time limits to due times, with SpiffWorkflow's calendar-aware arithmetic."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def due_at(limit: str | None, start: datetime) -> datetime | None:
    """``start`` plus a duration (PT2H, P3D), or the date itself; None when there is no limit."""
    if not limit:
        return None
    value = limit.strip().strip("'\"")
    try:
        if value.upper().startswith("P"):
            parsed = TimerEventDefinition.parse_iso_duration(value)
            return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
        when = datetime.fromisoformat(value)
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    except Exception:  # a limit computed from data cannot be known here
        return None


def late_test(limit: str | None) -> Callable[[datetime, datetime], bool] | None:
    """``late(ready_at, done_at)``: was a step done after its limit? Parsed once for many steps, with
    the same calendar arithmetic as ``due_at``; None without a limit (or one computed from data)."""
    if not limit:
        return None
    value = limit.strip().strip("'\"")
    try:
        if not value.upper().startswith("P"):
            when = datetime.fromisoformat(value)
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return lambda ready, done: done > when
        parsed = TimerEventDefinition.parse_iso_duration(value)
        if parsed.get("years") or parsed.get("months"):   # the length depends on the start
            return lambda ready, done: done > ready + TimerEventDefinition.get_timedelta_from_start(parsed, ready)
        fixed: timedelta = TimerEventDefinition.get_timedelta_from_start(parsed, datetime.now(UTC))
        return lambda ready, done: done - ready > fixed
    except Exception:
        return None


def retry_delays(written: str) -> list[float]:
    """Seconds before each retry: Camunda's ``R3/PT10S`` or a list ``PT10S,PT1M,PT10M``."""
    value = written.strip()
    if value.upper().startswith("R"):
        count, _, duration = value[1:].partition("/")
        return [_seconds(duration)] * int(count or 1)
    return [_seconds(part) for part in value.split(",") if part.strip()]


def _seconds(duration: str) -> float:
    parsed = TimerEventDefinition.parse_iso_duration(duration.strip())
    start = datetime.now(UTC)
    return TimerEventDefinition.get_timedelta_from_start(parsed, start).total_seconds()
