"""Orders as process instances: start, advance, read, suspend, resume, terminate."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from orderflow.access.permissions import require, require_instance_viewer, require_starter
from orderflow.core.errors import Conflict, InvalidInput, LostRace, NotFound
from orderflow.core.i18n import Msg, status_word
from orderflow.core.models import HumanTask, Instance, Job, ProcessVersion, Sequence, TaskGroup, User
from orderflow.core.platform import platform_of
from orderflow.engine import ProcessDef, Runaway, Services, Snapshot, due_at, json_clean
from orderflow.orders import related_order
from orderflow.workflow import attachments, audit, customer_links, forms, incidents, jobs, messages, notify, processes

# the first present names the instance; a case or survey also carries its order's order_no
BUSINESS_KEY_FIELDS = ("case_no", "survey_no", "order_no", "business_key")


def _next_sequence(session: Session, name: str) -> int:
    row = session.get(Sequence, name, with_for_update=True)
    if row is None:
        row = Sequence(name=name, value=0)
        session.add(row)
    row.value += 1
    session.flush()
    return row.value


def services_for(session: Session, instance: Instance, pdef: ProcessDef, actor: str | None) -> Services:
    """What handlers and waiting service tasks reach during one engine run on ``instance``."""
    platform = platform_of(session)

    def _audit(action: str, element_id: str, detail: dict) -> None:
        audit.record(session, instance.id, actor, action, element_id, detail)

    def _defer(task_uuid: str, element_id: str, handler: str, delays: list[float], error: str | None) -> None:
        job = jobs.enqueue(session, "service", platform.clock() + timedelta(seconds=delays[0]), instance.id,
                           task_uuid, element_id, retry_delays=delays[1:], last_error=error)
        job.attempts = 1 if error else 0
        audit.record(session, instance.id, actor, "service_deferred", element_id,
                     {"handler": handler, "error": error, "retries_left": len(delays) - 1})

    def _fail(task_uuid: str, element_id: str, handler: str, message: str, trace: str) -> None:
        job = jobs.enqueue(session, "service", platform.clock(), instance.id, task_uuid, element_id)
        job.attempts = 1
        session.flush()
        incidents.open_incident(session, instance, job, message, trace, handler)

    def _start_process(key: str, data: dict) -> str | None:
        started = start_follow_up(session, actor or "system", key, data, instance)
        return started.business_key

    def _mail(to: str, subject: str, body: str) -> None:
        notify.mail_to(session, to, subject, body)

    return Services(config=platform.config, next_sequence=lambda n: _next_sequence(session, n),
                    audit=_audit, clock=platform.clock, instance_id=instance.id, process_key=instance.process_key,
                    elements=pdef.elements, defer=_defer, fail=_fail, start_process=_start_process,
                    mail=_mail,
                    default_async_retry=str(platform.config.get("ORDERFLOW_DEFAULT_RETRY", "R3/PT10S")))


def start(session: Session, actor: User, key: str, data: dict[str, Any], version: int | None = None) -> Instance:
    row = processes.get_version(session, key, version)
    require_starter(actor, row)
    return _start_checked(session, actor, row, data)


def start_by_message(session: Session, actor: User, row: ProcessVersion, data: dict[str, Any]) -> Instance:
    """A message start event: the message's sender (an integration) starts the process without the
    starter group; the start form still checks the data (a 422 naming the field)."""
    return _start_checked(session, actor, row, data)


def _start_checked(session: Session, actor: User, row: ProcessVersion, data: dict[str, Any]) -> Instance:
    if not isinstance(data, dict):
        raise InvalidInput(Msg("'data' must be a JSON object with the start form's fields."))
    schema = row.forms.get(row.start_form) if row.start_form else None
    clean = forms.clean_submission(schema, data, {}, platform_of(session).clock) if schema else dict(data)
    files = attachments.check_refs(session, actor, schema, clean, None) if schema else []
    pdef = processes.definition(session, row)
    if pdef.start is not None and pdef.start.related_order:
        clean = related_order.with_order_facts(session, actor, clean, pdef.start.related_order)
    return _start(session, actor.username, row, pdef, clean, files)


def start_follow_up(session: Session, started_by: str, key: str, data: dict[str, Any], parent: Instance) -> Instance:
    """A process a running one starts (a survey after the receipt): the latest version, no start
    permission (the diagram asked for it), the link to the parent in the audit."""
    row = processes.latest_version(session, key)
    if row is None:
        raise LookupError(f"no version of the process '{key}' is deployed")
    return _start(session, started_by, row, processes.definition(session, row), dict(data), [],
                  parent=parent)


def _start(session: Session, started_by: str, row: ProcessVersion, pdef: ProcessDef, clean: dict[str, Any],
           files: list, parent: Instance | None = None) -> Instance:
    json_clean.require(clean, "data")  # also what a start without a form, or a follow-up, writes
    platform = platform_of(session)
    now = platform.clock()
    instance = Instance(process_version_id=row.id, process_key=row.key, status="running", state="",
                        started_by=started_by, started_at=now, updated_at=now)
    session.add(instance)
    session.flush()
    attachments.bind(files, instance.id)
    services = services_for(session, instance, pdef, started_by)
    workflow = platform.runtime.new(pdef, services)
    runaway = bounded(lambda: platform.runtime.start(workflow, clean))
    detail = {"process": row.key, "version": row.version, "data": clean}
    if parent is not None:
        detail["started_by_instance"] = {"id": parent.id, "key": parent.business_key}
    audit.record(session, instance.id, started_by, "instance_started", pdef.start.element_id if pdef.start else None,
                 detail)
    store_workflow(session, instance, pdef, workflow, runaway)
    return instance


def schedule_timer_start(session: Session, row: ProcessVersion, pdef: ProcessDef) -> Instance:
    """A process with a timer start event (a daily report, say) gets an instance waiting for its
    timer; instances of earlier versions whose start timer has not fired yet are retired."""
    start = pdef.start
    if start is None:  # callers schedule only a process whose start event has a timer
        raise ValueError(f"process {row.key!r} has no start event")
    platform = platform_of(session)
    now = platform.clock()
    for older in session.scalars(select(Instance).where(Instance.process_key == row.key, Instance.status == "running",
                                                        Instance.started_by == "scheduler",
                                                        Instance.process_version_id != row.id)):
        _, workflow = load(session, older, None)
        if not platform.runtime.snapshot(workflow).finished_elements:
            older.status, older.ended_at, older.next_timer_at = "terminated", now, None
            jobs.sync_timer(session, older)
            audit.record(session, older.id, "scheduler", "instance_terminated", None,
                         {"reason": f"replaced by version {row.version}"})
    instance = Instance(process_version_id=row.id, process_key=row.key, status="running", state="",
                        started_by="scheduler", started_at=now, updated_at=now)
    session.add(instance)
    session.flush()
    workflow = platform.runtime.new(pdef, services_for(session, instance, pdef, None))
    runaway = bounded(lambda: platform.runtime.start(workflow, {}))
    audit.record(session, instance.id, "scheduler", "instance_started", start.element_id,
                 {"process": row.key, "version": row.version, "timer": start.timer})
    store_workflow(session, instance, pdef, workflow, runaway)
    return instance


def bounded(run) -> Runaway | None:
    """Run the engine; a loop stopped at the step bound is returned, not raised: the state is
    consistent up to the last step and becomes an incident when stored."""
    try:
        run()
    except Runaway as exc:
        return exc
    return None


def load(session: Session, instance: Instance, actor: str | None):
    """The instance's live workflow with a script engine bound to this session."""
    pdef = processes.definition(session, instance.version)
    platform = platform_of(session)
    workflow = platform.runtime.load(pdef, instance.state, services_for(session, instance, pdef, actor))
    return pdef, workflow


def store_workflow(session: Session, instance: Instance, pdef: ProcessDef, workflow,
                   runaway: Runaway | None = None) -> Snapshot:
    """Persist the workflow and project it to the rows people query; one flush, no commit.

    ``runaway``: the run was stopped at the step bound; the instance waits behind an incident
    whose retry resumes it.
    """
    platform = platform_of(session)
    snap = platform.runtime.snapshot(workflow)
    now = platform.clock()
    instance.state = platform.runtime.dump(workflow)
    instance.updated_at = now
    instance.next_timer_at = snap.next_timer_at
    _project_order_columns(instance, snap.data)
    if snap.completed:
        instance.status = "completed"
        instance.ended_at = now
        instance.next_timer_at = None
        audit.record(session, instance.id, None, "instance_completed", None, {"outcome": snap.data.get("outcome")})
    if runaway is not None:
        job = jobs.enqueue(session, "resume", now, instance.id, element_id=runaway.element_id)
        session.flush()
        incidents.open_incident(session, instance, job, runaway.message, None)
    try:  # any flush may be the one that finds the stored copy changed under us
        sync_tasks(session, instance, pdef, snap)
        jobs.sync_timer(session, instance)
        messages.sync_correlations(session, instance, pdef, snap)
        session.flush()
    except StaleDataError:  # the edge rolls the whole request back
        raise LostRace(Msg("Someone else changed this order at the same moment; nothing of yours was saved. "
                           "Reload the order and try again.")) from None
    return snap


def _project_order_columns(instance: Instance, data: dict[str, Any]) -> None:
    for name in BUSINESS_KEY_FIELDS:
        if isinstance(data.get(name), str) and data[name]:
            instance.business_key = data[name]
            break
    if isinstance(data.get("customer"), str):
        instance.customer = data["customer"][:200]
    if isinstance(data.get("order_total"), (int, float)) and not isinstance(data.get("order_total"), bool):
        instance.order_total = float(data["order_total"])
    if isinstance(data.get("promised_date"), str):
        with contextlib.suppress(ValueError):
            instance.promised_date = date.fromisoformat(data["promised_date"])
    if isinstance(data.get("outcome"), str):
        instance.outcome = data["outcome"][:40]
    if isinstance(data.get("case_type"), str):
        instance.category = data["case_type"][:40]
    related = data.get("order_instance_id")
    if isinstance(related, int) and not isinstance(related, bool) and related != instance.id and 0 < related < 2**31:
        instance.related_id = related


def sync_tasks(session: Session, instance: Instance, pdef: ProcessDef, snap: Snapshot) -> None:
    """Make the ready rows of this instance equal the engine's ready user tasks."""
    now = platform_of(session).clock()
    open_rows = {t.task_uuid: t for t in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "ready"))}
    ready_ids = {r.task_uuid for r in snap.ready}
    left = []
    for uuid, row in open_rows.items():
        if uuid not in ready_ids:  # interrupted by a boundary event or a message
            row.status, row.completed_at = "cancelled", now
            left.append(row.id)
    jobs.close_sla_jobs(session, left)
    new_rows = []
    config = platform_of(session).config
    default_group = config.get("ORDERFLOW_DEFAULT_TASK_GROUP") or "process_owner"
    for ready in snap.ready:
        if ready.task_uuid in open_rows:
            continue
        info = pdef.elements.get(ready.element_id)
        fallback = default_group
        if info is not None and info.customer:  # a customer lane: the staff who may act for the customer
            fallback = config.get("ORDERFLOW_CUSTOMER_STEP_GROUP") or "sales"
        new_rows.append(HumanTask(
            instance_id=instance.id, process_key=instance.process_key,
            process_version_id=instance.process_version_id, task_uuid=ready.task_uuid, element_id=ready.element_id,
            name=info.name if info else ready.name, group_id=(info.group if info else None) or fallback,
            form_key=info.form_key if info else None, status="ready", ready_at=now, context=ready.data,
            assignee=info.assignee if info else None, customer_step=bool(info and info.customer),
            other_groups=[TaskGroup(group_id=g) for g in (info.groups if info else ())],  # candidateGroups="a,b"
            due_at=due_at(info.sla if info else None, now)))
    if not new_rows:
        return
    _drop_unknown_assignees(session, instance, new_rows)
    session.add_all(new_rows)
    session.flush()
    for row in new_rows:
        if row.due_at is not None:  # escalate when the time limit passes, then remind
            jobs.enqueue(session, "sla", row.due_at, instance.id, str(row.id), row.element_id)
        if row.customer_step:  # the customer gets their link by mail when the order knows an address
            customer_links.offer(session, row)


def _drop_unknown_assignees(session: Session, instance: Instance, rows: list[HumanTask]) -> None:
    """A diagram's assignee who is no (active) user would hold the task forever: the task goes to
    its group instead, and the audit trail says why (deploy warns about such names too)."""
    named = {row.assignee for row in rows if row.assignee}
    if not named:
        return
    known = set(session.scalars(select(User.username).where(User.username.in_(named), User.active.is_(True))))
    for row in rows:
        if row.assignee and row.assignee not in known:
            audit.record(session, instance.id, None, "assignee_unknown", row.element_id,
                         {"assignee": row.assignee, "group": row.group_id})
            row.assignee = None


def get(session: Session, actor: User, instance_id: int) -> Instance:
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(Msg("There is no order with id %(id)s.", id=instance_id))
    require_instance_viewer(session, actor, instance)
    return instance


@dataclass
class InstanceView:
    instance: Instance
    data: dict[str, Any]
    open_tasks: list[HumanTask]
    history: list[HumanTask]
    finished_elements: list[str]
    pdef: ProcessDef
    incidents: list  # unresolved Incident rows
    waits: list = field(default_factory=list)  # engine.Wait: timers, messages, signals, conditions


def view(session: Session, actor: User, instance_id: int) -> InstanceView:
    instance = get(session, actor, instance_id)
    pdef, workflow = load(session, instance, actor.username)
    snap = platform_of(session).runtime.snapshot(workflow)
    rows = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.id)))
    history = sorted((r for r in rows if r.status == "completed"), key=lambda r: (r.completed_at, r.id))
    live = instance.status in {"running", "error", "suspended"}
    waiting = _with_job_times(session, instance, snap.waits) if live else []
    return InstanceView(instance, snap.data, [r for r in rows if r.status == "ready"], history,
                        snap.finished_elements, pdef, incidents.unresolved(session, instance.id), waiting)


def _with_job_times(session: Session, instance: Instance, waits: list) -> list:
    """A waiting service call's next attempt is its pending job's due time."""
    refs = [w.task_ref for w in waits if w.kind == "service"]
    if not refs:
        return waits
    due = {j.task_ref: j.due_at for j in session.scalars(select(Job).where(
        Job.instance_id == instance.id, Job.kind == "service", Job.status == "pending", Job.task_ref.in_(refs)))}
    return [replace(w, due_at=due.get(w.task_ref)) if w.kind == "service" else w for w in waits]


# audit action -> the permission it needs
_PERMISSIONS = {
    "instance_suspended": "order.suspend",
    "instance_resumed": "order.resume",
    "instance_terminated": "order.terminate",
}


def _set_status(session: Session, actor: User, instance_id: int, allowed_from: set[str], status: str,
                action: str, reason: str | None) -> Instance:
    require(actor, _PERMISSIONS[action])
    instance = get(session, actor, instance_id)
    if instance.status not in allowed_from:
        raise Conflict(Msg("The order is %(current)s; it cannot be %(target)s from that state.",
                           current=status_word(instance.status), target=status_word(status)))
    instance.status = status
    instance.updated_at = platform_of(session).clock()
    if status == "terminated":
        instance.ended_at = instance.updated_at
        instance.next_timer_at = None
        for row in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                           HumanTask.status == "ready")):
            row.status, row.completed_at = "cancelled", instance.updated_at
        messages.forget(session, instance.id)
        jobs.close_instance_jobs(session, instance.id)
    jobs.sync_timer(session, instance)  # suspended or ended: no timer job; resumed: one again
    audit.record(session, instance.id, actor.username, action, None, {"reason": reason} if reason else None)
    try:
        session.flush()
    except StaleDataError:  # the edge rolls the whole request back
        raise LostRace(Msg("The order changed while you were acting on it; reload and try again.")) from None
    return instance


def suspend(session: Session, actor: User, instance_id: int, reason: str | None = None) -> Instance:
    return _set_status(session, actor, instance_id, {"running", "error"}, "suspended", "instance_suspended", reason)


def resume(session: Session, actor: User, instance_id: int, reason: str | None = None) -> Instance:
    return _set_status(session, actor, instance_id, {"suspended"}, "running", "instance_resumed", reason)


def terminate(session: Session, actor: User, instance_id: int, reason: str | None = None) -> Instance:
    return _set_status(session, actor, instance_id, {"running", "suspended", "error"}, "terminated",
                       "instance_terminated", reason)


def version_of(session: Session, instance: Instance) -> ProcessVersion:
    return instance.version
