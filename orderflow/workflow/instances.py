"""Commands on process instances: start (checked: permission, start form), read, suspend, resume,
terminate; a timer start event's waiting instance. Running one is ``runs``'s."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from orderflow.access.permissions import require, require_instance_viewer, require_starter
from orderflow.core import audit, metrics
from orderflow.core.errors import Conflict, InvalidInput, LostRace, NotFound
from orderflow.core.i18n import Msg, status_word
from orderflow.core.models import HumanTask, Instance, Job, ProcessVersion, User
from orderflow.core.platform import platform_of
from orderflow.engine import ProcessDef
from orderflow.workflow import attachments, correlations, definitions, forms, incidents, jobs, runs


def start(session: Session, actor: User, key: str, data: dict[str, Any], version: int | None = None) -> Instance:
    row = definitions.get_version(session, key, version)
    require_starter(actor, row)
    return _start_checked(session, actor, row, data)


def start_by_message(session: Session, actor: User, row: ProcessVersion, data: dict[str, Any]) -> Instance:
    """A message start event: the message's sender (an integration) starts the process without the
    starter group; the start form still checks the data (a 422 naming the field)."""
    return _start_checked(session, actor, row, data)


def _start_checked(session: Session, actor: User, row: ProcessVersion, data: dict[str, Any]) -> Instance:
    if not isinstance(data, dict):
        raise InvalidInput(Msg("'data' must be a JSON object with the start form's fields."))
    schema = definitions.form(session, row, row.start_form) if row.start_form else None
    clean = forms.clean_submission(schema, data, {}, platform_of(session).clock) if schema else dict(data)
    files = attachments.check_refs(session, actor, schema, clean, None) if schema else []
    pdef = definitions.definition(session, row)
    if pdef.start is not None and pdef.start.related_order:  # the business completes the data (an order's facts)
        clean = platform_of(session).hooks.start_data(session, actor, clean, pdef.start.related_order)
    return runs.start_run(session, actor.username, row, pdef, clean, files)


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
        _, workflow = runs.load(session, older, None)
        if not platform.runtime.snapshot(workflow).finished_elements:
            older.status, older.ended_at, older.next_timer_at = "terminated", now, None
            jobs.sync_timer(session, older)
            audit.record(session, older.id, "scheduler", "instance_terminated", None,
                         {"reason": f"replaced by version {row.version}"})
    instance = Instance(process_version_id=row.id, process_key=row.key, status="running",
                        started_by="scheduler", started_at=now, updated_at=now)
    session.add(instance)
    session.flush()
    audit.new_chain(session, instance.id)
    workflow = platform.runtime.new(pdef, runs.services_for(session, instance, pdef, None))
    runaway = runs.bounded(lambda: platform.runtime.start(workflow, {}))
    audit.record(session, instance.id, "scheduler", "instance_started", start.element_id,
                 {"process": row.key, "version": row.version, "timer": start.timer})
    runs.store_workflow(session, instance, pdef, workflow, runaway)
    metrics.instance_started(session, instance.process_key)
    return instance


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
    pdef, workflow = runs.load(session, instance, actor.username)
    snap = platform_of(session).runtime.snapshot(workflow)
    runs.keep_read(session, instance, pdef, workflow)
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
        correlations.forget(session, instance.id)
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
