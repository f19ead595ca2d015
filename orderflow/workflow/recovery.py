"""Recovering from incidents: a manager retries the failed step (with a fresh set of retries) or
completes a failed service call by hand with the result it should have given; both are audited,
and the instance runs on when its last incident is resolved."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orderflow.access.permissions import require
from orderflow.core import audit
from orderflow.core.errors import Conflict, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import Incident, Instance, Job, User
from orderflow.core.platform import platform_of
from orderflow.engine import json_clean
from orderflow.workflow import incidents, jobs, runs


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
    if instance.status == "error" and not incidents.unresolved(session, instance.id):
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
    incident = _get_open(session, actor, incident_id, "incident.complete")
    job = session.get(Job, incident.job_id) if incident.job_id else None
    if job is None or job.kind != "service" or job.task_ref is None:
        raise Conflict(Msg("Only a failed service call can be completed by hand; retry this one instead."))
    json_clean.require(result, "data")  # what the step stores: refused here, naming the field, not shown broken later
    instance = _resolve(session, actor, incident, "completed_by_hand")
    pdef, workflow = runs.load(session, instance, actor.username)
    platform_of(session).runtime.finish_service(workflow, job.task_ref, result, call=False)
    job.status = "done"
    audit.record(session, instance.id, actor.username, "incident_completed_by_hand", incident.element_id,
                 {"incident_id": incident.id, "result": result})
    runs.store_workflow(session, instance, pdef, workflow)
    return incident
