"""Handlers called by the service tasks of ``processes/order_flow.bpmn``."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .registry import handler

DEFAULT_APPROVAL_THRESHOLD = 100000
DEFAULT_DEPOSIT_RATE = 0.3
# QC: the most defects a sample of at least n units may hold and pass (acceptance numbers of
# ANSI/ASQ Z1.4, general inspection level II, single normal sampling, AQL 1.0)
QC_ACCEPTANCE = ((13, 0), (32, 1), (50, 1), (80, 2), (125, 3), (200, 5), (315, 7), (500, 10), (800, 14), (1250, 21))


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
    Returns {"approval_threshold": number, "deposit_rate": number, "qc_acceptance": [{"sample": n,
    "accept": most defects}]} (QC: acceptance numbers of ANSI/ASQ Z1.4, level II, AQL 1.0).
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
        "qc_acceptance": [{"sample": n, "accept": a} for n, a in QC_ACCEPTANCE],
    }


# what the customer is told, by kind: subject, English, Chinese ({field} reads the order's data)
CUSTOMER_MESSAGES = {
    "ship_date": ("{ref}: planned ship date / 计划出货日期",
                  "your order {ref} is scheduled: we plan to ship it on {planned_ship_date}.",
                  "您的订单 {ref} 已排产，计划出货日期为 {planned_ship_date}。"),
    "shipped": ("{ref}: shipped / 已出货",
                "your order {ref} was shipped on {shipped_date} with {carrier}, tracking number {tracking_no}.",
                "您的订单 {ref} 已于 {shipped_date} 由 {carrier} 发出，运单号 {tracking_no}。"),
    "after_sales_outcome": ("{ref}: your after-sales case / 售后处理结果",
                            "your after-sales case {ref} about order {order_no} is closed: {resolution_en}. "
                            "{resolution_reason}",
                            "您关于订单 {order_no} 的售后单 {ref} 已处理完毕：{resolution_zh}。{resolution_reason}"),
}
RESOLUTIONS = {"refund": ("refunded", "已退款"), "replace": ("replaced", "已换货"), "repair": ("repaired", "已维修"),
               "explain": ("answered", "已答复"), "reject": ("claim not accepted", "申请未受理")}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "—"


def customer_message(kind: str, data: dict) -> tuple[str, str] | None:
    """Subject and bilingual body of what the customer is told, or None for an unknown kind."""
    if kind not in CUSTOMER_MESSAGES:
        return None
    subject, english, chinese = CUSTOMER_MESSAGES[kind]
    resolution = RESOLUTIONS.get(str(data.get("resolution")), ("—", "—"))
    values = _Blank({k: v for k, v in data.items() if isinstance(v, (str, int, float)) and v != ""})
    values.update(ref=data.get("case_no") or data.get("order_no") or "—", resolution_en=resolution[0],
                  resolution_zh=resolution[1])
    values.setdefault("resolution_reason", "")
    greeting = f"Dear {data['contact_name']}," if data.get("contact_name") else "Dear customer,"
    body = f"{greeting}\n\n{english.format_map(values)}\n\n您好！\n\n{chinese.format_map(values)}\n"
    return subject.format_map(values), body


@handler
def notify_customer(ctx, kind: str, order_no: str | None = None) -> dict:
    """Tell the customer about the order: an e-mail to the order's customer_email (through the
    outbox) when it has one, and the "customer_notified" audit event either way.

    Parameters:
      kind: what the customer is told: "ship_date", "shipped" or "after_sales_outcome".
      order_no: the order number.
    Returns {"notified": true, "kind": kind, "mailed_to": address or null}.
    """
    data = ctx.data
    address = data.get("customer_email")
    message = customer_message(kind, data)
    mailed = None
    if isinstance(address, str) and "@" in address and message is not None and ctx.mail(address, *message):
        mailed = address
    ctx.audit("customer_notified", {
        "kind": kind,
        "order_no": order_no,
        "customer": data.get("customer"),
        "contact_name": data.get("contact_name"),
        "contact_phone": data.get("contact_phone"),
        "mailed_to": mailed,
    })
    return {"notified": True, "kind": kind, "mailed_to": mailed}


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
