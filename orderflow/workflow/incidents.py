"""Incidents: steps that failed for good. The instance waits until a manager retries the step
or completes it by hand; both are audited."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderflow.access.permissions import require
from orderflow.core.errors import Conflict, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import Incident, Instance, Job, User
from orderflow.core.platform import platform_of
from orderflow.engine import json_clean
from orderflow.workflow import audit, jobs


def open_incident(session: Session, instance: Instance, job: Job, message: str, traceback: str | None,
                  handler: str | None = None) -> Incident:
    """Park ``job`` (status failed) behind an incident and mark the instance as in error."""
    now = platform_of(session).clock()
    job.status, job.finished_at, job.last_error = "failed", now, message
    incident = Incident(instance_id=instance.id, job=job, element_id=job.element_id, task_ref=job.task_ref,
                        handler=handler, message=message, traceback=traceback,
                        attempts=max(job.attempts, 1), created_at=now)
    session.add(incident)
    if instance.status == "running":
        instance.status = "error"
    audit.record(session, instance.id, None, "incident_opened", job.element_id,
                 {"message": message, "attempts": incident.attempts, "handler": handler})
    return incident


def unresolved(session: Session, instance_id: int) -> list[Incident]:
    return list(session.scalars(select(Incident).where(Incident.instance_id == instance_id,
                                                       Incident.resolved_at.is_(None)).order_by(Incident.id)))


def listing(session: Session, actor: User, include_resolved: bool = False):
    require(actor, "incident.read")
    query = select(Incident).order_by(Incident.id.desc())
    if not include_resolved:
        query = query.where(Incident.resolved_at.is_(None))
    return query


def _get_open(session: Session, actor: User, incident_id: int, action: str) -> Incident:
    require(actor, action)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(Msg("There is no incident with id %(id)s.", id=incident_id))
    if incident.resolved_at is not None:
        raise Conflict(Msg("This incident was already resolved (%(how)s).", how=incident.resolution))
    return incident


def _resolve(session: Session, actor: User, incident: Incident, resolution: str) -> Instance:
    instance = session.get_one(Instance, incident.instance_id)
    incident.resolved_at, incident.resolved_by, incident.resolution = \
        platform_of(session).clock(), actor.username, resolution
    session.flush()
    if instance.status == "error" and not unresolved(session, instance.id):
        instance.status = "running"
    return instance


def retry(session: Session, actor: User, incident_id: int) -> Incident:
    """Run the failed step again now, with a fresh set of retries."""
    incident = _get_open(session, actor, incident_id, "incident.retry")
    instance = _resolve(session, actor, incident, "retried")
    job = session.get(Job, incident.job_id) if incident.job_id else None
    if job is None:
        raise Conflict(Msg("This incident has no step left to retry; complete it by hand instead."))
    job.status, job.attempts, job.last_error = "pending", 0, None
    job.due_at, job.lock_owner, job.lock_expires_at = platform_of(session).clock(), None, None
    jobs.wake(session, job.due_at)
    audit.record(session, instance.id, actor.username, "incident_retried", incident.element_id,
                 {"incident_id": incident.id})
    return incident


def complete_by_hand(session: Session, actor: User, incident_id: int, result: Any) -> Incident:
    """Finish a failed service step with the result a manager supplies, and run on."""
    from orderflow.workflow import instances
    incident = _get_open(session, actor, incident_id, "incident.complete")
    job = session.get(Job, incident.job_id) if incident.job_id else None
    if job is None or job.kind != "service" or job.task_ref is None:
        raise Conflict(Msg("Only a failed service call can be completed by hand; retry this one instead."))
    json_clean.require(result, "data")  # what the step stores: refused here, naming the field, not shown broken later
    instance = _resolve(session, actor, incident, "completed_by_hand")
    pdef, workflow = instances.load(session, instance, actor.username)
    platform_of(session).runtime.finish_service(workflow, job.task_ref, result, call=False)
    job.status = "done"
    audit.record(session, instance.id, actor.username, "incident_completed_by_hand", incident.element_id,
                 {"incident_id": incident.id, "result": result})
    instances.store_workflow(session, instance, pdef, workflow)
    return incident
