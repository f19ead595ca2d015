"""Show-if rules as standard JSON Schema: which fields of a form apply to what has been entered.

A form says "ask this only when…" with the standard's own words, at the top level or as entries
of a top-level ``allOf``:

    "if":   {"properties": {"decision": {"const": "shortage"}}, "required": ["decision"]},
    "then": {"properties": {"shortage_items": {"type": "string", "title": "Items short"}},
             "required": ["shortage_items"]},
    "dependentSchemas":  {"carrier": {"properties": {"tracking_no": {...}}}},
    "dependentRequired": {"refund_amount": ["refund_reason"]}

A field declared only inside a branch (``then``/``else``/a ``dependentSchemas`` entry) is shown,
required and stored only while that branch applies; a field declared at the top level is always
shown, and a branch may add rules to it (``required``, ``const``…). An ``if`` is tested with
jsonschema (the draft the forms use) on the order's data with the submitted values on top: the
server is the authority. The browser mirrors it for the subset ``engine.form_checks`` lets an
``if`` use (``required`` and per-field ``const``/``enum``/bounds), to hide fields as one types.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator

CONDITION_KEYS = frozenset({"if", "then", "else", "dependentSchemas", "dependentRequired"})


def _conditionals(schema: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The schema itself when it has an ``if``, then each ``allOf`` entry that has one."""
    if isinstance(schema.get("if"), Mapping):
        yield schema
    parts = schema.get("allOf")
    for part in parts if isinstance(parts, list) else []:
        if isinstance(part, Mapping) and isinstance(part.get("if"), Mapping):
            yield part


def _entries(value: Any) -> list[tuple[str, Any]]:
    return list(value.items()) if isinstance(value, Mapping) else []


def _props(branch: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return _entries(branch.get("properties"))


def _names(branch: Mapping[str, Any]) -> list[str]:
    names = branch.get("required")
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _present(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != ""}


def _holds(test: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    return Draft202012Validator(dict(test)).is_valid(_present(data))


def branches(schema: Mapping[str, Any]) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
    """(condition for the browser, branch schema) of every branch the form has; a condition is
    ``{"if": schema, "is": true|false}`` or ``{"present": name}``."""
    found: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    for part in _conditionals(schema):
        for key, outcome in (("then", True), ("else", False)):
            if isinstance(part.get(key), Mapping):
                found.append(({"if": part["if"], "is": outcome}, part[key]))
    for name, branch in _entries(schema.get("dependentSchemas")):
        if isinstance(branch, Mapping):
            found.append(({"present": name}, branch))
    for name, names in _entries(schema.get("dependentRequired")):
        if isinstance(names, list):
            found.append(({"present": name}, {"required": names}))
    return found


def _applies(condition: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    if "present" in condition:
        return _present(data).get(condition["present"]) is not None
    return _holds(condition["if"], data) is condition["is"]


def conditional_fields(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Name -> property schema of the fields declared only inside branches."""
    top = dict(_props(schema))
    found: dict[str, dict[str, Any]] = {}
    for _condition, branch in branches(schema):
        for name, prop in _props(branch):
            if name not in top and isinstance(prop, Mapping):
                found.setdefault(name, dict(prop))
    return found


def whole(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The form with every field it may ask for in ``properties`` (for showing it)."""
    extra = conditional_fields(schema)
    if not extra:
        return dict(schema)
    form = dict(schema)
    form["properties"] = {**(schema.get("properties") or {}), **extra}
    return form


def hidden(schema: Mapping[str, Any], data: Mapping[str, Any]) -> set[str]:
    """The branch-only fields that do not apply to ``data``: not shown, not required, not stored.
    Repeated until stable: a hidden field no longer counts for another's condition."""
    conditional = set(conditional_fields(schema))
    if not conditional:
        return set()
    found = branches(schema)
    current = dict(data)
    dropped: set[str] = set()
    for _ in range(len(conditional) + 1):
        shown = {name for condition, branch in found if _applies(condition, current)
                 for name, _prop in _props(branch)}
        now = conditional - shown
        if now == dropped:
            break
        dropped = now
        current = {k: v for k, v in data.items() if k not in dropped}
    return dropped


def required_now(schema: Mapping[str, Any], data: Mapping[str, Any]) -> set[str]:
    """Field names required on ``data``: the form's own plus those of the branches that apply."""
    names = set(schema.get("required") or [])
    for condition, branch in branches(schema):
        if _applies(condition, data):
            names.update(_names(branch))
    return names


def effective(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The plain schema that holds for ``data``: the branches that apply folded in (their
    properties added or combined with the top-level ones, their ``required`` added), the
    conditions themselves gone. What the server validates a submission against."""
    form = {k: v for k, v in schema.items() if k not in CONDITION_KEYS}
    if "allOf" in form:
        rest = [p for p in form["allOf"] if not (isinstance(p, Mapping) and isinstance(p.get("if"), Mapping))]
        form.pop("allOf")
        if rest:
            form["allOf"] = rest
    props = dict(_props(schema))
    required = list(schema.get("required") or [])
    for condition, branch in branches(schema):
        if not _applies(condition, data):
            continue
        for name, prop in _props(branch):
            props[name] = {"allOf": [props[name], prop]} if name in props else prop
        required += [n for n in _names(branch) if n not in required]
        for key, value in branch.items():  # anything else a branch says holds for the whole form
            if key not in ("properties", "required"):
                form.setdefault("allOf", []).append({key: value})
    form["properties"] = props
    if required:
        form["required"] = required
    return form


def for_browser(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The conditions the page's script mirrors: each with the fields its branch shows and requires."""
    top = dict(_props(schema))
    return [{**condition, "fields": [n for n, _prop in _props(branch) if n not in top], "required": _names(branch)}
            for condition, branch in branches(schema)]


def shape(schema: Mapping[str, Any], values: Mapping[str, Any],
          facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a page needs to show a form with conditions: ``schema`` with every field, the fields
    ``hidden`` and ``required`` now (on the facts with the values on top), the names a branch may
    make required, and ``script``: the conditions and facts the page's script mirrors."""
    data = {**(facts or {}), **values}
    conditions = for_browser(schema)
    tested = {n for c in conditions for n in ([c["present"]] if "present" in c else _tested(c["if"]))}
    own = set(whole(schema).get("properties") or {}) - set((schema.get("ui") or {}).get("readonly") or [])
    return {"schema": whole(schema), "hidden": hidden(schema, data), "required": required_now(schema, data),
            "maybe": {n for c in conditions for n in c["required"]},
            "script": {"conditions": conditions,
                       "facts": {n: data[n] for n in sorted(tested - own) if n in data}} if conditions else None}


def _tested(test: Mapping[str, Any]) -> set[str]:
    return set(_names(test)) | {n for n, _rule in _props(test)}
