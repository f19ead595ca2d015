"""Processes about an order (an after-sales case) start from the order's number: the start event's
``relatedOrder`` property names the state the order must be in, and the order's facts are copied
into the new instance's data so its forms and the customer file need no second lookup."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg, status_word
from orderflow.core.models import Instance, User
from orderflow.core.platform import platform_of
from orderflow.engine import Services
from orderflow.orders.keys import ORDER_PROCESS
from orderflow.workflow import definitions, runs

# copied from the order; the order's total under its own name, so the case's value column stays the case's
COPIED = ("customer", "customer_tier", "customer_email", "contact_name", "contact_phone", "shipping_address",
          "lines")


def find_order(session: Session, order_no: str) -> Instance | None:
    return session.scalar(select(Instance).where(Instance.business_key == order_no,
                                                 Instance.process_key == ORDER_PROCESS))


def with_order_facts(session: Session, actor: User, data: dict[str, Any], state: str) -> dict[str, Any]:
    """``data`` plus the facts of the order its ``order_no`` names; refuses an unknown order or one not
    yet in ``state`` ("completed", or "any"). Whoever may start the process may read these facts: the
    after-sales desk works on orders it took no part in."""
    order_no = data.get("order_no")
    if not isinstance(order_no, str) or not order_no.strip():
        raise InvalidInput(Msg("Give the number of the order this is about."),
                           fields={"order_no": Msg("This field is required.")})
    order = find_order(session, order_no.strip())
    if order is None:
        raise InvalidInput(Msg("There is no order numbered %(order_no)s.", order_no=order_no),
                           fields={"order_no": Msg("no such order")})
    if state == "completed" and order.status != "completed":
        raise InvalidInput(Msg("Order %(order_no)s is %(status)s; only a completed order can have this started.",
                               order_no=order.business_key, status=status_word(order.status)),
                           fields={"order_no": Msg("the order is not completed")})
    facts = _data_of(session, order)
    merged = {name: facts[name] for name in COPIED if facts.get(name) not in (None, "")}
    merged.update({k: v for k, v in data.items() if v not in (None, "")})
    merged["order_no"] = order.business_key
    merged["order_instance_id"] = order.id
    if order.order_total is not None:
        merged["original_order_total"] = order.order_total
    return merged


def _data_of(session: Session, order: Instance) -> dict[str, Any]:
    """The order's data from its stored engine state (read only: nothing runs)."""
    platform = platform_of(session)
    pdef = definitions.definition(session, order.version)
    workflow = platform.runtime.load(pdef, runs.read_state(session, order),
                                     Services(config=platform.config, clock=platform.clock))
    return platform.runtime.snapshot(workflow).data
