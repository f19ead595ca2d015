"""What if the draft were deployed: the last weeks of real completions replayed through the draft's
steps, groups and time limits, side by side with today's version under the same model.

The model, said to the process owner on the page as well:
- the history is the people's steps of this process finished in the last N weeks (at most
  ``MAX_SAMPLE``, the latest first; when capped, the rates are taken over the span the sample covers);
- a step in both versions takes as long as it took in that history; a step moved to another group
  takes as long as that group's steps took (the wait is mostly the group's queue), if the group has
  history; a new step takes as long as its group's steps took, and is reached by every order that
  reached a step right before it (every branch of a gateway counts, conditions are not evaluated);
- orders waiting at a step follow Little's law: orders reaching it per day × days spent there;
- the share breaching a time limit is the share of the step's times above it (calendar arithmetic
  as for due times);
- the cycle time adds an order's times at the people's steps, one after another: automated steps,
  timers and parallel branches are not modelled, and arrivals stay as they were.
Both columns come from the same model, so their difference is the draft's effect.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderflow.access.permissions import require_deployer
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import HumanTask, User
from orderflow.core.platform import platform_of
from orderflow.engine import START, DeployRejected, ElementInfo, ProcessDef, late_test, steps_before
from orderflow.workflow import definitions, releases
from orderflow.workflow.runs import step_group

MAX_SAMPLE = 50_000
MAX_WEEKS = 26
WEEKS = 4   # the history looked at unless the owner chooses
DAY = 86400.0


@dataclass
class Done:
    """One finished step of the history."""

    order: int
    group: str | None
    ready_at: datetime
    done_at: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.done_at - self.ready_at).total_seconds())


@dataclass
class Side:
    """One version's view of a step under the model."""

    group: str
    limit: str | None
    reached: int                   # orders' visits to the step in the history (or predicted)
    basis: str                     # history | group | none (a new step whose group has no history)
    mean_seconds: float | None
    waiting: float | None          # orders waiting there at any moment (Little's law)
    breach_share: float | None     # share of times above the limit; None without a limit or times


@dataclass
class StepForecast:
    element_id: str
    name: str
    change: str                    # same | added | removed | changed (group or time limit)
    today: Side | None
    draft: Side | None
    waiting_now: int


@dataclass
class Forecast:
    key: str
    from_version: int | None
    weeks: int
    since: datetime
    until: datetime
    steps_in_sample: int
    orders: int
    capped: bool
    steps: list[StepForecast] = field(default_factory=list)
    cycle_today: float | None = None   # mean seconds per order at the people's steps
    cycle_draft: float | None = None


def forecast(session: Session, actor: User, key: str, weeks: int = WEEKS) -> Forecast:
    require_deployer(actor)
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(Msg("Choose between 1 and %(most)s weeks of history.", most=MAX_WEEKS),
                           fields={"weeks": Msg("1 to %(most)s", most=MAX_WEEKS)})
    try:
        new = releases.draft_definition(session, key)
    except DeployRejected as exc:
        problems = Msg("%(count)s problem(s)", count=len(exc.problems))
        raise InvalidInput(Msg("The draft does not compile, so nothing can be replayed through it: Check in the "
                               "modeler lists its problems."), fields={"draft": problems}) from None
    latest = definitions.latest_version(session, key)
    old = definitions.definition(session, latest) if latest is not None else None
    until = platform_of(session).clock()
    since = until - timedelta(weeks=weeks)
    rows = session.execute(
        select(HumanTask.instance_id, HumanTask.element_id, HumanTask.group_id, HumanTask.ready_at,
               HumanTask.completed_at)
        .where(HumanTask.process_key == key, HumanTask.status == "completed", HumanTask.completed_at >= since,
               HumanTask.completed_at <= until)
        .order_by(HumanTask.completed_at.desc()).limit(MAX_SAMPLE + 1)).all()
    capped = len(rows) > MAX_SAMPLE
    rows = rows[:MAX_SAMPLE]
    history: dict[str, list[Done]] = defaultdict(list)
    oldest = until
    for order, element, group, ready_at, done_at in rows:
        oldest = done_at or oldest   # never None for a completed step; the rows come newest first
        history[element].append(Done(order, group, ready_at, oldest))
    days = max((until - (oldest if capped else since)).total_seconds(), 1.0) / DAY
    model = _Model(history, days, platform_of(session).config)
    waiting_now = dict(session.execute(
        select(HumanTask.element_id, func.count()).where(HumanTask.status == "ready", HumanTask.process_key == key)
        .group_by(HumanTask.element_id)).all())
    result = Forecast(key, latest.version if latest else None, weeks, since, until, len(rows),
                      len({r[0] for r in rows}), capped)
    before = steps_before(new)   # read from the draft's XML once, for both
    result.steps = model.steps(old, new, waiting_now, before)
    result.cycle_today, result.cycle_draft = model.cycles(old, result.steps, before)
    return result


def _people_steps(pdef: ProcessDef | None) -> dict[str, ElementInfo]:
    return {k: e for k, e in pdef.elements.items() if e.kind == "userTask"} if pdef else {}


class _Model:
    def __init__(self, history: dict[str, list[Done]], days: float, config) -> None:
        self.history, self.days, self.config = history, days, config
        self.by_group: dict[str, list[Done]] = defaultdict(list)
        for done in (d for dones in history.values() for d in dones):
            self.by_group[done.group or ""].append(done)
        self.orders = {d.order for dones in history.values() for d in dones}
        self._reached: dict[str, set[int]] = {}

    def side(self, info: ElementInfo, times: list[Done], basis: str, reached: int) -> Side:
        group = step_group(self.config, info)
        mean = fmean(d.seconds for d in times) if times else None
        late = late_test(info.sla)
        breach = sum(late(d.ready_at, d.done_at) for d in times) / len(times) if late and times else None
        waiting = reached / self.days * mean / DAY if mean is not None else None
        return Side(group, info.sla, reached, basis, mean, waiting, breach)

    def today(self, info: ElementInfo) -> Side:
        own = self.history.get(info.element_id, [])
        return self.side(info, own, "history" if own else "none", len(own))

    def draft(self, info: ElementInfo, old: ElementInfo | None, before: dict[str, frozenset[str]]) -> Side:
        own = self.history.get(info.element_id, [])
        group = step_group(self.config, info)
        if old is not None or own:   # a step orders know: its own visits (none in these weeks is none)
            moved = old is not None and step_group(self.config, old) != group
            if moved and self.by_group.get(group):
                return self.side(info, self.by_group[group], "group", len(own))
            return self.side(info, own, "history", len(own))
        times = self.by_group.get(group, [])   # a new step: its group's pace, the orders before it
        return self.side(info, times, "group" if times else "none", len(self.reached(info.element_id, before)))

    def reached(self, step: str, before: dict[str, frozenset[str]], seen: frozenset[str] = frozenset()) -> set[int]:
        """The orders a step without history is predicted to reach: those that reached a step right before it."""
        if step in self._reached:
            return self._reached[step]
        orders: set[int] = set()
        for prior in before.get(step, frozenset()) - seen:
            if prior == START:
                orders |= self.orders
            elif self.history.get(prior):
                orders |= {d.order for d in self.history[prior]}
            else:
                orders |= self.reached(prior, before, seen | {step})
        self._reached[step] = orders
        return orders

    def steps(self, old: ProcessDef | None, new: ProcessDef, waiting_now: dict[str, int],
              before: dict[str, frozenset[str]]) -> list[StepForecast]:
        old_steps, new_steps = _people_steps(old), _people_steps(new)
        found = []
        for ident, info in new_steps.items():
            was = old_steps.get(ident)
            today = self.today(was) if was is not None else None
            draft = self.draft(info, was, before)
            change = "added" if was is None else (
                "changed" if (step_group(self.config, was), was.sla) != (draft.group, info.sla) else "same")
            found.append(StepForecast(ident, info.name, change, today, draft, waiting_now.get(ident, 0)))
        for ident, was in old_steps.items():
            if ident not in new_steps:
                found.append(StepForecast(ident, was.name, "removed", self.today(was), None, waiting_now.get(ident, 0)))
        return found

    def cycles(self, old: ProcessDef | None, steps: list[StepForecast],
               before: dict[str, frozenset[str]]) -> tuple[float | None, float | None]:
        """Mean seconds per order at the people's steps, today and with the draft (``steps``' sides)."""
        if not self.orders:
            return None, None
        today: dict[int, float] = dict.fromkeys(self.orders, 0.0)
        draft: dict[int, float] = dict.fromkeys(self.orders, 0.0)
        for ident in _people_steps(old) if old is not None else self.history:
            for done in self.history.get(ident, []):
                today[done.order] += done.seconds
        for step in steps:
            ident, side = step.element_id, step.draft
            if side is None:   # removed by the draft
                continue
            if side.basis == "history":
                for done in self.history.get(ident, []):
                    draft[done.order] += done.seconds
            elif side.basis == "group" and side.mean_seconds is not None:
                own = self.history.get(ident)
                visits: dict[int, int] = defaultdict(int)
                for order in ([d.order for d in own] if own else self.reached(ident, before)):
                    visits[order] += 1
                for order, count in visits.items():
                    draft[order] += count * side.mean_seconds
        return fmean(today.values()), fmean(draft.values())


def as_json(result: Forecast) -> dict[str, Any]:
    def side(s: Side | None) -> dict[str, Any] | None:
        return None if s is None else {
            "group": s.group, "time_limit": s.limit, "reached": s.reached, "basis": s.basis,
            "mean_seconds": s.mean_seconds, "waiting": s.waiting, "breach_share": s.breach_share}
    return {
        "process": result.key, "from_version": result.from_version, "weeks": result.weeks,
        "since": result.since.isoformat(), "until": result.until.isoformat(),
        "history": {"steps": result.steps_in_sample, "orders": result.orders, "capped": result.capped,
                    "limit": MAX_SAMPLE},
        "cycle_seconds": {"today": result.cycle_today, "draft": result.cycle_draft},
        "steps": [{"element_id": s.element_id, "name": s.name, "change": s.change, "waiting_now": s.waiting_now,
                   "today": side(s.today), "draft": side(s.draft)} for s in result.steps],
    }
