"""Where instances wait: counts per BPMN element from the indexed task rows (never the
engine state), for the diagram view and GET /api/v1/monitor/elements."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from orderflow.access.permissions import require
from orderflow.core.models import HumanTask, Incident, Instance, User
from orderflow.core.platform import platform_of
from orderflow.workflow import definitions


@dataclass
class ElementLoad:
    element_id: str
    name: str
    group: str | None
    waiting: int
    overdue: int
    oldest_ready_at: datetime | None
    incidents: int = 0


def elements(session: Session, actor: User, key: str, version: int | None = None) -> list[ElementLoad]:
    """One item per element where work waits: people's tasks, and steps parked as incidents."""
    require(actor, "monitor.read")
    row = definitions.get_version(session, key, version)
    names = definitions.definition(session, row).elements
    now = platform_of(session).clock()
    query = (select(HumanTask.element_id, func.count(), func.sum(case((HumanTask.due_at < now, 1), else_=0)),
                    func.min(HumanTask.ready_at))
             .where(HumanTask.status == "ready", HumanTask.process_key == key)
             .group_by(HumanTask.element_id))
    failed = (select(Incident.element_id, func.count()).join(Instance, Instance.id == Incident.instance_id)
              .where(Incident.resolved_at.is_(None), Instance.process_key == key).group_by(Incident.element_id))
    if version is not None:
        query = query.where(HumanTask.process_version_id == row.id)
        failed = failed.where(Instance.process_version_id == row.id)
    loads: dict[str, ElementLoad] = {}
    for element_id, waiting, overdue, oldest in session.execute(query):
        info = names.get(element_id)
        loads[element_id] = ElementLoad(element_id, info.name if info else element_id, info.group if info else None,
                                        waiting, int(overdue or 0), oldest)
    for element_id, count in session.execute(failed):
        if element_id is None:
            continue
        info = names.get(element_id)
        load = loads.setdefault(element_id, ElementLoad(element_id, info.name if info else element_id,
                                                        info.group if info else None, 0, 0, None))
        load.incidents = count
    return sorted(loads.values(), key=lambda item: item.element_id)
