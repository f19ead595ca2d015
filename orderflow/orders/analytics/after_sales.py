"""The report's after-sales section: cases and satisfaction surveys over the report's period.

Cases are ``after_sales`` instances: their type is the ``category`` column (return, exchange,
repair, refund, complaint), their result the ``outcome`` column. Survey answers are completed
survey tasks (``SURVEY_STEPS``): ``data`` holds ``rating`` (1–5), the optional aspect ratings,
``would_recommend`` (yes/no) and ``comments``; ``completed_via`` says whether the customer
answered through their link. Both sections ignore the report's process filter: they are about
these two processes whatever the step statistics show.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session

from orderflow.core.i18n import Msg
from orderflow.core.models import HumanTask, Instance
from orderflow.orders.analytics.measures import Rate, bounds, longest, rounded, shipments, unindexed
from orderflow.orders.keys import CASE_PROCESS, ORDER_PROCESS, SURVEY_STEPS

CASE_TYPES = ("return", "exchange", "repair", "refund", "complaint")
RETURN_TYPES = ("return", "exchange")        # goods come back: the return rate counts these
CASE_OUTCOMES = ("refunded", "replaced", "repaired", "explained", "rejected")
OPEN_STATUSES = ("running", "suspended", "error")
STATUSES = (*OPEN_STATUSES, "completed", "terminated")    # every status an instance has
ASPECTS = ("quality_rating", "delivery_rating", "service_rating")
LATEST_COMMENTS = 5


@dataclass
class CaseTypeRow:
    type: str | None                 # None: the case gave no type
    opened: int = 0
    still_open: int = 0              # of those opened in the period, not finished now
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass
class AfterSales:
    opened: int = 0                                          # cases opened in the period
    still_open: int = 0                                      # of those, not finished now
    by_type: list[CaseTypeRow] = field(default_factory=list)
    by_outcome: dict[str, int] = field(default_factory=dict)  # finished cases opened in the period
    returns: Rate = field(default_factory=Rate)   # return + exchange cases opened / orders delivered, in the period
    closed: int = 0                               # cases finished (completed) in the period
    median_close_seconds: float | None = None
    mean_close_seconds: float | None = None
    open_now: int = 0                             # every case not finished today, whenever opened


@dataclass
class Comment:
    task_id: int
    instance_id: int
    answered_at: datetime
    rating: int | None
    comments: str
    via: str | None
    customer: str | None = None
    order_no: str | None = None


@dataclass
class SurveyResults:
    responses: int = 0
    rated: int = 0
    rating_sum: int = 0
    aspects: dict[str, list[int]] = field(default_factory=lambda: {a: [0, 0] for a in ASPECTS})  # [sum, count]
    distribution: list[int] = field(default_factory=lambda: [0] * 5)   # answers rating 1..5
    recommend: Rate = field(default_factory=Rate)   # "yes" / those who answered yes or no
    via_link: Rate = field(default_factory=Rate)    # answered through the customer link / responses
    latest: list[Comment] = field(default_factory=list)

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.rated if self.rated else None

    def aspect_average(self, aspect: str) -> float | None:
        total, count = self.aspects[aspect]
        return total / count if count else None


def after_sales(session: Session, start: date, end: date, step: str, delivered: int | None = None) -> AfterSales:
    """Cases in the period. ``delivered``: orders of the order flow delivered in the period (the
    return rate's denominator), when the caller has counted them already."""
    found = AfterSales()
    if delivered is None:
        delivered = shipments(session, start, end, ORDER_PROCESS, step)[1]
    found.returns = Rate(0, delivered)
    if session.scalar(select(Instance.id).where(Instance.process_key == CASE_PROCESS).limit(1)) is None:
        return found   # never a case: nothing else to read
    low, high = bounds(session, start, end)
    rows: dict[str | None, CaseTypeRow] = {}
    for category, outcome, status, count in session.execute(
            # through the board's index (status, process_key, …, started_at): only the cases of the
            # period are read, not every order started in it
            select(Instance.category, Instance.outcome, Instance.status, func.count())
            .where(Instance.status.in_(STATUSES), Instance.process_key == CASE_PROCESS,
                   unindexed(session, Instance.started_at) >= low, unindexed(session, Instance.started_at) < high)
            .group_by(Instance.category, Instance.outcome, Instance.status)):
        row = rows.setdefault(category or None, CaseTypeRow(category or None))
        row.opened += count
        found.opened += count
        if status in OPEN_STATUSES:
            row.still_open += count
            found.still_open += count
        else:
            key = outcome or status          # a terminated case without an outcome counts as "terminated"
            row.outcomes[key] = row.outcomes.get(key, 0) + count
            found.by_outcome[key] = found.by_outcome.get(key, 0) + count
        if category in RETURN_TYPES:
            found.returns.part += count
    order = {t: i for i, t in enumerate(CASE_TYPES)}
    found.by_type = sorted(rows.values(), key=lambda r: (order.get(r.type or "", len(order)), r.type or "~"))
    known = {o: i for i, o in enumerate(CASE_OUTCOMES)}
    found.by_outcome = dict(sorted(found.by_outcome.items(), key=lambda kv: (known.get(kv[0], len(known)), kv[0])))
    durations = [max((ended - started).total_seconds(), 0.0) for started, ended in session.execute(
        select(Instance.started_at, Instance.ended_at)
        .where(Instance.ended_at >= low, Instance.ended_at < high,
               unindexed(session, Instance.process_key) == CASE_PROCESS,
               unindexed(session, Instance.status) == "completed"))
        if ended is not None]  # (the range excludes NULL already)
    found.closed = len(durations)
    if durations:
        found.median_close_seconds = float(statistics.median(durations))
        found.mean_close_seconds = sum(durations) / len(durations)
    found.open_now = session.scalar(select(func.count()).select_from(Instance).where(
        Instance.process_key == CASE_PROCESS, Instance.status.in_(OPEN_STATUSES))) or 0
    return found


def rating_of(value: Any) -> int | None:
    """A 1–5 rating as the survey form stores it; anything else reads as unanswered."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer() and 1 <= value <= 5:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and 1 <= int(value) <= 5:
        return int(value)
    return None


_SCALE = ("1", "2", "3", "4", "5")   # a rating read from the JSON as text (SQLite and PostgreSQL alike)


def surveys(session: Session, start: date, end: date) -> SurveyResults:
    """Survey answers given in the period (the task's completion time), counted in SQL: one row per
    overall rating, then the newest comments. Read through the survey step's index, from the
    earliest time an answer finished in the period can have been asked (its statistics' longest
    wait), like the delivery rate."""
    low, high = bounds(session, start, end)
    where = [HumanTask.element_id.in_(SURVEY_STEPS), HumanTask.status == "completed", HumanTask.ready_at < high,
             HumanTask.completed_at >= low, HumanTask.completed_at < high]
    # a step without statistics has never been completed (every completion is counted)
    waits = [w for w in (longest(session, step, None) for step in SURVEY_STEPS) if w is not None]
    if waits:
        where.append(HumanTask.ready_at >= low - max(waits))
    found = SurveyResults()

    def text(name: str):
        return HumanTask.data[name].as_string()

    def rated(name: str):
        return case((text(name).in_(_SCALE), cast(text(name), Integer)), else_=None)

    recommend = text("would_recommend")
    rating_text = text("rating").label("rating")   # grouped by its name: PostgreSQL cannot tell two ->> alike
    columns = [rating_text, func.count(), func.sum(case((HumanTask.completed_via == "customer_link", 1), else_=0)),
               func.sum(case((recommend == "yes", 1), else_=0)),
               func.sum(case((recommend.in_(("yes", "no")), 1), else_=0))]
    for aspect in ASPECTS:
        columns += [func.sum(rated(aspect)), func.count(rated(aspect))]
    for rating, count, via_link, yes, answered, *aspects in session.execute(
            select(*columns).where(*where).group_by(rating_text)):
        found.responses += count
        found.via_link.part += int(via_link or 0)
        found.recommend.part += int(yes or 0)
        found.recommend.whole += int(answered or 0)
        value = rating_of(rating)
        if value is not None:
            found.rated += count
            found.rating_sum += value * count
            found.distribution[value - 1] += count
        for i, aspect in enumerate(ASPECTS):
            found.aspects[aspect][0] += int(aspects[2 * i] or 0)
            found.aspects[aspect][1] += int(aspects[2 * i + 1] or 0)
    found.via_link.whole = found.responses
    if not found.responses:
        return found
    comments = text("comments")
    for task_id, instance_id, completed_at, rating, said, via in session.execute(
            select(HumanTask.id, HumanTask.instance_id, HumanTask.completed_at, text("rating"), comments,
                   HumanTask.completed_via)
            .where(*where, func.length(func.trim(comments)) > 0)
            .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(LATEST_COMMENTS)):
        found.latest.append(Comment(task_id, instance_id, completed_at, rating_of(rating), said.strip(), via))
    if found.latest:   # whose: only for the few shown (an instance row is read through its engine state)
        facts = {task_id: (customer, order_no or key) for task_id, customer, key, order_no in session.execute(
            select(HumanTask.id, Instance.customer, Instance.business_key, HumanTask.context["order_no"].as_string())
            .join(Instance, Instance.id == HumanTask.instance_id)
            .where(HumanTask.id.in_([c.task_id for c in found.latest])))}
        for comment in found.latest:
            comment.customer, comment.order_no = facts.get(comment.task_id, (None, None))
    return found


def _rate(r: Rate) -> dict[str, Any]:
    return {"part": r.part, "whole": r.whole, "rate": rounded(r.value, 4)}


def after_sales_dict(a: AfterSales) -> dict[str, Any]:
    return {
        "process": CASE_PROCESS, "opened": a.opened, "still_open": a.still_open, "open_now": a.open_now,
        "by_type": [{"type": r.type, "opened": r.opened, "still_open": r.still_open, "outcomes": r.outcomes}
                    for r in a.by_type],
        "by_outcome": [{"outcome": k, "count": v} for k, v in a.by_outcome.items()],
        "returns": {**_rate(a.returns), "types": list(RETURN_TYPES)},
        "time_to_close": {
            "closed": a.closed, "median_seconds": rounded(a.median_close_seconds),
            "mean_seconds": rounded(a.mean_close_seconds),
            "median_hours": rounded(a.median_close_seconds / 3600, 2) if a.median_close_seconds is not None else None,
            "mean_hours": rounded(a.mean_close_seconds / 3600, 2) if a.mean_close_seconds is not None else None,
            "median_days": rounded(a.median_close_seconds / 86400, 2) if a.median_close_seconds is not None else None,
            "mean_days": rounded(a.mean_close_seconds / 86400, 2) if a.mean_close_seconds is not None else None},
    }


def surveys_dict(s: SurveyResults) -> dict[str, Any]:
    return {
        "steps": list(SURVEY_STEPS), "responses": s.responses, "rated": s.rated,
        "average_rating": rounded(s.average_rating, 2),
        "aspects": {a: {"average": rounded(s.aspect_average(a), 2), "answers": s.aspects[a][1]} for a in ASPECTS},
        "distribution": {str(i + 1): n for i, n in enumerate(s.distribution)},
        "would_recommend": _rate(s.recommend), "via_link": _rate(s.via_link),
        "latest_comments": [{"task_id": c.task_id, "instance_id": c.instance_id,
                             "answered_at": c.answered_at.isoformat(), "customer": c.customer,
                             "order_no": c.order_no, "rating": c.rating, "comments": c.comments, "via": c.via}
                            for c in s.latest],
    }


# -- CSV -----------------------------------------------------------------------------------------

CASE_COLUMNS = (Msg("Case type"), Msg("Cases opened"), Msg("Still open"), Msg("Refunded"), Msg("Replaced"),
                Msg("Repaired"), Msg("Explained"), Msg("Rejected"), Msg("Other outcomes"))
FIGURE_COLUMNS = (Msg("After-sales figure"), Msg("Value"), Msg("Part"), Msg("Whole"))
COMMENT_COLUMNS = (Msg("Answered"), Msg("Customer"), Msg("Order"), Msg("Rating"), Msg("Answered through"),
                   Msg("Comments"))
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """Text people typed, for a spreadsheet: a leading apostrophe keeps a formula from running."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def write_csv(writer, cases: AfterSales, answers: SurveyResults, translate: Callable[[Any], str] = str) -> None:
    """Three tables, each after a blank line: cases by type and outcome, the after-sales figures
    (rates with their parts, times to close in hours and days, survey averages and the rating
    distribution), the latest survey comments."""
    writer.writerow([])
    writer.writerow([translate(c) for c in CASE_COLUMNS])
    for row in cases.by_type:
        known = [row.outcomes.get(o, 0) for o in CASE_OUTCOMES]
        writer.writerow([_cell(row.type or ""), row.opened, row.still_open, *known,
                         row.opened - row.still_open - sum(known)])
    writer.writerow([])
    writer.writerow([translate(c) for c in FIGURE_COLUMNS])

    def figure(name: Msg, value: Any, part: Any = "", whole: Any = "") -> None:
        writer.writerow([translate(name), value, part, whole])

    def share(name: Msg, rate: Rate) -> None:
        figure(name, _number(rate.value, 4), rate.part, rate.whole)

    figure(Msg("Cases opened"), cases.opened)
    figure(Msg("Cases opened and still open"), cases.still_open)
    share(Msg("Return rate (return and exchange cases per delivered order)"), cases.returns)
    figure(Msg("Cases closed"), cases.closed)
    for name, seconds, per in ((Msg("Median time to close (h)"), cases.median_close_seconds, 3600),
                               (Msg("Average time to close (h)"), cases.mean_close_seconds, 3600),
                               (Msg("Median time to close (d)"), cases.median_close_seconds, 86400),
                               (Msg("Average time to close (d)"), cases.mean_close_seconds, 86400)):
        figure(name, _number(seconds / per if seconds is not None else None))
    figure(Msg("Open cases now"), cases.open_now)
    figure(Msg("Survey answers"), answers.responses)
    figure(Msg("Average rating"), _number(answers.average_rating), answers.rating_sum, answers.rated)
    for aspect, name in zip(ASPECTS, (Msg("Average quality rating"), Msg("Average delivery rating"),
                                      Msg("Average service rating"))):
        total, count = answers.aspects[aspect]
        figure(name, _number(answers.aspect_average(aspect)), total, count)
    for i, count in enumerate(answers.distribution):
        figure(Msg("Answers rating %(n)s", n=i + 1), count)
    share(Msg("Would recommend (share)"), answers.recommend)
    share(Msg("Answered through the customer link (share)"), answers.via_link)
    writer.writerow([])
    writer.writerow([translate(c) for c in COMMENT_COLUMNS])
    for c in answers.latest:
        writer.writerow([c.answered_at.isoformat(), _cell(c.customer), _cell(c.order_no),
                         "" if c.rating is None else c.rating, c.via or "", _cell(c.comments)])
