"""The order business on the workflow platform: what it answers when the platform asks
(``orderflow.core.hooks``). The app factory installs ``HOOKS``."""
from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from orderflow.core.hooks import Hooks
from orderflow.core.models import Instance
from orderflow.orders import analytics, related_order

# the first present names the instance; a case or survey also carries its order's order_no
BUSINESS_KEY_FIELDS = ("case_no", "survey_no", "order_no", "business_key")

# What a release signature covers: the sales list's facts as the order data names them (the sums of
# the payment ledger, not one payment). Absent fields are signed as null, so one added later changes
# the hash too. A signature is verified against the fields it lists itself, so changing this list
# leaves earlier signatures valid.
SALES_LIST_FIELDS = (
    "order_no", "customer", "sales_list_no", "lines", "order_total", "deposit_received", "balance_received",
    "balance_outstanding", "payment_terms", "promised_date", "quantity_in", "shipping_address", "contact_name",
    "contact_phone",
    "sales_list_file", "sales_list_notes",
)


def project_order_columns(instance: Instance, data: Mapping[str, Any]) -> None:
    """The order's columns the lists, the board and the analytics query."""
    for name in BUSINESS_KEY_FIELDS:
        if isinstance(data.get(name), str) and data[name]:
            instance.business_key = data[name]
            break
    if isinstance(data.get("customer"), str):
        instance.customer = data["customer"][:200]
    if isinstance(data.get("order_total"), (int, float)) and not isinstance(data.get("order_total"), bool):
        instance.order_total = float(data["order_total"])
    if isinstance(data.get("promised_date"), str):
        with contextlib.suppress(ValueError):
            instance.promised_date = date.fromisoformat(data["promised_date"])
    if isinstance(data.get("outcome"), str):
        instance.outcome = data["outcome"][:40]
    if isinstance(data.get("case_type"), str):
        instance.category = data["case_type"][:40]
    related = data.get("order_instance_id")
    if isinstance(related, int) and not isinstance(related, bool) and related != instance.id and 0 < related < 2**31:
        instance.related_id = related


HOOKS = Hooks(
    start_data=related_order.with_order_facts,
    project=project_order_columns,
    roll_up=analytics.catch_up,
    signed_fields=SALES_LIST_FIELDS,
    link_header=("order_no", "case_no", "customer"),
    link_reference=("case_no", "order_no"),
    link_addressee=("contact_name",),
)
