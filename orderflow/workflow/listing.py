"""Which instances a person may list, narrowed by the filters the orders page and the API offer:
one query for both, so the page and ``GET /api/v1/instances`` never disagree on who sees what."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, select

from orderflow.access.permissions import visible_orders
from orderflow.core import keyset
from orderflow.core.models import HumanTask, Instance, User


@dataclass(frozen=True)
class InstanceFilter:
    text: str = ""                     # part of the order number or the customer; % and _ match themselves
    process: str | None = None
    status: str | None = None
    business_key: str | None = None
    element: str | None = None         # waiting at this element
    due_before: datetime | None = None  # waiting on a task due before this time (overdue: now)


def instances_query(actor: User, f: InstanceFilter) -> Select[Instance]:
    """The instances ``actor`` may open that match ``f``, newest first."""
    query = select(Instance).where(visible_orders(actor))
    if f.text.strip():
        term = f.text.strip()
        query = query.where(Instance.business_key.contains(term, autoescape=True)
                            | Instance.customer.contains(term, autoescape=True))
    if f.process:
        query = query.where(Instance.process_key == f.process)
    if f.status:
        query = query.where(Instance.status == f.status)
    if f.business_key:
        query = query.where(Instance.business_key == f.business_key)
    waiting = exists().where(HumanTask.instance_id == Instance.id, HumanTask.status == "ready")
    if f.element:
        query = query.where(waiting.where(HumanTask.element_id == f.element))
    if f.due_before is not None:
        query = query.where(waiting.where(HumanTask.due_at < f.due_before))
    return keyset.ordered(query, keyset.Key(Instance.id, descending=True))
