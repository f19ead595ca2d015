"""Deploy-time checks of a form's rules (``rules``, ``ui.when``, ``ui.suggest``; see
``orderflow/workflow/form_rules.py``): shapes, field names and expressions, so a rule that could never be
evaluated is refused before any order meets it. Also the form's patterns (they run on RE2, which
refuses back-references and look-arounds) and the size and nesting of a form's JSON text, checked
before it is parsed: every later step (the meta-schema, the lint, the validator) recurses."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from orderflow.core.i18n import Msg
from orderflow.engine import linear_re
from orderflow.engine.expressions import ExpressionError, compile_expression

RULE_KEYS = frozenset({"field", "check", "when", "message", "message_zh"})
# what an ``if`` may test: the browser hides fields as one types by mirroring exactly these
IF_KEYS = frozenset({"properties", "required"})
IF_TESTS = frozenset({"const", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
BRANCH_KEYS = frozenset({"properties", "required", "description", "description_zh"})


def form_fields(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Every field a form may ask for: its ``properties`` and those declared only inside a
    condition's branch (``then``/``else``, ``dependentSchemas``)."""
    props = schema.get("properties")
    found = dict(props) if isinstance(props, dict) else {}
    for _path, branch in _branches(schema):
        branch_props = branch.get("properties")
        for name, prop in branch_props.items() if isinstance(branch_props, dict) else ():
            found.setdefault(name, prop)
    return found


def _ifs(schema: Mapping[str, Any]) -> Iterator[tuple[tuple, Mapping[str, Any]]]:
    if any(key in schema for key in ("if", "then", "else")):
        yield (), schema
    parts = schema.get("allOf")
    for index, part in enumerate(parts if isinstance(parts, list) else []):
        if isinstance(part, dict) and any(key in part for key in ("if", "then", "else")):
            yield ("allOf", index), part


def _branches(schema: Mapping[str, Any]) -> Iterator[tuple[tuple, Mapping[str, Any]]]:
    for path, part in _ifs(schema):
        for key in ("then", "else"):
            if isinstance(part.get(key), dict):
                yield (*path, key), part[key]
    dependent = schema.get("dependentSchemas")
    for name, branch in (dependent.items() if isinstance(dependent, dict) else ()):
        if isinstance(branch, dict):
            yield ("dependentSchemas", name), branch


def condition_problems(schema: Mapping[str, Any]) -> Iterator[tuple[str, tuple]]:
    """Show-if conditions (``if``/``then``/``else``, ``dependentSchemas``, ``dependentRequired``)
    the service cannot show and check alike: each names the field concerned."""
    fields = form_fields(schema)
    for path, part in _ifs(schema):
        test = part.get("if")
        if not isinstance(test, dict):
            yield Msg('"then"/"else" need an "if": an object saying when they apply.'), (*path, "if")
            continue
        yield from _if_problems(test, fields, (*path, "if"))
        if "then" not in part and "else" not in part:
            yield Msg('"if" needs a "then" or an "else" saying what applies.'), (*path, "if")
        for key in ("then", "else"):
            if key in part and not isinstance(part[key], dict):
                yield Msg('"%(key)s" must be an object (properties, required).', key=key), (*path, key)
    for path, branch in _branches(schema):
        yield from _branch_problems(branch, fields, path)
    dependent = schema.get("dependentSchemas")
    if dependent is not None and not isinstance(dependent, dict):
        yield (Msg('"dependentSchemas" must map a field name to what applies once it is filled in.'),
               ("dependentSchemas",))
    for name in (dependent if isinstance(dependent, dict) else {}):
        if name not in fields:
            yield (Msg("dependentSchemas names the field '%(name)s', which the form does not have.", name=name),
                   ("dependentSchemas", name))
    needs = schema.get("dependentRequired")
    if needs is not None and not isinstance(needs, dict):
        yield (Msg('"dependentRequired" must map a field name to the fields it makes required.'),
               ("dependentRequired",))
    for name, names in (needs.items() if isinstance(needs, dict) else ()):
        if name not in fields:
            yield (Msg("dependentRequired names the field '%(name)s', which the form does not have.", name=name),
                   ("dependentRequired", name))
        if not isinstance(names, list) or any(n not in fields for n in names):
            yield (Msg("dependentRequired of field '%(name)s' must list fields of the form, not %(value)s.",
                       name=name, value=str(names)[:80]), ("dependentRequired", name))


def _if_problems(test: Mapping[str, Any], fields: Mapping[str, Any], path: tuple) -> Iterator[tuple[str, tuple]]:
    for key in sorted(set(test) - IF_KEYS):
        yield (Msg("A condition may test only 'properties' and 'required' (so the page can follow it), "
                   "not '%(key)s'.", key=key), (*path, key))
    required = test.get("required", [])
    if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
        yield Msg("The condition's 'required' must list field names."), (*path, "required")
    props = test.get("properties", {})
    if not isinstance(props, dict):
        yield Msg("The condition's 'properties' must map field names to tests."), (*path, "properties")
        return
    for name, rule in props.items():
        if not isinstance(rule, dict) or not rule:
            yield (Msg("The condition on field '%(name)s' must be an object such as {\"const\": \"yes\"}.",
                       name=name), (*path, "properties", name))
            continue
        for key in sorted(set(rule) - IF_TESTS):
            yield (Msg("The condition on field '%(name)s' may use const, enum, minimum, maximum, exclusiveMinimum "
                       "or exclusiveMaximum, not '%(key)s'.", name=name, key=key), (*path, "properties", name, key))
        if "enum" in rule and not isinstance(rule["enum"], list):
            yield (Msg("The condition on field '%(name)s': enum must be a list.", name=name),
                   (*path, "properties", name, "enum"))
        if name in fields and name not in required and "const" in rule:
            yield (Msg("The condition on field '%(name)s' holds while the field is empty too: add '%(name)s' "
                       "to the condition's required.", name=name), (*path, "required"))


def _branch_problems(branch: Mapping[str, Any], fields: Mapping[str, Any], path: tuple) -> Iterator[tuple[str, tuple]]:
    for key in sorted(set(branch) - BRANCH_KEYS):
        yield (Msg("What a condition makes apply may say only properties and required, not '%(key)s' "
                   "(one level of conditions).", key=key), (*path, key))
    props = branch.get("properties", {})
    if not isinstance(props, dict):
        yield Msg("The branch's 'properties' must map field names to fields."), (*path, "properties")
    for name, prop in (props.items() if isinstance(props, dict) else ()):
        if not isinstance(prop, dict):
            yield (Msg("The field '%(name)s' in a condition's branch must be an object.", name=name),
                   (*path, "properties", name))
    required = branch.get("required", [])
    for name in required if isinstance(required, list) else [required]:
        if not isinstance(name, str) or name not in fields:
            yield (Msg("The condition makes the field '%(name)s' required, which the form does not have.",
                       name=str(name)), (*path, "required"))


def form_rule_problems(schema: Mapping[str, Any]) -> Iterator[tuple[str, tuple]]:
    """(message, path inside the form) for each problem (rules, ui.when/suggest, show-if); each
    message a ``Msg``, so it reads in the owner's language."""
    yield from condition_problems(schema)
    yield from _rule_problems(schema)


def _rule_problems(schema: Mapping[str, Any]) -> Iterator[tuple[str, tuple]]:
    props = form_fields(schema)
    rules = schema.get("rules")
    if rules is not None and not isinstance(rules, list):
        yield Msg('"rules" must be a list of {field, check, when, message, message_zh}.'), ("rules",)
        rules = []
    for index, rule in enumerate(rules or []):
        path = ("rules", index)
        if not isinstance(rule, dict):
            yield Msg("A rule must be an object {field, check, when, message, message_zh}."), path
            continue
        unknown = sorted(set(rule) - RULE_KEYS)
        if unknown:
            yield (Msg("A rule has no setting '%(key)s'; use field, check, when, message, message_zh.",
                       key=unknown[0]), path)
        if rule.get("field") not in props:
            yield (Msg("The rule names the field '%(name)s', which the form does not have.",
                       name=str(rule.get("field"))), (*path, "field"))
        if not isinstance(rule.get("check"), str):
            yield Msg("A rule needs 'check': an expression that must be true."), (*path, "check")
        for key in ("check", "when"):
            yield from _expression(rule.get(key), (*path, key))
        for key in ("message", "message_zh"):
            if key in rule and not isinstance(rule[key], str):
                yield Msg("The rule's %(key)s must be text.", key=key), (*path, key)
    ui = schema.get("ui")
    ui = ui if isinstance(ui, dict) else {}
    for section in ("when", "suggest"):
        entries = ui.get(section)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            yield Msg("ui.%(section)s must map field names to expressions.", section=section), ("ui", section)
            continue
        for name, expression in entries.items():
            if name not in props:
                yield (Msg("ui.%(section)s names the field '%(name)s', which the form does not have.",
                           section=section, name=name), ("ui", section, name))
            elif not isinstance(expression, str):
                yield (Msg("ui.%(section)s.%(name)s must be an expression (text).", section=section, name=name),
                       ("ui", section, name))
            else:
                yield from _expression(expression, ("ui", section, name))


def _expression(expression: Any, path: tuple) -> Iterator[tuple[str, tuple]]:
    if expression is None or not isinstance(expression, str):
        return
    try:
        compile_expression(expression)
    except ExpressionError as exc:
        yield (Msg("The expression '%(expression)s' cannot be used: %(reason)s",
                   expression=expression[:80], reason=exc.message), path)


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


def form_text_problem(text: str | bytes) -> Msg | None:
    """Why a form's JSON text is refused before parsing (too long, nested too deeply), or None;
    the reason follows "The form 'x' "."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return Msg("is not UTF-8 text.")
    if len(text) > MAX_FORM_CHARS:
        return Msg("is longer than %(most)s characters.", most=MAX_FORM_CHARS)
    if json_nesting(text) > MAX_FORM_DEPTH:
        return Msg("is nested more than %(most)s levels deep; a form needs only a few.", most=MAX_FORM_DEPTH)
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
    return ".".join(map(str, names)) if names else ".".join(map(str, path[:-1])) or Msg("(the form)")


def pattern_problems(schema: Any) -> Iterator[tuple[str, str, tuple]]:
    """(field, reason, path) of each ``pattern``/``patternProperties`` key RE2 cannot run; the
    reason follows "The pattern of field 'x' ", e.g. "cannot be used (invalid escape ...)"."""
    for pattern, path in _patterns(schema, ()):
        try:
            linear_re.compile(pattern)
        except linear_re.RegexError as exc:
            yield _field_of(path), _pattern_reason(str(exc).removeprefix("The pattern ")), path


def _pattern_reason(reason: str) -> str:
    """linear_re's refusal (after "The pattern ") as a ``Msg`` of the same English text, so it
    translates; RE2's own words inside it stay as they are. Any other text is passed on unchanged."""
    start, end = "cannot be used (", "); back-references and look-arounds are not supported."
    if reason.startswith(start) and reason.endswith(end) and len(reason) >= len(start) + len(end):
        return Msg("cannot be used (%(reason)s); back-references and look-arounds are not supported.",
                   reason=reason[len(start):len(reason) - len(end)])
    start, end = "is longer than ", " characters."
    if reason.startswith(start) and reason.endswith(end) and len(reason) >= len(start) + len(end):
        return Msg("is longer than %(most)s characters.", most=reason[len(start):len(reason) - len(end)])
    return reason


def pattern_messages(form_key: str, schema: Any) -> Iterator[str]:
    """Deploy's words for each pattern of the form RE2 cannot run."""
    for field, reason, _path in pattern_problems(schema):
        yield Msg("The pattern of field '%(field)s' in form '%(form)s' %(reason)s",
                  field=field, form=form_key, reason=reason)
