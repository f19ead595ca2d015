"""What the order page shows besides the instance itself: who to ask about each open step, where
a step may be reassigned, the signatures and the audit trail's state, and the order's related
instances (its after-sales cases and survey, or the order a case is about)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderflow.access.permissions import can, group_may, is_overseer, may_start
from orderflow.core import audit
from orderflow.core.models import AuditEvent, Group, Instance, Membership, ProcessVersion, User
from orderflow.orders.keys import CASE_PROCESS, ORDER_PROCESS
from orderflow.workflow import definitions, forms, instances, signatures
from orderflow.workflow.instances import InstanceView

RELATED_SHOWN = 50   # related instances listed on the page


@dataclass
class Related:
    instances: list[Instance] = field(default_factory=list)   # the cases and surveys about this order
    parent: Instance | None = None                             # the order this case or survey is about
    may_open_case: bool = False                                # the actor may open an after-sales case now


@dataclass
class OrderPage:
    view: InstanceView
    events: list[AuditEvent]
    signatures: list[Any]                 # signatures.SignatureState per signing step
    chain_break: AuditEvent | None        # the first audit event whose hash does not chain
    contacts: dict[str, list[User]]       # open step's group -> its active members
    work_groups: list[str]                # groups a step may be reassigned to (empty: the actor may not)
    overseer: bool                        # may suspend, resume, terminate
    related: Related
    records: dict[int, list[tuple[str, dict, Any]]] = field(default_factory=dict)   # task id -> its record


def order_page(session: Session, actor: User, instance_id: int) -> OrderPage:
    view = instances.view(session, actor, instance_id)   # 404 / 403 as the instance's viewers rule
    return OrderPage(view=view, events=audit.events(session, instance_id),
                     signatures=signatures.states(session, instance_id, view.data),
                     chain_break=audit.verify_chain(session, instance_id),
                     contacts=_contacts(session, {t.group_id for t in view.open_tasks if t.group_id}),
                     work_groups=_work_groups(session, actor), overseer=is_overseer(actor),
                     related=related(session, actor, view.instance), records=_records(session, view))


def _records(session: Session, view: InstanceView) -> dict[int, list[tuple[str, dict, Any]]]:
    """Each completed step's own record: what its form asked and the person answered (order data
    is the merged view, where a later step's decision or comment replaces an earlier one's)."""
    forms_of: dict[int | None, Mapping[str, Any]] = {}
    records = {}
    for task in view.history:
        if task.process_version_id not in forms_of:
            version = session.get(ProcessVersion, task.process_version_id) if task.process_version_id else None
            forms_of[task.process_version_id] = definitions.forms_of(session, version) if version else {}
        schema = forms_of[task.process_version_id].get(task.form_key or "")
        if schema and isinstance(task.data, dict):
            records[task.id] = forms.step_record(schema, task.data)
    return records


def _contacts(session: Session, groups: set[str]) -> dict[str, list[User]]:
    contacts: dict[str, list[User]] = {}
    members = select(Membership.user_id).where(Membership.group_id.in_(groups))
    # users by id, not DISTINCT rows: a row with a JSON column cannot be compared on PostgreSQL
    for user in session.scalars(select(User).where(User.id.in_(members), User.active.is_(True))
                                .order_by(User.username)):
        for group in groups & user.group_ids:
            contacts.setdefault(group, []).append(user)
    return contacts


def _work_groups(session: Session, actor: User) -> list[str]:
    if not can(actor, "task.reassign"):
        return []
    return [g for g in session.scalars(select(Group.id).order_by(Group.id)) if group_may(g, "task.work")]


def related(session: Session, actor: User, instance: Instance) -> Related:
    rows = list(session.scalars(select(Instance).where(Instance.related_id == instance.id)
                                .order_by(Instance.id).limit(RELATED_SHOWN)))
    case_process = definitions.latest_version(session, CASE_PROCESS)
    may_open = (instance.process_key == ORDER_PROCESS and instance.status == "completed"
                and case_process is not None and may_start(actor, case_process))
    parent = session.get(Instance, instance.related_id) if instance.related_id else None
    return Related(rows, parent, may_open)
