"""Handlers called by the service tasks of ``processes/after_sales.bpmn`` (after-sales cases) and by
the order flow's step that schedules the satisfaction survey (``processes/satisfaction_survey.bpmn``)."""
from __future__ import annotations

import re
from typing import Any

from .orders import day_number
from .registry import handler

DEFAULT_CASE_APPROVAL_THRESHOLD = 5000
DEFAULT_SURVEY_DELAY = "P7D"
SURVEY_PROCESS = "satisfaction_survey"

# what a timer accepts as a duration: P[nY][nM][nW][nD][T[nH][nM][nS]], whole numbers, weeks alone
_DURATION = re.compile(r"P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+S)?)?")


def _is_duration(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        return False
    years, months, weeks, days = match.groups()
    return not (weeks and (years or months or days))  # the timer refuses weeks mixed with days


def _text(name: str, value: Any, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{name}' must be non-empty text (e.g. {example}), got {value!r:.80}")
    return value.strip()


@handler
def assign_case_number(ctx) -> str:
    """Give the after-sales case its unique number, e.g. AS-20261127-001.

    No parameters. The date is today's (UTC, from ctx.now()); the number is the next value of
    the per-day counter "case_no:<yyyymmdd>", zero-padded to 3 digits.
    """
    return day_number(ctx, "AS", "case_no", 3)


@handler
def load_after_sales_policy(ctx) -> dict:
    """Read the after-sales policy from the settings: the approval threshold.

    No parameters. Uses ORDERFLOW_CASE_APPROVAL_THRESHOLD (default 5000; a case whose amount is
    above it needs a sales manager's approval).
    Returns {"approval_threshold": number}.
    """
    raw = ctx.config.get("ORDERFLOW_CASE_APPROVAL_THRESHOLD", DEFAULT_CASE_APPROVAL_THRESHOLD)
    if isinstance(raw, bool):
        raise ValueError(f"ORDERFLOW_CASE_APPROVAL_THRESHOLD must be a number, got {raw!r}")
    try:
        threshold = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"ORDERFLOW_CASE_APPROVAL_THRESHOLD must be a number, got {raw!r}") from None
    if not threshold >= 0 or threshold == float("inf"):
        raise ValueError(f"ORDERFLOW_CASE_APPROVAL_THRESHOLD must be a number >= 0, got {raw!r}")
    return {"approval_threshold": int(threshold) if threshold.is_integer() else threshold}


@handler
def close_case(ctx, case_no: str, outcome: str) -> dict:
    """Close the after-sales case on the customer's file (records "case_closed").

    Parameters:
      case_no: the case number (AS-...).
      outcome: how the case ended: refunded, replaced, repaired, explained or rejected.
    Returns {"closed_at": ISO-8601 UTC time}.
    """
    case_no = _text("case_no", case_no, "AS-20261127-001")
    outcome = _text("outcome", outcome, '"refunded"')
    data = ctx.data
    closed_at = ctx.now().isoformat()
    ctx.audit("case_closed", {
        "case_no": case_no,
        "order_no": data.get("order_no"),
        "case_type": data.get("case_type"),
        "outcome": outcome,
        "customer": data.get("customer"),
        "closed_at": closed_at,
    })
    return {"closed_at": closed_at}


@handler
def schedule_survey(ctx, order_no: str) -> dict:
    """Start the customer's satisfaction survey for the order (process "satisfaction_survey").

    Parameters:
      order_no: the order number; the survey is numbered "<order_no>-S".
    The survey waits ORDERFLOW_SURVEY_DELAY (an ISO-8601 duration, default P7D) before it asks the
    customer, and gets the order's customer, customer_email, contact_name and instance id.
    Returns {"scheduled": true, "survey_no": ...}, or {"scheduled": false} when no survey process
    is deployed (recorded as "survey_skipped"; the order goes on).
    """
    order_no = _text("order_no", order_no, "SO-20261127-0001")
    delay = ctx.config.get("ORDERFLOW_SURVEY_DELAY", DEFAULT_SURVEY_DELAY)
    if not _is_duration(delay):
        raise ValueError("ORDERFLOW_SURVEY_DELAY must be an ISO-8601 duration such as P7D or PT12H, "
                         f"got {delay!r}")
    data = ctx.data
    survey_no = f"{order_no}-S"
    survey = {
        "survey_no": survey_no,
        "order_no": order_no,
        "customer": data.get("customer"),
        "contact_name": data.get("contact_name"),
        "order_instance_id": ctx.instance_id,
        "survey_delay": delay.strip(),
    }
    if data.get("customer_email"):
        survey["customer_email"] = data["customer_email"]
    survey = {name: value for name, value in survey.items() if value is not None}
    try:
        key = ctx.start_process(SURVEY_PROCESS, survey)
    except LookupError as exc:
        ctx.audit("survey_skipped", {"order_no": order_no, "reason": str(exc) or type(exc).__name__})
        return {"scheduled": False}
    return {"scheduled": True, "survey_no": key or survey_no}
