"""Incidents: steps that failed for good, parked until a manager retries them or completes them by
hand (``recovery``); opening one marks the instance as in error."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderflow.access.permissions import require
from orderflow.core import audit, keyset
from orderflow.core.i18n import Msg, Texts, from_data, to_data
from orderflow.core.models import Incident, Instance, Job, User
from orderflow.core.platform import platform_of


def open_incident(session: Session, instance: Instance, job: Job, message: str, traceback: str | None,
                  handler: str | None = None) -> Incident:
    """Park ``job`` (status failed) behind an incident and mark the instance as in error."""
    now = platform_of(session).clock()
    job.status, job.finished_at, job.last_error = "failed", now, message
    incident = Incident(instance_id=instance.id, job=job, element_id=job.element_id, task_ref=job.task_ref,
                        handler=handler, message=message, traceback=traceback,
                        message_data=to_data(message) if isinstance(message, (Msg, Texts)) else None,
                        attempts=max(job.attempts, 1), created_at=now)
    session.add(incident)
    if instance.status == "running":
        instance.status = "error"
    audit.record(session, instance.id, None, "incident_opened", job.element_id,
                 {"message": message, "attempts": incident.attempts, "handler": handler})
    return incident


def readable_message(incident: Incident) -> str:
    """The incident's message as a ``Msg`` the edge shows in the reader's language; an incident stored
    before its key and parameters were (or with unreadable ones): its English text."""
    found = from_data(incident.message_data) if incident.message_data else None
    return found if isinstance(found, str) and found else incident.message


def unresolved(session: Session, instance_id: int) -> list[Incident]:
    return list(session.scalars(select(Incident).where(Incident.instance_id == instance_id,
                                                       Incident.resolved_at.is_(None)).order_by(Incident.id)))


def listing(session: Session, actor: User, include_resolved: bool = False):
    require(actor, "incident.read")
    query = keyset.ordered(select(Incident), keyset.Key(Incident.id, descending=True))
    if not include_resolved:
        query = query.where(Incident.resolved_at.is_(None))
    return query
