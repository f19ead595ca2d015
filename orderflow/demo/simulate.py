"""Demo data: orders driven through the real domain layer, backdated over the past weeks.

Every order is started with ``instances.start`` and every step completed with
``tasks.complete`` by the demo user ``<group>1``, with form data filled from the step's JSON
Schema, so the rows, the audit trail, timers and SLA escalations are the ones the service
itself writes. The platform clock is moved instead of waiting: events of all orders run in
time order (a heap of (time, order)), and the background jobs that fall due in between (SLA
timers, escalations, reminders) run at their own due time, as a worker would have run them.

About two thirds of the orders are planned to finish before now; the others are left in
flight wherever their clock stood "now", so the board and the diagram show waiting work, some
of it overdue. Each step waits a log-normal time around its time limit: most on time, about
15 % late, a few very late. Exceptions are drawn per order: QC failures, deposit shortfalls,
change requests during production, big orders needing the vp, rejections at review.

Never run this against a production database.
"""
from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from orderflow.core.models import HumanTask, Instance, Notification, User
from orderflow.demo.demo_data import NOTES, RESOLUTION, decide, fill_form, new_order
from orderflow.engine import ProcessDef, due_at
from orderflow.orders.keys import CASE_PROCESS
from orderflow.orders.keys import ORDER_PROCESS as PROCESS
from orderflow.workflow import definitions, instances, job_kinds, jobs, tasks  # noqa: F401  (job_kinds registers the runners)

OPEN_CASE, FOLLOW_UP = -1, -2   # heap entries that are not tasks: open a case, look for follow-up tasks
CUSTOMER_ANSWERS = 0.6  # share of the customer's own steps they answer through their link
PASSWORD = "demo"  # the demo users' password: sign_release is an electronic signature

# Log-normal wait around a step's time limit: median 0.5 x limit, sigma 0.75 -> ~18 % beyond
# the limit; VERY_LATE of the steps additionally wait 2-4 times longer.
MEDIAN, SIGMA, VERY_LATE = 0.5, 0.75, 0.02
MEAN_FACTOR = 0.72             # mean of the wait / limit with the tail above, for planning
LONG_LIMIT = timedelta(days=3)  # steps with longer limits are compressed for orders that must finish
DEFAULT_LIMIT = timedelta(days=1)
COMMIT_EVERY = 20
JOB_LAG = timedelta(seconds=1)  # a worker runs a job this long after it falls due

# Share of orders with each exception (the rest go straight through).
RATES = {"reject": 0.03, "big": 0.05, "deposit_shortfall": 0.08, "change": 0.05, "qc_fail": 0.10,
         "stock_shortage": 0.05, "shortage_cancel": 0.15, "sample_revise": 0.06, "contract_revise": 0.04,
         "material_shortage": 0.07, "schedule_revise": 0.03, "balance_shortfall": 0.04,
         "after_sales": 0.2, "case_rejected": 0.1, "case_big": 0.3}
IN_FLIGHT = 1 / 3
STALLED = 0.35       # share of the orders in flight stuck at a step whose limit passed lately
STALL_WINDOW = 0.15  # "lately": within this share of the simulated days

# The happy path, in order; a tuple holds parallel branches (each a sequence of steps).
MAIN_PATH: list[Any] = [
    "check_stock", "review_order", "approve_order_manager", "confirm_sample", "spec_sheet", "draft_contract",
    "review_contract", "confirm_deposit", "release_order",
    (("make_bom", "purchase_materials"), ("design_artwork",), ("contract_review",)),
    "track_materials", "schedule_production", "approve_schedule", "produce", "qc_inspection", "goods_in",
    "confirm_balance", "prepare_sales_list", "sign_release", "ship_order", "confirm_receipt", "archive_documents",
]


@dataclass
class Result:
    orders: int = 0
    completed: int = 0
    in_flight: int = 0
    overdue_tasks: int = 0
    escalations: int = 0
    steps: int = 0
    jobs: int = 0
    seed: int = 0
    cases: int = 0


@dataclass
class Plan:
    index: int
    start: datetime
    finish: bool                 # planned to finish before now
    deadline: datetime | None    # orders that must finish end before this
    pace: float                  # long steps take pace x their usual time
    flags: dict[str, bool]
    progress_updates: int        # production progress reports before "finish"
    change_at: int               # which production report is the change request (-1: none)
    stalled: bool = False        # in flight and stuck: a task whose limit ran out lately stays open
    instance_id: int | None = None
    case_type: str = "return"
    case_opened: bool = False
    visits: dict[str, int] = field(default_factory=dict)
    scheduled: set[int] = field(default_factory=set)


class _Clock:
    def __init__(self, value: datetime):
        self.value = value

    def __call__(self) -> datetime:
        return self.value


def _limit(pdef, element_id: str, at: datetime) -> timedelta:
    info = pdef.elements.get(element_id)
    due = due_at(info.sla if info else None, at)
    return (due - at) if due is not None else DEFAULT_LIMIT


def _path_mean(pdef, steps, at: datetime, long: bool) -> float:
    """Mean seconds the main path spends in steps with short (or long) limits."""
    total = 0.0
    for step in steps:
        if isinstance(step, tuple):
            total += max(_path_mean(pdef, branch, at, long) for branch in step)
            continue
        limit = _limit(pdef, step, at)
        if (limit > LONG_LIMIT) == long:
            total += MEAN_FACTOR * limit.total_seconds()
    return total


# -- the simulation ----------------------------------------------------------------------

class Simulation:
    def __init__(self, db, orders: int, seed: int, days: int, now: datetime | None = None,
                 progress: Callable[[int], None] | None = None):
        self.db, self.count, self.days = db, orders, days
        self.rng = random.Random(seed)
        self.seed = seed
        self.real_now = now or datetime.now(UTC)
        self.progress = progress or (lambda n: None)
        self.platform = db.platform
        self.clock = _Clock(self.real_now - timedelta(days=days))
        self.owner = f"simulate-{jobs.worker_id()}"
        self.heap: list[tuple[datetime, int, int, int | None]] = []
        self._seq = 0
        self.result = Result(seed=seed)

    # planning ------------------------------------------------------------------------
    def _plans(self, pdef) -> list[Plan]:
        rng, now, span = self.rng, self.real_now, timedelta(days=self.days)
        short = _path_mean(pdef, MAIN_PATH, now, long=False)
        long_ = _path_mean(pdef, MAIN_PATH, now, long=True)
        flight = set(rng.sample(range(self.count), round(self.count * IN_FLIGHT)))
        plans = []
        for index in range(self.count):
            flags = {name: rng.random() < rate for name, rate in RATES.items()}
            flags["shortage_cancel"] = flags["stock_shortage"] and flags["shortage_cancel"]
            finish = index not in flight
            if finish:
                start = self._office_hours(now - span * rng.uniform(0.35, 1.0))
                deadline = now - span * rng.uniform(0.01, 0.1)
                if deadline <= start:
                    deadline = start + (now - start) / 2
                window = (deadline - start).total_seconds()
                pace = min(1.0, max(0.03, (window - 1.2 * short) / (1.2 * long_))) if long_ else 1.0
            else:  # anywhere in the window; they stop wherever "now" finds them
                start, deadline, pace = self._office_hours(now - span * rng.random()), None, 1.0
            stalled = not finish and rng.random() < STALLED  # the board's overdue work
            updates = rng.choice([0, 1, 1, 2])
            change_at = rng.randint(0, updates) if flags["change"] else -1
            plan = Plan(index, start, finish, deadline, pace, flags, updates, change_at, stalled)
            plan.case_type = rng.choices(list(RESOLUTION), weights=[35, 15, 25, 10, 15])[0]
            plans.append(plan)
        return plans

    def _office_hours(self, at: datetime) -> datetime:
        """Orders arrive 09:00-18:00 China time (01:00-10:00 UTC), never after now."""
        moved = at.replace(hour=self.rng.randint(1, 9), minute=self.rng.randint(0, 59), second=self.rng.randint(0, 59))
        return moved if moved < self.real_now else at

    def _wait(self, plan: Plan, pdef, element_id: str, ready_at: datetime, follow_up: bool = False) -> timedelta:
        limit = _limit(pdef, element_id, ready_at)
        if follow_up:  # a case or survey of the order: its own pace, no deadline, never stalled
            return max(limit * math.exp(self.rng.gauss(math.log(MEDIAN), SIGMA)), timedelta(minutes=2))
        lately = self.real_now - timedelta(days=self.days) * STALL_WINDOW
        if plan.stalled and lately <= ready_at + limit <= self.real_now:
            return self.real_now - ready_at + timedelta(days=365)  # overdue lately and still open now
        factor = math.exp(self.rng.gauss(math.log(MEDIAN), SIGMA))
        if self.rng.random() < VERY_LATE:
            factor = max(factor, 1.0) * self.rng.uniform(2.0, 4.0)
        if element_id == "produce":  # the limit covers the whole run; reports split it
            factor /= plan.progress_updates + 1
        if limit > LONG_LIMIT:
            factor *= plan.pace
        wait = limit * factor
        if plan.deadline is not None and ready_at + wait >= plan.deadline:
            # finishing orders never run past their deadline: take a share of what is left
            wait = (plan.deadline - ready_at) * self.rng.uniform(0.15, 0.5)
        return max(wait, timedelta(minutes=2))

    def _push(self, at: datetime, plan: Plan, task_id: int | None) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (at, self._seq, plan.index, task_id))

    # driving ---------------------------------------------------------------------------
    def run(self) -> Result:
        original = self.platform.clock
        self.platform.clock = self.clock
        try:
            with self.db.session() as session:
                self.session = session
                self._run(session)
        finally:
            self.platform.clock = original
            self.session = None
        return self.result

    def _run(self, session) -> None:
        row = definitions.latest_version(session, PROCESS)
        if row is None:
            raise LookupError(f"process '{PROCESS}' is not deployed")
        pdef = definitions.definition(session, row)
        self.case_process = definitions.latest_version(session, CASE_PROCESS) is not None
        self.pdefs: dict[str | None, ProcessDef | None] = {row.key: pdef}
        users = {u.username: u for u in session.scalars(select(User))}
        missing = {f"{g}1" for g in {info.group for info in pdef.elements.values() if info.group}} - set(users)
        if "sales1" not in users or missing:
            raise LookupError(f"demo users missing ({', '.join(sorted(missing or {'sales1'}))}): run seed-demo first")
        threshold = float(self.platform.config.get("ORDERFLOW_APPROVAL_THRESHOLD", 100000))
        plans = self._plans(pdef)
        for plan in plans:
            self._push(plan.start, plan, None)
        done: set[int] = set()
        pending = 0
        while self.heap and self.heap[0][0] <= self.real_now:
            at, _, index, task_id = heapq.heappop(self.heap)
            plan = plans[index]
            if self._run_jobs_until(session, at):
                pending = 0
            self.clock.value = max(self.clock.value, at)
            if task_id is None:
                data = new_order(self.rng, at, threshold, plan.flags["big"])
                instance = instances.start(session, users["sales1"], PROCESS, data)
                plan.instance_id = instance.id
                self.result.orders += 1
            elif task_id == OPEN_CASE:
                order = session.get(Instance, plan.instance_id)
                instances.start(session, users["service1"], CASE_PROCESS, {
                    "order_no": order.business_key, "case_type": plan.case_type,
                    "description": self.rng.choice(NOTES["case_description"]),
                    "quantity": self.rng.randint(1, 40)})
                self.result.cases += 1
            elif task_id == FOLLOW_UP:
                pass  # below: schedule whatever the order's follow-ups (its survey) have waiting
            else:
                task = session.get(HumanTask, task_id)
                if task is None or task.status != "ready" or task.instance.status != "running":
                    continue
                actor = users[f"{task.group_id}1"]
                view = tasks.form_for(session, actor, task.id)
                overrides = decide(self.rng, plan, task.element_id, view.order)
                data = fill_form(view.schema, view.values, view.order, self.rng, at.date(), overrides)
                if task.customer_step and self.rng.random() < CUSTOMER_ANSWERS:
                    tasks.complete_for_customer(session, task, data, "customer")
                else:
                    tasks.complete(session, actor, task.id, data, password=PASSWORD)
                plan.visits[task.element_id] = plan.visits.get(task.element_id, 0) + 1
            self.result.steps += 1
            pending += 1
            self._schedule(session, plan, pdef)
            instance = session.get(Instance, plan.instance_id)
            if instance.status != "running" and index not in done:
                done.add(index)
                self.progress(1)
                if instance.outcome == "completed":
                    self._follow_up(plan, at)
            if pending >= COMMIT_EVERY:
                session.commit()
                pending = 0
        session.commit()
        # everything that fell due until now runs at its time; then the real clock again
        self._run_jobs_until(session, self.real_now)
        self.clock.value = max(self.clock.value, self.real_now)
        self.progress(self.count - len(done))
        if self.platform.hooks.roll_up is not None:   # the analytics count the simulated steps now
            self.platform.hooks.roll_up(session)
            session.commit()
        self._summarize(session, plans)

    def _follow_up(self, plan: Plan, completed_at: datetime) -> None:
        """A delivered order: look for its survey once the delay has passed; some get a case."""
        setting = str(self.platform.config.get("ORDERFLOW_SURVEY_DELAY") or "P7D")
        asks_at = due_at(setting, completed_at)
        if asks_at is None:  # the survey handler refuses it too
            raise ValueError(f"ORDERFLOW_SURVEY_DELAY must be an ISO-8601 duration such as P7D, got {setting!r}")
        self._push(asks_at + timedelta(hours=1), plan, FOLLOW_UP)
        if plan.flags["after_sales"] and not plan.case_opened and self.case_process:
            plan.case_opened = True
            self._push(completed_at + timedelta(days=self.rng.uniform(1, 10)), plan, OPEN_CASE)

    def _schedule(self, session, plan: Plan, pdef) -> None:
        """Give each newly ready task of the order, and of its cases and survey, the time its group
        (or the customer) will act on it."""
        ids = [plan.instance_id, *session.scalars(select(Instance.id).where(Instance.related_id == plan.instance_id))]
        for task_id, element_id, ready_at, key in session.execute(
                select(HumanTask.id, HumanTask.element_id, HumanTask.ready_at, HumanTask.process_key)
                .where(HumanTask.instance_id.in_(ids), HumanTask.status == "ready")):
            if task_id in plan.scheduled:
                continue
            plan.scheduled.add(task_id)
            follow_up = key != PROCESS
            wait = self._wait(plan, self._pdef(session, key) or pdef, element_id, ready_at, follow_up)
            self._push(ready_at + wait, plan, task_id)

    def _pdef(self, session, key: str | None):
        if key not in self.pdefs:
            row = definitions.latest_version(session, key) if key else None
            self.pdefs[key] = definitions.definition(session, row) if row is not None else None
        return self.pdefs[key]

    def _run_jobs_until(self, session, until: datetime) -> bool:
        """Run the background jobs due up to ``until``, each batch just after its due time (as a
        worker would: SpiffWorkflow fires a timer only once its time has passed)."""
        ran, last, repeats = False, None, 0
        while True:
            due = jobs.next_due_at(session)
            if due is None or due > until:
                return ran
            if not ran:
                session.commit()  # the jobs' transactions must see our work (and SQLite has one writer)
                ran = True
            repeats = repeats + 1 if due == last else 0
            if repeats > 20:
                raise RuntimeError(f"a background job due at {due.isoformat()} keeps falling due again")
            last = due
            self.clock.value = max(self.clock.value, due + JOB_LAG * (repeats + 1))
            self.result.jobs += jobs.run_due(self.db, self.owner)
            for obj in list(session.identity_map.values()):  # jobs changed these under us (lock versions)
                if isinstance(obj, (Instance, HumanTask)):
                    session.expire(obj)

    def _summarize(self, session, plans: list[Plan]) -> None:
        ids = [p.instance_id for p in plans if p.instance_id is not None]
        if not ids:
            return
        statuses = dict(session.execute(select(Instance.status, func.count()).where(Instance.id.in_(ids))
                                        .group_by(Instance.status)).all())
        self.result.completed = statuses.get("completed", 0)
        self.result.in_flight = statuses.get("running", 0)
        self.result.overdue_tasks = session.scalar(
            select(func.count()).select_from(HumanTask).where(
                HumanTask.instance_id.in_(ids), HumanTask.status == "ready", HumanTask.due_at < self.real_now))
        self.result.escalations = session.scalar(
            select(func.count()).select_from(Notification).where(
                Notification.instance_id.in_(ids), Notification.kind == "sla_breached"))


def has_orders(session) -> bool:
    return session.scalar(select(Instance.id).where(Instance.process_key == PROCESS).limit(1)) is not None


def run(db, orders: int = 60, seed: int | None = None, days: int = 60,
        progress: Callable[[int], None] | None = None, now: datetime | None = None) -> Result:
    """Simulate ``orders`` orders over the last ``days`` days; the platform clock is restored."""
    if seed is None:
        seed = random.SystemRandom().randrange(1_000_000)
    return Simulation(db, orders, seed, days, now, progress).run()
