"""Bounds on timers, whether written in a diagram or computed from an order's data.

SpiffWorkflow fires a cycle whenever its next time has passed, once per engine step: a period
of zero (R/PT0S) fires on every step of every run, and a cycle that fell behind (the service was
down for a day) fires once for each missed period, all in one transaction. So:

- a cycle that repeats must repeat no more often than ``ORDERFLOW_MIN_TIMER_CYCLE`` (default
  PT1M): deploy refuses it naming the element, and one computed from data fails its step;
- a cycle that fell behind fires once to catch up and then waits for its next time to come;
- a timer's text is at most ``MAX_TIMER_CHARS`` long before anything parses it.

The bounds are installed on SpiffWorkflow's timer classes when this module is imported (as
``clock.py`` installs the service clock), so every parse and every cycle goes through them.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.task import Task

from orderflow.core.i18n import Msg
from orderflow.engine.clock import current  # the service's clock during an engine run

MAX_TIMER_CHARS = 100       # the longest real timer, a cycle with start and end dates, is ~60
DEFAULT_MIN_CYCLE = "PT1M"  # as config.DEFAULTS["ORDERFLOW_MIN_TIMER_CYCLE"]
_min_cycle: ContextVar[float] = ContextVar("min_timer_cycle", default=60.0)


class TimerRefused(ValueError):
    """A timer the service will not run; ``message`` says why in a process owner's words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def min_cycle_seconds() -> float:
    return _min_cycle.get()


def setting_seconds(config: Mapping[str, Any] | None) -> float:
    """``ORDERFLOW_MIN_TIMER_CYCLE`` (an ISO-8601 duration, or seconds) in seconds."""
    written = (config or {}).get("ORDERFLOW_MIN_TIMER_CYCLE", DEFAULT_MIN_CYCLE)
    if isinstance(written, (int, float)):
        return float(written)
    try:
        parsed = _ORIGINAL["duration"](str(written).strip())
        start = datetime(2000, 1, 1, tzinfo=UTC)
        return TimerEventDefinition.get_timedelta_from_start(parsed, start).total_seconds()
    except Exception:  # a mistyped setting keeps the default rather than failing every deploy and timer
        return 60.0


@contextmanager
def minimum_from(config: Mapping[str, Any] | None) -> Iterator[None]:
    """Check cycles against this configuration's minimum while the block runs."""
    token = _min_cycle.set(setting_seconds(config))
    try:
        yield
    finally:
        _min_cycle.reset(token)


def _words(seconds: float) -> Msg:
    if seconds >= 3600 and seconds % 3600 == 0:
        return Msg("%(count)s hour(s)", count=format(seconds / 3600, "g"))
    if seconds >= 60 and seconds % 60 == 0:
        return Msg("%(count)s minute(s)", count=format(seconds / 60, "g"))
    return Msg("%(count)s second(s)", count=format(seconds, "g"))


def check_length(expression: Any) -> None:
    if isinstance(expression, str) and len(expression) > MAX_TIMER_CHARS:
        raise TimerRefused(Msg("The timer value is longer than %(most)s characters; a date, a duration "
                               "or a cycle such as R/P1D is much shorter.", most=MAX_TIMER_CHARS))


def check_period(cycles: int, period_seconds: float, written: str = "") -> None:
    """A cycle that repeats (more than once) must not repeat more often than the minimum."""
    minimum = min_cycle_seconds()
    if cycles not in (0, 1) and period_seconds < minimum:
        if written:
            raise TimerRefused(Msg("The timer cycle '%(timer)s' repeats every %(period)s; the shortest "
                                   "period allowed is %(minimum)s (ORDERFLOW_MIN_TIMER_CYCLE).",
                                   timer=written, period=_words(period_seconds), minimum=_words(minimum)))
        raise TimerRefused(Msg("The timer cycle repeats every %(period)s; the shortest "
                               "period allowed is %(minimum)s (ORDERFLOW_MIN_TIMER_CYCLE).",
                               period=_words(period_seconds), minimum=_words(minimum)))


_ORIGINAL = {
    "duration": TimerEventDefinition.parse_iso_duration,
    "time_or_duration": TimerEventDefinition.parse_time_or_duration,
    "recurring": TimerEventDefinition.parse_iso_recurring_interval,
    "cycle_complete": CycleTimerEventDefinition.cycle_complete,
}


def _parse_iso_duration(expression):
    check_length(expression)
    return _ORIGINAL["duration"](expression)


def _parse_time_or_duration(expression):
    check_length(expression)
    return _ORIGINAL["time_or_duration"](expression)


def _parse_iso_recurring_interval(expression):
    check_length(expression)
    cycles, start, duration = _ORIGINAL["recurring"](expression)
    check_period(cycles, duration.total_seconds(), expression)
    return cycles, start, duration


def _config_of(my_task: Task) -> Mapping[str, Any] | None:
    services = getattr(getattr(my_task.workflow, "script_engine", None), "services", None)
    return getattr(services, "config", None)


def _cycle_complete(self: CycleTimerEventDefinition, my_task: Task) -> bool:
    """SpiffWorkflow's, with the minimum period (also for a cycle stored before the bound existed)
    and at most one catch-up firing for a cycle that fell behind."""
    with minimum_from(_config_of(my_task)):
        stored = my_task._get_internal_data("event_value")
        if stored is not None:
            check_period(stored.get("cycles", 0), float(stored.get("duration", 0)), self.expression)
        ready = _ORIGINAL["cycle_complete"](self, my_task)
    value = my_task._get_internal_data("event_value")
    if ready and value and value.get("cycles") != 0 and value.get("duration", 0) > 0:
        _skip_missed(value, current())
    return ready


def _skip_missed(value: dict, now: datetime) -> None:
    """Move a cycle's next time past ``now`` on its own beat (09:00 stays 09:00): the periods
    missed while nothing ran are not fired one by one."""
    following = datetime.fromisoformat(value["next"])
    if following < now:
        period = timedelta(seconds=value["duration"])
        missed = math.floor((now - following) / period) + 1
        value["next"] = (following + missed * period).isoformat()


TimerEventDefinition.parse_iso_duration = staticmethod(_parse_iso_duration)
TimerEventDefinition.parse_time_or_duration = staticmethod(_parse_time_or_duration)
TimerEventDefinition.parse_iso_recurring_interval = staticmethod(_parse_iso_recurring_interval)
CycleTimerEventDefinition.cycle_complete = _cycle_complete
