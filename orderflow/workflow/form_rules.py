"""A form's rules about the data: which fields apply to this order, what to suggest, what must hold.

JSON Schema checks one value at a time; the company's rules are about several at once and about
the order's facts ("confirmed" only when the payments add up to what is due, no payment dated in
the future, the L/C copy only for L/C orders). A form says them in the service's safe expression
language (``orderflow.engine.expressions``), over the order's data with the submitted values on
top; a name that is in neither reads as ``None``:

    "ui": {"when":    {"archived_lc_copy": "payment_terms == 'lc'"},        # asked only then
           "suggest": {"deposit_amount": "deposit_outstanding"}},           # pre-filled with it
    "rules": [{"field": "deposit_date", "check": "deposit_date <= today()",
               "when": "deposit_amount", "message": "…", "message_zh": "…"}]

A rule holds when its ``when`` is false or its ``check`` is true; a rule that cannot be
evaluated does not hold (a rule never passes by accident). ``today()`` and ``now()`` read the
service's clock. Expressions are checked at deploy (``engine.form_checks``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from orderflow.core.i18n import Msg, Texts
from orderflow.engine import ExpressionError, engine_clock, evaluate
from orderflow.engine.json_clean import copy_json

Clock = Callable[[], datetime]


class _Names(dict):
    """Order data for a rule: a field nobody filled in yet reads as None instead of failing."""

    def __missing__(self, key: str) -> None:
        return None


def _value(expression: str, names: Mapping[str, Any], clock: Clock | None) -> Any:
    if clock is None:
        return evaluate(expression, _Names(names))
    with engine_clock(clock):
        return evaluate(expression, _Names(names))


def _holds(expression: str, names: Mapping[str, Any], clock: Clock | None) -> bool | None:
    """True/False, or None when the expression cannot be evaluated on this data."""
    try:
        return bool(_value(expression, names, clock))
    except ExpressionError:
        return None


def applicable(schema: Mapping[str, Any], data: Mapping[str, Any], clock: Clock | None = None) -> dict[str, Any]:
    """The form as this order sees it: fields whose ``ui.when`` is false are left out (not shown,
    not required, not accepted). A condition that cannot be evaluated keeps its field."""
    when = (schema.get("ui") or {}).get("when") or {}
    dropped = {name for name, expression in when.items()
               if isinstance(expression, str) and _holds(expression, data, clock) is False}
    if not dropped:
        return dict(schema)
    form = copy_json(dict(schema))
    for name in dropped:
        form.get("properties", {}).pop(name, None)
    if "required" in form:
        form["required"] = [n for n in form["required"] if n not in dropped]
    ui = form.get("ui") or {}
    for key in ("order", "readonly"):
        if key in ui:
            ui[key] = [n for n in ui[key] if n not in dropped]
    if "rules" in form:
        form["rules"] = [r for r in form["rules"] if not (isinstance(r, dict) and r.get("field") in dropped)]
    return form


def suggestions(schema: Mapping[str, Any], data: Mapping[str, Any], clock: Clock | None = None) -> dict[str, Any]:
    """Values the form proposes from the order's data (``ui.suggest``), e.g. the amount still due."""
    found = {}
    for name, expression in ((schema.get("ui") or {}).get("suggest") or {}).items():
        if not isinstance(expression, str):
            continue
        try:
            value = _value(expression, data, clock)
        except ExpressionError:
            continue
        if value is not None:
            found[name] = value
    return found


def broken(schema: Mapping[str, Any], values: Mapping[str, Any], known: Mapping[str, Any],
           clock: Clock | None = None) -> dict[str, str]:
    """Field -> message for every rule that does not hold on the order's data plus ``values``."""
    names = {**known, **{k: None for k in schema.get("properties", {}) if k not in values}, **values}
    errors: dict[str, str] = {}
    for rule in schema.get("rules") or []:
        if not isinstance(rule, dict) or not isinstance(rule.get("check"), str):
            continue
        when = rule.get("when")
        if isinstance(when, str) and _holds(when, names, clock) is False:
            continue
        if _holds(rule["check"], names, clock) is not True:
            field = str(rule.get("field") or "_form")
            errors.setdefault(field, _message(rule))
    return errors


def _message(rule: Mapping[str, Any]) -> str:
    text = rule.get("message")
    if isinstance(text, str) and text:
        return Texts(text, zh=rule.get("message_zh") or "")
    return Msg("This value does not meet the rule '%(rule)s'.", rule=rule.get("check"))
