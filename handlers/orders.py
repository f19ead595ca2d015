"""Handlers called by the service tasks of ``processes/order_flow.bpmn``."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation, ROUND_HALF_UP
from typing import Any

from .registry import handler

DEFAULT_APPROVAL_THRESHOLD = 100000
DEFAULT_DEPOSIT_RATE = 0.3


def _number(value: Any) -> Decimal | None:
    """Return ``value`` as a Decimal if it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _money(value: Decimal) -> float:
    """Round to cents, half up, and return a float for JSON."""
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@handler
def assign_order_number(ctx) -> str:
    """Give the order its unique number, e.g. SO-20261127-0001.

    No parameters. The date is today's (UTC, from ctx.now()); the number is the next value of
    the per-day counter "order_no:<yyyymmdd>", zero-padded to 4 digits.
    """
    return day_number(ctx, "SO", "order_no", 4)


def day_number(ctx, prefix: str, counter: str, digits: int) -> str:
    """``<prefix>-<yyyymmdd>-<n>``: n is the next value of the day's counter ``<counter>:<yyyymmdd>``."""
    day = ctx.now().strftime("%Y%m%d")
    sequence = ctx.next_sequence(f"{counter}:{day}")
    return f"{prefix}-{day}-{int(sequence):0{digits}d}"


@handler
def price_order(ctx, lines: Any) -> dict:
    """Price the order lines: total = sum of quantity x unit_price, rounded to 2 decimals.

    Parameters:
      lines: list of {product, spec, quantity (integer >= 1), unit_price (number >= 0)}.
    Returns {"order_total": float, "line_count": int}. Raises ValueError naming the first
    malformed line.
    """
    if not isinstance(lines, list) or not lines:
        raise ValueError("price_order needs 'lines': a non-empty list of order lines, "
                         f"got {type(lines).__name__} {lines!r:.80}")
    total = Decimal(0)
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            raise ValueError(f"order line {number} must be an object with product, quantity and "
                             f"unit_price, got {line!r:.80}")
        product = line.get("product")
        if not isinstance(product, str) or not product.strip():
            raise ValueError(f"order line {number}: 'product' is missing or empty")
        quantity = line.get("quantity")
        if isinstance(quantity, float) and quantity.is_integer():
            quantity = int(quantity)  # JSON Schema's "integer" accepts 5.0
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"order line {number} ({product}): 'quantity' must be a whole number "
                             f">= 1, got {quantity!r}")
        unit_price = _number(line.get("unit_price"))
        if unit_price is None or unit_price < 0:
            raise ValueError(f"order line {number} ({product}): 'unit_price' must be a number "
                             f">= 0, got {line.get('unit_price')!r}")
        total += quantity * unit_price
    return {"order_total": _money(total), "line_count": len(lines)}


@handler
def load_order_policy(ctx) -> dict:
    """Read the order policy from the settings: approval threshold and deposit rate.

    No parameters. Uses ORDERFLOW_APPROVAL_THRESHOLD (default 100000; orders above it need a
    vp's approval) and ORDERFLOW_DEPOSIT_RATE (default 0.3, a fraction between 0 and 1).
    Returns {"approval_threshold": number, "deposit_rate": number}.
    """
    raw_threshold = ctx.config.get("ORDERFLOW_APPROVAL_THRESHOLD", DEFAULT_APPROVAL_THRESHOLD)
    raw_rate = ctx.config.get("ORDERFLOW_DEPOSIT_RATE", DEFAULT_DEPOSIT_RATE)
    try:
        threshold = float(raw_threshold)
        rate = float(raw_rate)
    except (TypeError, ValueError):
        raise ValueError("ORDERFLOW_APPROVAL_THRESHOLD and ORDERFLOW_DEPOSIT_RATE must be numbers, "
                         f"got {raw_threshold!r} and {raw_rate!r}") from None
    if not threshold >= 0:
        raise ValueError(f"ORDERFLOW_APPROVAL_THRESHOLD must be >= 0, got {raw_threshold!r}")
    if not 0 <= rate <= 1:
        raise ValueError(f"ORDERFLOW_DEPOSIT_RATE must be a fraction between 0 and 1 "
                         f"(0.3 = 30 %), got {raw_rate!r}")
    return {
        "approval_threshold": int(threshold) if threshold.is_integer() else threshold,
        "deposit_rate": rate,
    }


@handler
def notify_customer(ctx, kind: str, order_no: str | None = None) -> dict:
    """Tell the customer about the order (records the "customer_notified" audit event).

    Parameters:
      kind: what the customer is told, e.g. "ship_date" or "shipped".
      order_no: the order number.
    Returns {"notified": true, "kind": kind}.
    """
    data = ctx.data
    ctx.audit("customer_notified", {
        "kind": kind,
        "order_no": order_no,
        "customer": data.get("customer"),
        "contact_name": data.get("contact_name"),
        "contact_phone": data.get("contact_phone"),
    })
    return {"notified": True, "kind": kind}


@handler
def escalate_overdue(ctx, step: str) -> dict:
    """Escalate an overdue step to its group's manager (records "sla_breached").

    Parameters:
      step: the id of the user task whose time limit has passed.
    Returns {"escalated": step}.
    """
    ctx.audit("sla_breached", {
        "step": step,
        "order_no": ctx.data.get("order_no"),
        "at": ctx.now().isoformat(),
    })
    return {"escalated": step}


@handler
def archive_order(ctx, order_no: str | None = None) -> dict:
    """Mark the order's documents archived (records "order_archived").

    Parameters:
      order_no: the order number.
    Returns {"archived_at": ISO-8601 UTC time}.
    """
    archived_at = ctx.now().isoformat()
    ctx.audit("order_archived", {"order_no": order_no, "archived_at": archived_at})
    return {"archived_at": archived_at}
