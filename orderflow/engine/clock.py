"""One clock for SpiffWorkflow's timers and the service.

SpiffWorkflow's timer definitions call ``datetime.now(timezone.utc)`` directly. The module's
``datetime`` is replaced by a subclass whose ``now`` reads the clock of the current engine
run, so timers follow the service's clock (real time in production, a test clock in tests).
"""
from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, tzinfo
from datetime import datetime as _datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

_clock: contextvars.ContextVar[Callable[[], _datetime] | None] = contextvars.ContextVar("engine_clock", default=None)


class _EngineDatetime(_datetime):
    # returns the clock's own (plain) datetime, not an instance of this subclass
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _datetime:  # type: ignore[override]
        clock = _clock.get()
        if clock is None:
            return _datetime.now(tz)
        value = clock()
        return value.astimezone(tz) if tz is not None else value


_timer_module.datetime = _EngineDatetime


def current() -> _datetime:
    """Now, by the clock of the current engine run (expressions' ``today()``/``now()`` use it)."""
    return _EngineDatetime.now(UTC)


@contextmanager
def engine_clock(clock: Callable[[], _datetime]) -> Iterator[None]:
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)
