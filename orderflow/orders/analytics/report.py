"""The managers' report read from the roll-up and indexed instance columns."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import zip_longest
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from orderflow.access.accounts import GROUPS
from orderflow.access.permissions import require
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import Instance, TaskStat, User
from orderflow.core.platform import platform_of
from orderflow.orders.analytics import after_sales
from orderflow.orders.analytics.days import Days
from orderflow.orders.analytics.measures import Rate, bounds, shipments, unindexed
from orderflow.orders.analytics.rollup import catch_up
from orderflow.orders.keys import CASE_PROCESS as AFTER_SALES_PROCESS
from orderflow.workflow import definitions

MAX_RANGE_DAYS = 5 * 366         # a report covers at most five years
FAIL_DECISION = "fail"
SEE_ANALYTICS = Msg("see analytics")   # completes "Only managers and administrators may ..."


# -- the report ------------------------------------------------------------------------------

@dataclass
class StepRow:
    process_key: str
    element_id: str
    name: str
    group: str
    count: int
    with_due: int
    on_time: int
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None

    @property
    def compliance(self) -> float | None:
        return Rate(self.on_time, self.with_due).value


@dataclass
class GroupRow:
    group: str
    count: int = 0
    with_due: int = 0
    on_time: int = 0

    @property
    def compliance(self) -> float | None:
        return Rate(self.on_time, self.with_due).value


@dataclass
class WeekRow:
    week_start: date    # the Monday
    started: int = 0
    finished: int = 0

    @property
    def label(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"


@dataclass
class Report:
    start: date
    end: date
    process: str | None
    steps: list[StepRow] = field(default_factory=list)
    groups: list[GroupRow] = field(default_factory=list)
    weeks: list[WeekRow] = field(default_factory=list)
    delivery: Rate = field(default_factory=Rate)   # shipped on or before the promised date / shipped
    delivered: int = 0                              # delivery steps finished (with a promised date or not)
    rework: Rate = field(default_factory=Rate)     # QC fails / QC inspections
    returns: Rate = field(default_factory=Rate)    # after-sales cases / orders completed
    delivery_step: str = "ship_order"
    qc_step: str = "qc_inspection"
    after_sales: Any = None    # after_sales.AfterSales: cases in the period (every process filter)
    surveys: Any = None        # after_sales.SurveyResults: survey answers given in the period
    time_zone: str = "UTC"     # the company's zone: days and weeks are its days
    days_in: str = "UTC"       # its offset now, as the page states it: "UTC+8"


def report(session: Session, actor: User, start: date, end: date, process: str | None = None) -> Report:
    """Cycle times and time limits per step and department, orders per week, headline rates."""
    require(actor, "analytics.read")
    _check_range(start, end)
    if process:
        definitions.get_version(session, process)   # 404 for a process that was never deployed
    catch_up(session)   # the completions since the last sweep: the report counts every one
    config = platform_of(session).config
    result = Report(start, end, process or None,
                    delivery_step=config.get("ORDERFLOW_DELIVERY_STEP", "ship_order"),
                    qc_step=config.get("ORDERFLOW_QC_STEP", "qc_inspection"))
    days = Days.of_company(session)
    result.time_zone, result.days_in = days.zone.key, days.label(platform_of(session).clock())
    result.steps = _steps(session, start, end, result.process)
    result.groups = _groups(result.steps)
    result.weeks = _weeks(session, start, end, result.process)
    result.delivery, result.delivered = shipments(session, start, end, result.process, result.delivery_step)
    result.rework = _rework(session, start, end, result.process, result.qc_step)
    finished = sum(w.finished for w in result.weeks)
    result.returns = Rate(_count_started(session, start, end, AFTER_SALES_PROCESS), finished)
    result.after_sales = after_sales.after_sales(
        session, start, end, result.delivery_step,
        result.delivered if result.process == after_sales.ORDER_PROCESS else None)
    result.surveys = after_sales.surveys(session, start, end)
    return result


def _check_range(start: date, end: date) -> None:
    if start > end:
        raise InvalidInput(Msg("The start date %(start)s is after the end date %(end)s; swap them.",
                               start=start.isoformat(), end=end.isoformat()),
                           fields={"from": Msg("after the end date")})
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput(Msg("A report covers at most %(days)s days; choose a shorter period.",
                               days=MAX_RANGE_DAYS), fields={"from": Msg("too far back")})


def _stat_filter(start: date, end: date, process: str | None) -> list:
    where = [TaskStat.day >= start, TaskStat.day <= end]
    if process:
        where.append(TaskStat.process_key == process)
    return where


def _steps(session: Session, start: date, end: date, process: str | None) -> list[StepRow]:
    rows = session.execute(select(
        TaskStat.process_key, TaskStat.element_id, TaskStat.group_id, TaskStat.completed, TaskStat.with_due,
        TaskStat.on_time, TaskStat.total_seconds, cast(TaskStat.buckets, String),
    ).where(*_stat_filter(start, end, process)))
    merged: dict[tuple[str, str, str], list] = {}
    for process_key, element_id, group_id, completed, with_due, on_time, seconds, buckets in rows:
        acc = merged.get((process_key, element_id, group_id))
        if acc is None:
            acc = merged[(process_key, element_id, group_id)] = [0, 0, 0, 0.0, []]
        acc[0] += completed
        acc[1] += with_due
        acc[2] += on_time
        acc[3] += seconds
        acc[4].append(buckets or "[]")
    names = _StepNames(session)
    steps = []
    for (pk, element, group), (n, due, ok, secs, texts) in merged.items():
        # one json.loads per step, not per row: the histograms are added column by column
        hist = [sum(column) for column in zip_longest(*json.loads("[" + ",".join(texts) + "]"), fillvalue=0)]
        steps.append(StepRow(pk, element, names.name(pk, element), group, n, due, ok, (secs / n) if n else None,
                             quantile(hist, 0.5), quantile(hist, 0.9)))
    steps.sort(key=lambda s: (s.process_key, names.position(s.process_key, s.element_id), s.element_id, s.group))
    return steps


class _StepNames:
    """Step names and diagram order from the latest version of each process."""

    def __init__(self, session: Session):
        self.session = session
        self.elements: dict[str, dict] = {}

    def _of(self, process_key: str) -> dict:
        if process_key not in self.elements:
            row = definitions.latest_version(self.session, process_key)
            self.elements[process_key] = definitions.definition(self.session, row).elements if row else {}
        return self.elements[process_key]

    def name(self, process_key: str, element_id: str) -> str:
        info = self._of(process_key).get(element_id)
        return info.name if info else element_id

    def position(self, process_key: str, element_id: str) -> int:
        order = self._of(process_key)
        return list(order).index(element_id) if element_id in order else len(order)


def quantile(buckets: list[int], q: float) -> float | None:
    """The q-quantile of a log2 histogram: find the bucket holding rank q·n, interpolate linearly
    inside it (bucket 0 spans [0, 2) s, bucket i [2**i, 2**(i+1)) s). None without data."""
    total = sum(buckets)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(buckets):
        if n and seen + n >= rank:
            low, high = (0.0 if i == 0 else float(2 ** i)), float(2 ** (i + 1))
            return low + (high - low) * (rank - seen) / n
        seen += n
    return float(2 ** len(buckets))   # unreachable: rank <= total


def _groups(steps: Iterable[StepRow]) -> list[GroupRow]:
    found: dict[str, GroupRow] = {}
    for step in steps:
        row = found.setdefault(step.group, GroupRow(step.group))
        row.count += step.count
        row.with_due += step.with_due
        row.on_time += step.on_time
    order = list(GROUPS)
    return sorted(found.values(), key=lambda g: (order.index(g.group) if g.group in order else len(order), g.group))


def _weeks(session: Session, start: date, end: date, process: str | None) -> list[WeekRow]:
    days = Days.of_company(session)
    low, high = days.bounds(start, end)
    first = start - timedelta(days=start.weekday())
    weeks = {first + timedelta(weeks=i): WeekRow(first + timedelta(weeks=i))
             for i in range((end - first).days // 7 + 1)}
    finished = [unindexed(session, Instance.status) == "completed"]
    for column, attr, extra in ((Instance.started_at, "started", []), (Instance.ended_at, "finished", finished)):
        week = days.sql_week(session, column, low, high).label("week")
        query = select(week, func.count()).where(column >= low, column < high, *extra)
        if process:
            query = query.where(unindexed(session, Instance.process_key) == process)
        for value, count in session.execute(query.group_by(week)):
            row = weeks.get(date.fromisoformat(value))
            if row is not None:
                setattr(row, attr, count)
    return list(weeks.values())


def delivery_step(session: Session) -> str:
    """The step whose completion is the delivery (``ORDERFLOW_DELIVERY_STEP``)."""
    return platform_of(session).config.get("ORDERFLOW_DELIVERY_STEP", "ship_order")


def _rework(session: Session, start: date, end: date, process: str | None, step: str) -> Rate:
    fails = inspections = 0
    for completed, decisions in session.execute(select(TaskStat.completed, TaskStat.decisions).where(
            TaskStat.element_id == step, *_stat_filter(start, end, process))):
        inspections += completed
        fails += int((decisions or {}).get(FAIL_DECISION, 0))
    return Rate(fails, inspections)


def _count_started(session: Session, start: date, end: date, process: str) -> int:
    """Instances of ``process`` started in the period (0 at once when there has never been one)."""
    if session.scalar(select(Instance.id).where(Instance.process_key == process).limit(1)) is None:
        return 0
    low, high = bounds(session, start, end)
    return session.scalar(select(func.count()).select_from(Instance).where(
        Instance.started_at >= low, Instance.started_at < high,
        unindexed(session, Instance.process_key) == process)) or 0
