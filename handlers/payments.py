"""The order's payment ledger: each payment of the deposit or the balance is kept, and the order's
gateways route on what the payments add up to — not on anyone's word that the money is there."""
from __future__ import annotations

from datetime import date as _date
from datetime import datetime
from decimal import Decimal
from typing import Any

from .orders import _money, _number
from .registry import Refused, handler

PARTS = ("deposit", "balance")
SOURCES = ("finance", "bank")


def _field(part: str, source: str, name: str) -> str:
    """The field a person or a bank sees: the finance form's ``deposit_amount``, the notice's ``amount``."""
    return f"payload.{name}" if source == "bank" else f"{part}_{name}"


def _payment_date(value: Any, today: _date, field: str) -> str:
    text = str(value or "").strip()
    try:
        day = datetime.fromisoformat(text).date() if "T" in text else _date.fromisoformat(text)
    except ValueError:
        raise Refused(f"'{text[:40]}' is not a date; write it as 2026-12-31.", field,
                      f"“{text[:40]}”不是日期，请写成 2026-12-31 的格式。") from None
    if day > today:
        raise Refused(f"A payment cannot be dated in the future ({day.isoformat()} is after today, "
                      f"{today.isoformat()}).", field,
                      f"付款日期不能晚于今天（{day.isoformat()} 晚于 {today.isoformat()}）。")
    return day.isoformat()


def _is_decimal(text: str) -> bool:
    try:
        return Decimal(text.strip()).is_finite()
    except ArithmeticError:
        return False


@handler
def record_payment(ctx, part: str, amount: Any, expected: Any, payments: Any = None, payer: Any = None,
                   date: Any = None, kind: Any = None, source: str = "finance", reference: Any = None) -> dict:
    """Add one payment of the deposit or the balance to the order's ledger and total it up.

    Parameters:
      part: "deposit" or "balance".
      amount: this payment (a number > 0; 0 from finance records nothing, e.g. a shortfall with no
        money in yet).
      expected: what is due for this part.
      payments: the ledger so far (the order's <part>_payments list; empty at first).
      payer, date (ISO date, not in the future), kind (tt, lc, bank_acceptance): the payment's facts.
      source: "finance" (the finance form) or "bank" (a bank notice).
      reference: the bank's reference; a notice already recorded is refused as a duplicate.
    Returns {<part>_payments, <part>_received, <part>_outstanding, <part>_overpaid, <part>_paid}:
    the ledger, the sum received, what is still due, what was paid beyond it, and whether the sum
    covers what is due. Refuses (nothing is stored) an amount that is not a positive number, a date
    in the future and a duplicate bank notice.
    """
    if part not in PARTS or source not in SOURCES:
        raise ValueError(f"record_payment: part must be one of {PARTS} and source one of {SOURCES}")
    due = _number(expected)
    if due is None or due < 0:
        raise ValueError(f"record_payment: the {part} due is not a number >= 0: {expected!r:.40}")
    ledger = list(payments or [])
    paid = _number(Decimal(amount.strip()) if isinstance(amount, str) and _is_decimal(amount) else amount)
    if paid is None or paid < 0 or (paid == 0 and source == "bank"):
        raise Refused("The amount must be a number above 0.", _field(part, source, "amount"),
                      "金额必须是大于 0 的数字。")
    if paid > 0:
        ref = str(reference).strip()[:100] if reference not in (None, "") else None
        if ref and any(p.get("reference") == ref for p in ledger if isinstance(p, dict)):
            raise Refused(f"The payment with reference '{ref}' is already recorded.",
                          _field(part, source, "reference"), f"参考号为“{ref}”的付款已登记过。")
        if source == "finance" and not str(payer or "").strip():
            raise Refused("Name who paid.", _field(part, source, "payer"), "请填写付款人。")
        ledger.append({
            "amount": _money(paid), "payer": str(payer or "").strip()[:200] or None,
            "date": _payment_date(date, ctx.now().date(), _field(part, source, "date")),
            "kind": str(kind)[:40] if kind else None, "source": source, "reference": ref,
            "recorded_at": ctx.now().isoformat(),
        })
    received = sum((Decimal(str(p.get("amount", 0))) for p in ledger if isinstance(p, dict)), Decimal(0))
    return {
        f"{part}_payments": ledger,
        f"{part}_received": _money(received),
        f"{part}_outstanding": _money(max(due - received, Decimal(0))),
        f"{part}_overpaid": _money(max(received - due, Decimal(0))),
        f"{part}_paid": received >= due,
    }
