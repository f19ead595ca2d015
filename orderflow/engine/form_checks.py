"""Deploy-time checks of a form's rules (``rules``, ``ui.when``, ``ui.suggest``; see
``orderflow/form_rules.py``): shapes, field names and expressions, so a rule that could never be
evaluated is refused before any order meets it."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from .expressions import ExpressionError, compile_expression

RULE_KEYS = frozenset({"field", "check", "when", "message", "message_zh"})


def form_rule_problems(schema: Mapping[str, Any]) -> Iterator[tuple[str, tuple]]:
    """(English message, path inside the form) for each problem."""
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    rules = schema.get("rules")
    if rules is not None and not isinstance(rules, list):
        yield '"rules" must be a list of {field, check, when, message, message_zh}.', ("rules",)
        rules = []
    for index, rule in enumerate(rules or []):
        path = ("rules", index)
        if not isinstance(rule, dict):
            yield "A rule must be an object {field, check, when, message, message_zh}.", path
            continue
        unknown = sorted(set(rule) - RULE_KEYS)
        if unknown:
            yield f"A rule has no setting '{unknown[0]}'; use field, check, when, message, message_zh.", path
        if rule.get("field") not in props:
            yield f"The rule names the field '{rule.get('field')}', which the form does not have.", (*path, "field")
        if not isinstance(rule.get("check"), str):
            yield "A rule needs 'check': an expression that must be true.", (*path, "check")
        for key in ("check", "when"):
            yield from _expression(rule.get(key), (*path, key))
        for key in ("message", "message_zh"):
            if key in rule and not isinstance(rule[key], str):
                yield f"The rule's {key} must be text.", (*path, key)
    ui = schema.get("ui") if isinstance(schema.get("ui"), dict) else {}
    for section in ("when", "suggest"):
        entries = ui.get(section)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            yield f"ui.{section} must map field names to expressions.", ("ui", section)
            continue
        for name, expression in entries.items():
            if name not in props:
                yield f"ui.{section} names the field '{name}', which the form does not have.", ("ui", section, name)
            elif not isinstance(expression, str):
                yield f"ui.{section}.{name} must be an expression (text).", ("ui", section, name)
            else:
                yield from _expression(expression, ("ui", section, name))


def _expression(expression: Any, path: tuple) -> Iterator[tuple[str, tuple]]:
    if expression is None or not isinstance(expression, str):
        return
    try:
        compile_expression(expression)
    except ExpressionError as exc:
        yield f"The expression '{expression[:80]}' cannot be used: {exc.message}", path
