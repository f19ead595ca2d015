"""The measures the managers' report and its after-sales section share: rates, day bounds (the
company's days),
on-time shipment, the longest duration a step's histogram allows, and SQLite's index guard."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from orderflow.core.models import HumanTask, Instance, TaskStat
from orderflow.orders.analytics.days import Days
from orderflow.orders.analytics.rollup import MAX_BUCKETS, _dialect


@dataclass
class Rate:
    """``part`` of ``whole``; ``value`` is None when there is nothing to divide by."""

    part: int = 0
    whole: int = 0

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


def bounds(session: Session, start: date, end: date) -> tuple[datetime, datetime]:
    """[start's midnight, the midnight after end), in the company's zone, as UTC times."""
    return Days.of_company(session).bounds(start, end)


def unindexed(session: Session, column):
    """The column behind SQLite's unary ``+``, which keeps its planner off that column's indexes.

    The instance row holds the engine state (tens of KB) before started_at, ended_at and
    promised_date, so SQLite reads those through overflow pages: the report must take them from
    their own indexes, never from a scan that picks rows by status or process first. PostgreSQL
    keeps large values out of line and plans from statistics: the column as it is.
    """
    if _dialect(session) == "sqlite":
        return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)
    return column


def longest(session: Session, step: str, process: str | None) -> timedelta | None:
    """An upper bound of the step's durations: the top of the highest histogram bucket in use
    (a list of n buckets holds durations under 2**n s). None when the step has no statistics.
    Sound because every completion is counted (``record_completion``; ``rebuild`` for older data)."""
    query = select(func.max(func.json_array_length(TaskStat.buckets))).where(TaskStat.element_id == step)
    if process:
        query = query.where(TaskStat.process_key == process)
    length = session.scalar(query)
    return timedelta(seconds=2 ** min(int(length), MAX_BUCKETS)) if length else None


def shipped_on_time(shipped_at: datetime, promised: date | str | None, days: Days) -> bool | None:
    """``shipments``'s rule for one order: its delivery step finished on or before the promised
    date, comparing the company's days. None when there is no promised date to judge by."""
    if promised in (None, ""):
        return None
    if isinstance(promised, str):
        try:
            promised = date.fromisoformat(promised[:10])
        except ValueError:
            return None
    return days.of(shipped_at) <= promised


def shipments(session: Session, start: date, end: date, process: str | None, step: str) -> tuple[Rate, int]:
    """Orders whose delivery step finished in the period: how many on or before the promised date
    (of those with a promised date), and how many in all.

    The promised date is the one the delivery task was given with the order's data (its
    ``context``); the order's own column is read only for a task without one, because reading
    it means SQLite walks the order's stored engine state. Dates compare as ISO text, the
    company's days.
    """
    days = Days.of_company(session)
    low, high = days.bounds(start, end)
    shipped_on = days.sql_day(session, HumanTask.completed_at, low, high)
    of_order = select(cast(Instance.promised_date, String)).where(Instance.id == HumanTask.instance_id)
    promised = func.coalesce(HumanTask.context["promised_date"].as_string(), of_order.scalar_subquery())
    query = (select(func.count(promised), func.coalesce(func.sum(case((shipped_on <= promised, 1), else_=0)), 0),
                    func.count())
             .where(HumanTask.element_id == step, HumanTask.status == "completed", HumanTask.ready_at < high,
                    HumanTask.completed_at >= low, HumanTask.completed_at < high))
    most = longest(session, step, process)
    if most is not None:   # a task finished in the period became ready at most `most` before it
        query = query.where(HumanTask.ready_at >= low - most)
    if process:
        query = query.where(HumanTask.process_key == process)
    judged, on_time, shipped = session.execute(query).one()
    return Rate(int(on_time or 0), int(judged or 0)), int(shipped or 0)


def rounded(value: float | None, digits: int = 1) -> float | None:
    return round(value, digits) if value is not None else None
