"""The managers' report read from the roll-up and indexed instance columns."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import zip_longest
from typing import Any

from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from orderflow.access.permissions import require
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import HumanTask, Instance, TaskStat, User
from orderflow.core.platform import platform_of
from orderflow.orders.analytics.rollup import MAX_BUCKETS, _dialect
from orderflow.workflow import processes

MAX_RANGE_DAYS = 5 * 366         # a report covers at most five years
AFTER_SALES_PROCESS = "after_sales"
FAIL_DECISION = "fail"
SEE_ANALYTICS = Msg("see analytics")   # completes "Only managers and administrators may ..."


# -- the report ------------------------------------------------------------------------------

@dataclass
class Rate:
    """``part`` of ``whole``; ``value`` is None when there is nothing to divide by."""

    part: int = 0
    whole: int = 0

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


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


def report(session: Session, actor: User, start: date, end: date, process: str | None = None) -> Report:
    """Cycle times and time limits per step and department, orders per week, headline rates."""
    require(actor, "analytics.read")
    _check_range(start, end)
    if process:
        processes.get_version(session, process)   # 404 for a process that was never deployed
    config = platform_of(session).config
    result = Report(start, end, process or None,
                    delivery_step=config.get("ORDERFLOW_DELIVERY_STEP", "ship_order"),
                    qc_step=config.get("ORDERFLOW_QC_STEP", "qc_inspection"))
    result.steps = _steps(session, start, end, result.process)
    result.groups = _groups(result.steps)
    result.weeks = _weeks(session, start, end, result.process)
    result.delivery, result.delivered = _shipments(session, start, end, result.process, result.delivery_step)
    result.rework = _rework(session, start, end, result.process, result.qc_step)
    finished = sum(w.finished for w in result.weeks)
    result.returns = Rate(_count_started(session, start, end, AFTER_SALES_PROCESS), finished)
    from orderflow.orders.analytics import after_sales
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


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, the day after end 00:00 UTC)."""
    return (datetime.combine(start, time.min, tzinfo=UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))


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
            row = processes.latest_version(self.session, process_key)
            self.elements[process_key] = processes.definition(self.session, row).elements if row else {}
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
    from orderflow.access.accounts import GROUPS
    found: dict[str, GroupRow] = {}
    for step in steps:
        row = found.setdefault(step.group, GroupRow(step.group))
        row.count += step.count
        row.with_due += step.with_due
        row.on_time += step.on_time
    order = list(GROUPS)
    return sorted(found.values(), key=lambda g: (order.index(g.group) if g.group in order else len(order), g.group))


def _unindexed(session: Session, column):
    """The column behind SQLite's unary ``+``, which keeps its planner off that column's indexes.

    The instance row holds the engine state (tens of KB) before started_at, ended_at and
    promised_date, so SQLite reads those through overflow pages: the report must take them from
    their own indexes, never from a scan that picks rows by status or process first. PostgreSQL
    keeps large values out of line and plans from statistics: the column as it is.
    """
    if _dialect(session) == "sqlite":
        return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)
    return column


def _week_of(session: Session, column):
    """The Monday of the column's UTC week, as SQL for this database."""
    if _dialect(session) == "postgresql":
        return func.to_char(func.date_trunc("week", func.timezone("UTC", column)), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column, "weekday 0", "-6 days")


def _weeks(session: Session, start: date, end: date, process: str | None) -> list[WeekRow]:
    low, high = _bounds(start, end)
    first = start - timedelta(days=start.weekday())
    weeks = {first + timedelta(weeks=i): WeekRow(first + timedelta(weeks=i))
             for i in range((end - first).days // 7 + 1)}
    finished = [_unindexed(session, Instance.status) == "completed"]
    for column, attr, extra in ((Instance.started_at, "started", []), (Instance.ended_at, "finished", finished)):
        week = _week_of(session, column).label("week")
        query = select(week, func.count()).where(column >= low, column < high, *extra)
        if process:
            query = query.where(_unindexed(session, Instance.process_key) == process)
        for value, count in session.execute(query.group_by(week)):
            row = weeks.get(date.fromisoformat(value))
            if row is not None:
                setattr(row, attr, count)
    return list(weeks.values())


def _longest(session: Session, step: str, process: str | None) -> timedelta | None:
    """An upper bound of the step's durations: the top of the highest histogram bucket in use
    (a list of n buckets holds durations under 2**n s). None when the step has no statistics.
    Sound because every completion is counted (``record_completion``; ``rebuild`` for older data)."""
    query = select(func.max(func.json_array_length(TaskStat.buckets))).where(TaskStat.element_id == step)
    if process:
        query = query.where(TaskStat.process_key == process)
    length = session.scalar(query)
    return timedelta(seconds=2 ** min(int(length), MAX_BUCKETS)) if length else None


def delivery_step(session: Session) -> str:
    """The step whose completion is the delivery (``ORDERFLOW_DELIVERY_STEP``)."""
    return platform_of(session).config.get("ORDERFLOW_DELIVERY_STEP", "ship_order")


def shipped_on_time(shipped_at: datetime, promised: date | str | None) -> bool | None:
    """``_shipments``'s rule for one order: its delivery step finished on or before the promised
    date, comparing UTC days. None when there is no promised date to judge by."""
    if promised in (None, ""):
        return None
    if isinstance(promised, str):
        try:
            promised = date.fromisoformat(promised[:10])
        except ValueError:
            return None
    return shipped_at.astimezone(UTC).date() <= promised


def _shipments(session: Session, start: date, end: date, process: str | None, step: str) -> tuple[Rate, int]:
    """Orders whose delivery step finished in the period: how many on or before the promised date
    (of those with a promised date), and how many in all.

    The promised date is the one the delivery task was given with the order's data (its
    ``context``); the order's own column is read only for a task without one, because reading
    it means SQLite walks the order's stored engine state. Dates compare as ISO text, UTC days.
    """
    low, high = _bounds(start, end)
    if _dialect(session) == "postgresql":
        shipped_on = func.to_char(func.timezone("UTC", HumanTask.completed_at), "YYYY-MM-DD")
    else:
        shipped_on = func.date(HumanTask.completed_at)
    of_order = select(cast(Instance.promised_date, String)).where(Instance.id == HumanTask.instance_id)
    promised = func.coalesce(HumanTask.context["promised_date"].as_string(), of_order.scalar_subquery())
    query = (select(func.count(promised), func.coalesce(func.sum(case((shipped_on <= promised, 1), else_=0)), 0),
                    func.count())
             .where(HumanTask.element_id == step, HumanTask.status == "completed", HumanTask.ready_at < high,
                    HumanTask.completed_at >= low, HumanTask.completed_at < high))
    longest = _longest(session, step, process)
    if longest is not None:   # a task finished in the period became ready at most `longest` before it
        query = query.where(HumanTask.ready_at >= low - longest)
    if process:
        query = query.where(HumanTask.process_key == process)
    judged, on_time, shipped = session.execute(query).one()
    return Rate(int(on_time or 0), int(judged or 0)), int(shipped or 0)


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
    low, high = _bounds(start, end)
    return session.scalar(select(func.count()).select_from(Instance).where(
        Instance.started_at >= low, Instance.started_at < high,
        _unindexed(session, Instance.process_key) == process)) or 0


def _round(value: float | None, digits: int = 1) -> float | None:
    return round(value, digits) if value is not None else None
