"""Deploy-time checks of a form's rules (``rules``, ``ui.when``, ``ui.suggest``; see
``orderflow/workflow/form_rules.py``): shapes, field names and expressions, so a rule that could never be
evaluated is refused before any order meets it. Also the form's patterns (they run on RE2, which
refuses back-references and look-arounds) and the size and nesting of a form's JSON text, checked
before it is parsed: every later step (the meta-schema, the lint, the validator) recurses."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from orderflow.engine import linear_re
from orderflow.engine.expressions import ExpressionError, compile_expression

RULE_KEYS = frozenset({"field", "check", "when", "message", "message_zh"})


def form_rule_problems(schema: Mapping[str, Any]) -> Iterator[tuple[str, tuple]]:
    """(English message, path inside the form) for each problem."""
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
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
    ui = schema.get("ui")
    ui = ui if isinstance(ui, dict) else {}
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


MAX_FORM_CHARS = 200_000  # as the form editor's (orderflow/workflow/form_editor.py)
MAX_FORM_DEPTH = 32       # a real form nests a handful of levels; jsonschema recurses per level
_JSON_TOKENS = linear_re.compile(r'["\\\[\]{}]')  # one character class: linear


def json_nesting(text: str, limit: int = MAX_FORM_DEPTH) -> int:
    """The deepest ``[``/``{`` nesting of JSON ``text`` outside strings, counted without parsing;
    stops counting once past ``limit``."""
    depth = deepest = 0
    in_string = False
    skip_to = -1  # the character after a backslash inside a string is escaped
    for match in _JSON_TOKENS.finditer(text):
        at, char = match.start(), match.group()
        if at <= skip_to:
            continue
        if in_string:
            if char == "\\":
                skip_to = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        else:
            depth -= 1
    return deepest


def form_text_problem(text: str | bytes) -> str | None:
    """Why a form's JSON text is refused before parsing (too long, nested too deeply), or None."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return "is not UTF-8 text."
    if len(text) > MAX_FORM_CHARS:
        return f"is longer than {MAX_FORM_CHARS} characters."
    if json_nesting(text) > MAX_FORM_DEPTH:
        return f"is nested more than {MAX_FORM_DEPTH} levels deep; a form needs only a few."
    return None


_NOT_SCHEMA_VALUES = frozenset({"const", "enum", "default", "examples"})  # data, not schema


def _patterns(node: Any, path: tuple) -> Iterator[tuple[str, tuple]]:
    """(pattern, path) of every ``pattern`` and ``patternProperties`` key in a form's schema."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in _NOT_SCHEMA_VALUES or (not path and key in ("ui", "rules")):
                continue
            if key == "pattern" and isinstance(value, str) and path[-1:] != ("properties",):
                yield value, (*path, key)
            elif key == "patternProperties" and isinstance(value, Mapping):
                yield from ((name, (*path, key, name)) for name in value)
            if not (key == "pattern" and isinstance(value, str)):
                yield from _patterns(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _patterns(item, (*path, index))


def _field_of(path: tuple) -> str:
    """The field a place in a form belongs to: the last name under ``properties``."""
    names = [path[i + 1] for i in range(len(path) - 1) if path[i] == "properties"]
    return ".".join(map(str, names)) if names else ".".join(map(str, path[:-1])) or "(the form)"


def pattern_problems(schema: Any) -> Iterator[tuple[str, str, tuple]]:
    """(field, reason, path) of each ``pattern``/``patternProperties`` key RE2 cannot run; the
    reason follows "The pattern of field 'x' ", e.g. "cannot be used (invalid escape ...)"."""
    for pattern, path in _patterns(schema, ()):
        try:
            linear_re.compile(pattern)
        except linear_re.RegexError as exc:
            yield _field_of(path), str(exc).removeprefix("The pattern "), path


def pattern_messages(form_key: str, schema: Any) -> Iterator[str]:
    """Deploy's words for each pattern of the form RE2 cannot run."""
    for field, reason, _path in pattern_problems(schema):
        yield f"The pattern of field '{field}' in form '{form_key}' {reason}"
