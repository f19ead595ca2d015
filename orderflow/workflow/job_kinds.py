"""What each kind of job does. Each runner works inside the job's transaction (see jobs.py).

A failure that retrying the same step could cure (a handler error, a loop stopped at the
engine-step bound, a failing condition) rolls the instance back to before the job and parks
the job behind an incident, so a manager's retry runs exactly that step again.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from orderflow.access.permissions import group_word
from orderflow.core import audit, timefmt
from orderflow.core.db import by_id
from orderflow.core.errors import StepFailed, TaskNotReady
from orderflow.core.i18n import Msg, element_name
from orderflow.core.models import HumanTask, Instance, Job
from orderflow.core.platform import platform_of
from orderflow.engine import due_at
from orderflow.workflow import customer_links, definitions, incidents, jobs, notify, runs

ACTIVE = {"running"}
_INSTANCE = select(Instance).options(joinedload(Instance.version)).where(Instance.id == bindparam("id"))


def _instance(session: Session, job: Job) -> Instance | None:
    # with its version in the same statement: the step runs the version's definition
    instance = by_id(session, _INSTANCE, Instance, job.instance_id) if job.instance_id else None
    return instance if instance is not None and instance.status in ACTIVE else None


def _park(session: Session, job: Job, exc: StepFailed) -> None:
    """Undo the job's partial effect and leave it behind an incident."""
    job_id, attempts = job.id, job.attempts
    session.rollback()
    job = session.get_one(Job, job_id)
    job.attempts = attempts + 1
    instance = session.get_one(Instance, job.instance_id)  # a job that ran a step has its instance
    incidents.open_incident(session, instance, job, exc.message, getattr(exc, "traceback", None),
                            getattr(exc, "handler", None))


Audited = list[tuple[str, str | None, dict]]   # (action, element id, detail) to record after the step


def _advance(session: Session, job: Job, step: Callable[..., Audited | None],
             on_failure: Callable | None = None) -> None:
    """Load the job's instance, let ``step(runtime, workflow, instance)`` move it, store it, and
    record what the step returned in the audit trail (after the store's own work is done and
    before its writes: on SQLite the write turn is then held for the writes alone).

    A failing step rolls back and goes to ``on_failure`` (default: park behind an incident).
    """
    instance = _instance(session, job)
    if instance is None:
        return
    pdef, workflow = runs.load(session, instance, None)
    try:
        audited = step(platform_of(session).runtime, workflow, instance) or []
    except TaskNotReady:  # someone finished the step by other means (by hand, a message)
        return
    except StepFailed as exc:
        (on_failure or _park)(session, job, exc)
        return
    prepared = runs.prepare_store(session, instance, pdef, workflow,
                                  timer_job_read=jobs.pending_timer_read_with(session, job))
    for action, element_id, detail in audited:
        audit.record(session, instance.id, None, action, element_id, detail)
    runs.store_workflow(session, instance, pdef, workflow, prepared=prepared)


def run_timer(session: Session, job: Job) -> None:
    def step(runtime, workflow, instance) -> Audited:
        return [("timer_fired", element_id, {"job_id": job.id}) for element_id in runtime.fire_timers(workflow)]
    _advance(session, job, step)


def run_resume(session: Session, job: Job) -> None:
    def step(runtime, workflow, instance) -> None:
        runtime.resume(workflow)
    _advance(session, job, step)


def run_service(session: Session, job: Job) -> None:
    def step(runtime, workflow, instance) -> Audited:
        runtime.finish_service(workflow, job.task_ref, idempotency_key=f"{instance.id}:{job.task_ref}")
        return [("service_completed", job.element_id, {"attempts": job.attempts + 1})]
    _advance(session, job, step, _retry_or_park)


def _retry_or_park(session: Session, job: Job, exc: StepFailed) -> None:
    """A failed attempt: try again after the next delay, or park when the retries are spent."""
    delays = list(job.retry_delays or [])
    if not delays:
        return _park(session, job, exc)
    job_id, attempts = job.id, job.attempts
    session.rollback()  # the handler's partial writes go; the attempt is recorded
    job = session.get_one(Job, job_id)
    job.attempts, job.last_error, job.retry_delays = attempts + 1, exc.cause or exc.message, delays[1:]
    job.status, job.lock_owner, job.lock_expires_at = "pending", None, None
    job.due_at = platform_of(session).clock() + timedelta(seconds=delays[0])
    jobs.wake(session, job.due_at)


def _after(cadence: str, now: datetime) -> datetime:
    """The next reminder; a cadence that is no duration is a configuration error (a job needs a due time)."""
    when = due_at(cadence, now)
    if when is None:
        raise ValueError(f"ORDERFLOW_REMINDER_INTERVAL is not a duration (PT4H, P1D): {cadence!r}")
    return when


def _timer_escalates(session: Session, task: HumanTask) -> bool:
    """Whether a boundary timer sits on the task (its diagram escalates, and audits, by itself)."""
    version = task.instance.version
    info = definitions.definition(session, version).elements.get(task.element_id) if version else None
    return bool(info and info.sla_timer)


def run_sla(session: Session, job: Job) -> None:
    """The task's time limit passed: tell its group's managers, then remind at the cadence."""
    task = session.get(HumanTask, int(job.task_ref)) if job.task_ref and job.task_ref.isdigit() else None
    if task is None or task.status != "ready":
        return
    platform = platform_of(session)
    cadence = str(platform.config.get("ORDERFLOW_REMINDER_INTERVAL", "PT4H"))
    if task.instance.status != "running":  # suspended or in error: look again later
        job.status, job.due_at = "pending", _after(cadence, platform.clock())
        return
    reminder = job.attempts > 0  # reminders carry the count of escalations before them
    target = notify.escalation_group(platform.config, task.group_id or "")
    order = task.instance.business_key or f"#{task.instance_id}"
    due = timefmt.at(task.due_at, timefmt.company_zone(platform.config)) if task.due_at else "?"
    if reminder:  # the same step again: into the managers' digest, not one more notification each
        notify.digest_group(session, target, {"task_id": task.id, "instance_id": task.instance_id, "order": order,
                                              "step": task.name, "group": task.group_id or "", "due_text": due,
                                              "link": f"/orders/{task.instance_id}"}, link="/board?overdue=1")
    else:
        step = element_name(task.name)
        subject = Msg("%(order)s: '%(step)s' is overdue", order=order, step=step)
        body = (Msg("The step '%(step)s' of order %(order)s (%(group)s) was due at %(due)s and is still open, "
                    "claimed by %(user)s.", step=step, order=order, group=group_word(task.group_id), due=due,
                    user=task.assignee)
                if task.assignee else
                Msg("The step '%(step)s' of order %(order)s (%(group)s) was due at %(due)s and is still open.",
                    step=step, order=order, group=group_word(task.group_id), due=due))
        notify.notify_group(session, target, "sla_breached", subject, body, link=f"/orders/{task.instance_id}",
                            instance_id=task.instance_id)
    if not reminder and not _timer_escalates(session, task):
        # the missed deadline in the order's timeline, once: a boundary timer's own escalation path
        # (escalate_overdue) records it in diagrams that draw one; a time limit that is only a
        # property (sla) or a camunda:dueDate has nothing else to record it
        audit.record(session, task.instance_id, None, "sla_breached", task.element_id,
                     {"step": task.element_id, "task_id": task.id, "business_key": task.instance.business_key,
                      "due_at": task.due_at.isoformat() if task.due_at else None})
    audit.record(session, task.instance_id, None, "sla_escalated", task.element_id,
                 {"task_id": task.id, "to_group": target, "reminder": reminder})
    if task.customer_step and not reminder:  # the customer has not answered: one reminder with a fresh link
        customer_links.remind(session, task)
    follow_up = jobs.enqueue(session, "sla", _after(cadence, platform.clock()), task.instance_id, job.task_ref,
                             task.element_id)
    follow_up.attempts = job.attempts + 1


jobs.KINDS.update(timer=run_timer, service=run_service, resume=run_resume, sla=run_sla)
