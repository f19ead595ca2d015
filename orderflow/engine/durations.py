"""ISO-8601 time limits to due times, with SpiffWorkflow's calendar-aware arithmetic."""
from __future__ import annotations

from datetime import datetime, timezone

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
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    except Exception:  # a limit computed from data cannot be known here
        return None
