"""Customer files: every order, after-sales case and survey answer of one customer on one page.

A customer is the ``customer`` column of their orders (``order_flow``) and cases (``after_sales``,
whose data copies the order's customer, ``related_order.py``); there is no customer table. The
file reads indexed instance columns and, for each list, one query: the orders with their delivery
(the delivery step's completed task, judged on time by the analytics rule
``analytics.shipped_on_time``), the cases with the order each is about (``order_no`` in the case
tasks' ``context``), the survey answers (completed survey tasks, ``SURVEY_STEPS``). Lists are cut at
``FILE_LIMIT`` rows, newest first; the totals count everything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from orderflow.access.permissions import reads_every_order, require, visible_orders
from orderflow.core.errors import InvalidInput, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import HumanTask, Instance, User
from orderflow.orders.analytics.after_sales import (
    ASPECTS,
    CASE_PROCESS,
    OPEN_STATUSES,
    ORDER_PROCESS,
    RETURN_TYPES,
    SURVEY_STEPS,
    rating_of,
)
from orderflow.orders.analytics.days import Days
from orderflow.orders.analytics.measures import Rate, shipped_on_time, unindexed
from orderflow.orders.analytics.report import delivery_step

NOT_SOLD = ("cancelled", "rejected")           # outcomes of orders whose value does not count
MAX_QUERY = 200
MAX_NAME = 200
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
FILE_LIMIT = 500                               # rows per list in a file
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")   # never in a stored name; PostgreSQL refuses NUL outright


# -- search ----------------------------------------------------------------------------------

@dataclass
class CustomerSummary:
    name: str
    orders: int
    open_orders: int
    cases: int
    last_order_at: datetime | None


def search(session: Session, actor: User, q: str | None = "",
           limit: int | None = DEFAULT_LIMIT) -> list[CustomerSummary]:
    """Customers whose name contains ``q`` (any case): names that start with it first, then by the
    newest order, then by name. An empty ``q`` lists the customers with the newest orders."""
    require(actor, "customer.read")
    q = (q or "").strip()
    if len(q) > MAX_QUERY:
        raise InvalidInput(Msg("Search for at most %(n)s characters.", n=MAX_QUERY),
                           fields={"q": Msg("too long")})
    if _UNSTORABLE.search(q):
        raise InvalidInput(Msg("Text may not contain NUL characters or unpaired surrogates."),
                           fields={"q": Msg("Text may not contain NUL characters or unpaired surrogates.")})
    limit = max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT))
    is_order = Instance.process_key == ORDER_PROCESS
    last_order = func.max(case((is_order, Instance.started_at), else_=None))
    # every column read here is in the board's covering index (ix_instances_board): SQLite passes
    # over it once instead of reading instance rows (their engine state) through another index
    name = unindexed(session, Instance.customer)
    query = (select(name,
                    func.coalesce(func.sum(case((is_order, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((and_(is_order, Instance.status.in_(OPEN_STATUSES)), 1), else_=0)), 0),
                    func.coalesce(func.sum(case((Instance.process_key == CASE_PROCESS, 1), else_=0)), 0),
                    last_order)
             .where(unindexed(session, Instance.process_key).in_((ORDER_PROCESS, CASE_PROCESS)), name != "")
             .group_by(name))
    order_by: list[ColumnElement[Any]] = []
    if q:
        lowered = func.lower(Instance.customer)
        query = query.where(lowered.contains(q.lower(), autoescape=True))
        order_by.append(case((lowered.startswith(q.lower(), autoescape=True), 0), else_=1))
    order_by += [last_order.desc().nulls_last(), name]
    rows = session.execute(query.order_by(*order_by).limit(limit))
    return [CustomerSummary(name, int(orders), int(open_orders), int(cases), last)
            for name, orders, open_orders, cases, last in rows]


# -- the file --------------------------------------------------------------------------------

@dataclass
class OrderLine:
    id: int
    number: str | None
    status: str
    outcome: str | None
    total: float | None
    promised_date: date | None
    started_at: datetime
    ended_at: datetime | None
    shipped_at: datetime | None = None
    on_time: str | None = None      # "yes", "no", "open" (not delivered yet), None (never delivered / no date)


@dataclass
class CaseLine:
    id: int
    number: str | None
    type: str | None
    status: str
    outcome: str | None
    opened_at: datetime
    closed_at: datetime | None
    order_id: int | None = None       # the order the case is about
    order_no: str | None = None

    @property
    def close_seconds(self) -> float | None:
        """Opened to closed, for cases that finished (not terminated, not open)."""
        if self.status != "completed" or self.closed_at is None:
            return None
        return max((self.closed_at - self.opened_at).total_seconds(), 0.0)


@dataclass
class SurveyAnswer:
    task_id: int
    instance_id: int
    number: str | None              # the survey's own number (SO-…-S)
    order_no: str | None
    answered_at: datetime | None
    rating: int | None
    quality_rating: int | None
    delivery_rating: int | None
    service_rating: int | None
    would_recommend: str | None
    comments: str | None
    via: str | None                 # customer_link, on_behalf
    answered_by: str | None


@dataclass
class CustomerFile:
    name: str
    orders: list[OrderLine] = field(default_factory=list)
    cases: list[CaseLine] = field(default_factory=list)
    surveys: list[SurveyAnswer] = field(default_factory=list)
    order_count: int = 0
    open_orders: int = 0
    case_count: int = 0
    survey_count: int = 0
    order_value: float = 0.0         # totals of orders not terminated, cancelled or rejected
    delivered: int = 0               # orders whose delivery step finished
    on_time: Rate = field(default_factory=Rate)    # on time / delivered orders with a promised date
    returns: Rate = field(default_factory=Rate)    # return and exchange cases / delivered orders
    delivery_step: str = "ship_order"

    @property
    def average_rating(self) -> float | None:
        ratings = [s.rating for s in self.surveys if s.rating is not None]
        return sum(ratings) / len(ratings) if ratings else None

    @property
    def more_orders(self) -> bool:
        return self.order_count > len(self.orders)

    @property
    def more_cases(self) -> bool:
        return self.case_count > len(self.cases)

    @property
    def more_surveys(self) -> bool:
        return self.survey_count > len(self.surveys)


def customer_file(session: Session, actor: User, name: str | None) -> CustomerFile:
    require(actor, "customer.read")
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME or _UNSTORABLE.search(name):   # no stored name looks like that
        raise NotFound(Msg("There is no customer named “%(name)s”; search the customers to find the name.",
                           name=_UNSTORABLE.sub("", name)[:MAX_NAME]))
    found = CustomerFile(name, delivery_step=delivery_step(session))
    _totals(session, found, actor)
    found.surveys, found.survey_count = _surveys(session, name)
    if not (found.order_count or found.case_count or found.survey_count):
        raise NotFound(Msg("There is no customer named “%(name)s”; search the customers to find the name.",
                           name=name))
    found.orders = [OrderLine(*row) for row in session.execute(
        select(Instance.id, Instance.business_key, Instance.status, Instance.outcome, Instance.order_total,
               Instance.promised_date, Instance.started_at, Instance.ended_at)
        .where(Instance.customer == name, unindexed(session, Instance.process_key) == ORDER_PROCESS)
        .order_by(Instance.started_at.desc(), Instance.id.desc()).limit(FILE_LIMIT))]
    _hide_totals(session, actor, found.orders)
    _deliveries(session, found)
    found.cases = [CaseLine(*row) for row in session.execute(
        select(Instance.id, Instance.business_key, Instance.category, Instance.status, Instance.outcome,
               Instance.started_at, Instance.ended_at, Instance.related_id)
        .where(Instance.customer == name, unindexed(session, Instance.process_key) == CASE_PROCESS)
        .order_by(Instance.started_at.desc(), Instance.id.desc()).limit(FILE_LIMIT))]
    _original_orders(session, found.cases)
    return found


def _hide_totals(session: Session, actor: User, orders: list[OrderLine]) -> None:
    """A file answers only with what its reader may open: the totals of orders the reader may not
    open are left out (the order is listed, its value is not)."""
    if reads_every_order(actor) or not orders:
        return
    allowed = set(session.scalars(select(Instance.id).where(Instance.id.in_([o.id for o in orders]),
                                                            visible_orders(actor))))
    for line in orders:
        if line.id not in allowed:
            line.total = None


def _totals(session: Session, found: CustomerFile, actor: User) -> None:
    is_order = Instance.process_key == ORDER_PROCESS
    is_case = Instance.process_key == CASE_PROCESS
    sold = and_(is_order, Instance.status != "terminated",
                func.coalesce(Instance.outcome, "").not_in(NOT_SOLD))
    if not reads_every_order(actor):  # the order value counts only the orders the reader may open
        sold = and_(sold, visible_orders(actor))
    orders, open_orders, value, cases, returns = session.execute(
        select(func.coalesce(func.sum(case((is_order, 1), else_=0)), 0),
               func.coalesce(func.sum(case((and_(is_order, Instance.status.in_(OPEN_STATUSES)), 1), else_=0)), 0),
               func.coalesce(func.sum(case((sold, func.coalesce(Instance.order_total, 0.0)), else_=0.0)), 0.0),
               func.coalesce(func.sum(case((is_case, 1), else_=0)), 0),
               func.coalesce(func.sum(case((and_(is_case, Instance.category.in_(RETURN_TYPES)), 1), else_=0)), 0))
        .where(Instance.customer == found.name,
               unindexed(session, Instance.process_key).in_((ORDER_PROCESS, CASE_PROCESS)))).one()
    found.order_count, found.open_orders, found.case_count = int(orders), int(open_orders), int(cases)
    found.order_value = float(value or 0.0)
    found.returns = Rate(int(returns), 0)


def _deliveries(session: Session, found: CustomerFile) -> None:
    """Each order's latest completed delivery step (all the customer's orders, one row each at most
    per delivery), judged as the analytics report judges it; the listed orders get theirs."""
    promised = HumanTask.context["promised_date"].as_string()
    shipped: dict[int, tuple[datetime, Any]] = {}
    for instance_id, completed_at, from_task, from_order in session.execute(
            select(HumanTask.instance_id, HumanTask.completed_at, promised, Instance.promised_date)
            .join(Instance, Instance.id == HumanTask.instance_id)
            .where(Instance.customer == found.name, unindexed(session, Instance.process_key) == ORDER_PROCESS,
                   unindexed(session, HumanTask.element_id) == found.delivery_step,
                   unindexed(session, HumanTask.status) == "completed",
                   HumanTask.completed_at.is_not(None))):
        kept = shipped.get(instance_id)
        if kept is None or completed_at > kept[0]:
            shipped[instance_id] = (completed_at, from_task or from_order)
    judged = on_time = 0
    verdicts: dict[int, bool | None] = {}
    days = Days.of_company(session)
    for instance_id, (completed_at, promise) in shipped.items():
        verdict = verdicts[instance_id] = shipped_on_time(completed_at, promise, days)
        if verdict is not None:
            judged += 1
            on_time += int(verdict)
    found.delivered = len(shipped)
    found.on_time = Rate(on_time, judged)
    found.returns = Rate(found.returns.part, found.delivered)
    for order in found.orders:
        if order.id in shipped:
            order.shipped_at = shipped[order.id][0]
            verdict = verdicts[order.id]
            order.on_time = None if verdict is None else ("yes" if verdict else "no")
        elif order.status in OPEN_STATUSES:
            order.on_time = "open"


def _original_orders(session: Session, cases: list[CaseLine]) -> None:
    """The order each case is about: the case's ``related_id`` (its data's ``order_instance_id``), or
    for a case without one the ``order_no`` its tasks saw (their ``context``)."""
    guess = [c.id for c in cases if c.order_id is None]
    if guess:
        numbers = {instance_id: order_no for instance_id, order_no in session.execute(
            select(HumanTask.instance_id, func.max(HumanTask.context["order_no"].as_string()))
            .where(HumanTask.instance_id.in_(guess)).group_by(HumanTask.instance_id)) if order_no}
        by_number = dict(session.execute(select(Instance.business_key, Instance.id).where(
            Instance.business_key.in_(set(numbers.values())),
            unindexed(session, Instance.process_key) == ORDER_PROCESS)).all()) if numbers else {}
        for line in cases:
            if line.id in numbers:
                line.order_no = numbers[line.id]
                line.order_id = by_number.get(line.order_no)
    known = {c.order_id for c in cases if c.order_id is not None and c.order_no is None}
    if known:
        keys = dict(session.execute(select(Instance.id, Instance.business_key).where(Instance.id.in_(known))).all())
        for line in cases:
            if line.order_no is None and line.order_id in keys:
                line.order_no = keys[line.order_id]


def survey_answer(task_id: int, instance_id: int, number: str | None, order_no: str | None,
                  answered_at: datetime | None, data: Any, via: str | None, by: str | None) -> SurveyAnswer:
    """One completed survey task as an answer; values outside the form's range read as unanswered."""
    data = data if isinstance(data, dict) else {}
    recommend = data.get("would_recommend")
    comments = data.get("comments")
    quality, delivery, service = (rating_of(data.get(a)) for a in ASPECTS)
    return SurveyAnswer(task_id, instance_id, number, order_no if isinstance(order_no, str) else None, answered_at,
                        rating_of(data.get("rating")), quality, delivery, service,
                        recommend if recommend in ("yes", "no") else None,
                        comments.strip() if isinstance(comments, str) and comments.strip() else None, via, by)


def _surveys(session: Session, name: str) -> tuple[list[SurveyAnswer], int]:
    where = (Instance.customer == name, unindexed(session, HumanTask.element_id).in_(SURVEY_STEPS),
             unindexed(session, HumanTask.status) == "completed")
    count = session.scalar(select(func.count()).select_from(HumanTask)
                           .join(Instance, Instance.id == HumanTask.instance_id).where(*where)) or 0
    if not count:
        return [], 0
    rows = session.execute(
        select(HumanTask.id, HumanTask.instance_id, Instance.business_key, HumanTask.context["order_no"].as_string(),
               HumanTask.completed_at, HumanTask.data, HumanTask.completed_via, HumanTask.completed_by)
        .join(Instance, Instance.id == HumanTask.instance_id).where(*where)
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(FILE_LIMIT))
    return [survey_answer(*row) for row in rows], int(count)


# -- JSON --------------------------------------------------------------------------------------

def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _rate(r: Rate) -> dict[str, Any]:
    return {"part": r.part, "whole": r.whole, "rate": round(r.value, 4) if r.value is not None else None}


def summary_dict(c: CustomerSummary) -> dict[str, Any]:
    return {"name": c.name, "orders": c.orders, "open_orders": c.open_orders, "cases": c.cases,
            "last_order_at": _iso(c.last_order_at)}


def as_dict(f: CustomerFile) -> dict[str, Any]:
    """The file as JSON: times in ISO-8601 UTC, shares as fractions (0.95 = 95 %)."""
    average = f.average_rating
    return {
        "name": f.name,
        "totals": {"orders": f.order_count, "open_orders": f.open_orders, "cases": f.case_count,
                   "survey_answers": f.survey_count, "order_value": round(f.order_value, 2),
                   "delivered": f.delivered, "on_time": _rate(f.on_time),
                   "returns": {**_rate(f.returns), "types": list(RETURN_TYPES)},
                   "average_rating": round(average, 2) if average is not None else None},
        "orders": [{"id": o.id, "number": o.number, "status": o.status, "outcome": o.outcome, "total": o.total,
                    "promised_date": _iso(o.promised_date), "started_at": _iso(o.started_at),
                    "ended_at": _iso(o.ended_at), "shipped_at": _iso(o.shipped_at), "on_time": o.on_time}
                   for o in f.orders],
        "cases": [{"id": c.id, "number": c.number, "type": c.type, "status": c.status, "outcome": c.outcome,
                   "opened_at": _iso(c.opened_at), "closed_at": _iso(c.closed_at),
                   "close_seconds": round(c.close_seconds, 1) if c.close_seconds is not None else None,
                   "order_no": c.order_no, "order_id": c.order_id} for c in f.cases],
        "survey_answers": [{"task_id": s.task_id, "instance_id": s.instance_id, "number": s.number,
                            "order_no": s.order_no, "answered_at": _iso(s.answered_at), "rating": s.rating,
                            "quality_rating": s.quality_rating, "delivery_rating": s.delivery_rating,
                            "service_rating": s.service_rating, "would_recommend": s.would_recommend,
                            "comments": s.comments, "via": s.via} for s in f.surveys],
        "truncated": {"orders": f.more_orders, "cases": f.more_cases, "survey_answers": f.more_surveys},
    }
