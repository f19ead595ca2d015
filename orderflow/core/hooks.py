"""Where a business built on the workflow platform plugs in.

The platform (``orderflow/workflow/``) runs any diagram and knows no order; what it must ask the
business it asks through these hooks, which the app factory fills from ``orderflow/orders/plug.py``.
The defaults are what a platform with no business on top does.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: the models import nothing of this module
    from sqlalchemy.orm import Session

    from orderflow.core.models import HumanTask, Instance, User


def _business_key(instance: Instance, data: Mapping[str, Any]) -> None:
    key = data.get("business_key")
    if isinstance(key, str) and key:
        instance.business_key = key


@dataclass(frozen=True)
class Hooks:
    # the data a start carries, completed before the engine sees it (a start event's ``relatedOrder``
    # property names what the business looks up); raises InvalidInput naming the field
    start_data: Callable[[Session, User, dict[str, Any], str], dict[str, Any]] = \
        lambda session, actor, data, related: data
    # the instance's queryable columns (business key, customer, value, ...) from its data, after every step
    project: Callable[[Instance, Mapping[str, Any]], None] = _business_key
    # a person's (or customer's) step was completed, in the same transaction
    task_completed: Callable[[Session, HumanTask], None] = lambda session, task: None
    # the business's roll-up of completed steps, out of the steps' requests: a completed task is marked
    # ``rollup_pending`` when this is set, and each scheduler sweep calls it (its own transaction) to
    # count what is pending; returns how many it counted
    roll_up: Callable[[Session], int] | None = None
    # the data fields a release signature covers
    signed_fields: tuple[str, ...] = ("business_key",)
    # the facts a customer's link page shows above the form, and the fields that name the instance in
    # the customer's mail (the first present; else the instance's business key)
    link_header: tuple[str, ...] = ()
    link_reference: tuple[str, ...] = ()
    link_addressee: tuple[str, ...] = ()   # the fields naming whom the customer's mail greets
