"""JSON-Schema forms: pre-fill from order data, coerce posted strings, validate with
per-field messages a person understands."""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg, either
from orderflow.engine import json_clean
from orderflow.engine.form_refs import Unresolvable, safe_validator
from orderflow.workflow import form_conditions, form_rules
from orderflow.workflow.form_rules import Clock

NEVER_PREFILLED = frozenset({"decision", "comment"})
# the longest text any field takes: what a person types, not a payload copied into every later task
MAX_TEXT_CHARS = 10_000
# rows any list of a submission may hold (a form's own maxItems may be lower): checked before the
# schema runs, whose cost grows with every row and which the engine then copies into every task
MAX_ROWS = 500
# characters plus elements of one whole submission: what people type, far below a request's size
MAX_SUBMISSION_WEIGHT = 200_000
_FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


def fields(schema: Mapping[str, Any]) -> list[tuple[str, dict]]:
    """(name, property schema) in the form's display order, with the fields only a condition's
    branch declares (``form_conditions``)."""
    props = form_conditions.whole(schema).get("properties", {})
    order = list((schema.get("ui") or {}).get("order") or [])
    names = [n for n in order if n in props] + [n for n in props if n not in order]
    return [(n, props[n]) for n in names]


def readonly(schema: Mapping[str, Any]) -> set[str]:
    return set((schema.get("ui") or {}).get("readonly") or [])


def step_record(schema: Mapping[str, Any], data: Mapping[str, Any], limit: int = 8) -> list[tuple[str, dict, Any]]:
    """What a completed step decided: (name, property schema, value) of the fields its form asked
    (not the facts it showed read-only), as submitted, in the form's order; empty ones left out."""
    shown = readonly(schema)
    return [(name, prop, data[name]) for name, prop in fields(schema)
            if name not in shown and data.get(name) not in (None, "", [], {})][:limit]


def prefill(schema: Mapping[str, Any], data: Mapping[str, Any], clock: Clock | None = None) -> dict[str, Any]:
    """Values the form shows before anyone types: what the form suggests from the order's data
    (``ui.suggest``), else the order's data, else the schema default."""
    values: dict[str, Any] = {}
    suggested = form_rules.suggestions(schema, data, clock)
    for name, prop in fields(schema):
        if name in suggested:
            values[name] = suggested[name]
        elif name in data and name not in NEVER_PREFILLED and data[name] is not None:
            values[name] = data[name]
        elif "default" in prop:
            values[name] = prop["default"]
    return values


_KIND_NAMES = {"number": Msg("a number"), "integer": Msg("a whole number"), "string": Msg("text"),
               "boolean": Msg("yes or no"), "array": Msg("a list"), "object": Msg("a set of fields")}


def _message(error: jsonschema.ValidationError) -> str:
    """A field message as a ``Msg`` (English str; the web edge shows it in the user's language)."""
    v, value = error.validator, error.validator_value
    if v == "required":
        return Msg("This field is required.")
    if v == "enum":
        return Msg("Choose one of: %(choices)s.", choices=", ".join(str(x) for x in value))
    if v == "type":
        kinds = value if isinstance(value, list) else [value]
        names = [_KIND_NAMES.get(k, k) for k in kinds]
        choice = names[0]
        for name in names[1:]:
            choice = either(choice, name)
        return Msg("Enter %(kind)s.", kind=choice)
    if v == "minimum":
        return Msg("Must be at least %(value)s.", value=value)
    if v == "maximum":
        return Msg("Must be at most %(value)s.", value=value)
    if v == "exclusiveMinimum":
        return Msg("Must be more than %(value)s.", value=value)
    if v == "exclusiveMaximum":
        return Msg("Must be less than %(value)s.", value=value)
    if v == "pattern":
        return Msg("This is not in the form the field asks for; see its hint.")
    if v == "minLength":
        return Msg("This field is required.") if value == 1 else \
            Msg("Enter at least %(count)s characters.", count=value)
    if v == "maxLength":
        return Msg("Enter at most %(count)s characters.", count=value)
    if v == "minItems":
        return Msg("Add at least %(count)s row(s).", count=value)
    if v == "format":
        return Msg("Enter a valid date (e.g. 2026-12-31).") if value == "date" \
            else Msg("Enter a valid %(format)s.", format=value)
    if v == "const":
        return Msg("Tick this box: it is required.") if value is True else Msg("Must be %(value)s.", value=repr(value))
    return error.message


def _field_name(error: jsonschema.ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
    return ".".join(path) or "_form"


NOT_SCHEMA = frozenset({"ui", "rules"})  # the form's own sections, not JSON Schema


def validate(schema: Mapping[str, Any], values: Mapping[str, Any], known: Mapping[str, Any] | None = None,
             clock: Clock | None = None) -> None:
    """Each value against its field, then the form's rules over the order's data (``known``)."""
    validator = safe_validator({k: v for k, v in schema.items() if k not in NOT_SCHEMA},
                               format_checker=_FORMAT_CHECKER)  # $ref: only inside the form, never fetched
    errors: dict[str, str] = {}
    try:
        found = sorted(validator.iter_errors(dict(values)), key=lambda e: len(list(e.absolute_path)))
    except Unresolvable as exc:
        raise InvalidInput(Msg("The form refers to '%(ref)s', which it does not contain.",
                               ref=str(getattr(exc, "ref", ""))[:200])) from None
    for error in found:
        errors.setdefault(_field_name(error), _message(error))
    for name, problem in _text_problems(values):
        errors.setdefault(name, problem)
    if not errors:  # rules read the values as typed: only once each is valid on its own
        errors.update(form_rules.broken(schema, values, known or {}, clock))
    if errors:
        raise InvalidInput(Msg("Some fields need attention: %(fields)s.", fields=", ".join(sorted(errors))),
                           fields=errors)


def _text_problems(value: Any, path: str = "") -> list[tuple[str, Msg]]:
    """(path like ``lines.0.spec``, message) of texts longer than MAX_TEXT_CHARS or holding a NUL
    character (PostgreSQL cannot store it), at any depth."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            return [(path or "_form", Msg("Enter at most %(count)s characters.", count=MAX_TEXT_CHARS))]
        return [(path or "_form", Msg("Text may not contain NUL characters or unpaired surrogates."))] \
            if "\x00" in value else []
    items = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else ()
    return [found for key, item in items for found in _text_problems(item, f"{path}.{key}" if path else str(key))]


def clean_submission(schema: Mapping[str, Any], submitted: Mapping[str, Any],
                     known: Mapping[str, Any], clock: Clock | None = None) -> dict[str, Any]:
    """Validate a submission; read-only fields keep the order's values whatever was sent.

    Returns only the fields the form declares (and that apply to this order: ``ui.when``), so a
    client cannot slip other keys into the order's data. The form's rules hold on the order's
    data with the submission on top.
    """
    schema = form_rules.applicable(schema, known, clock)
    if not isinstance(submitted, Mapping):
        raise InvalidInput(Msg("The form data must be a JSON object of field names and values."))
    bounded(submitted)
    props = form_conditions.whole(schema).get("properties", {})
    locked = readonly(schema)
    unknown = sorted(set(submitted) - set(props))
    if unknown:
        raise InvalidInput(Msg("Unknown field(s): %(fields)s.", fields=", ".join(unknown)),
                           fields={k: Msg("This form has no such field.") for k in unknown})
    values = {k: v for k, v in submitted.items() if k not in locked and v is not None and v != ""}
    values.update({k: known[k] for k in locked if k in known})
    hidden = form_conditions.hidden(schema, {**known, **values})  # shown-if: never required, never stored
    values = {k: v for k, v in values.items() if k not in hidden}
    applies = form_conditions.effective(schema, {**known, **values})
    if hidden and "rules" in applies:
        applies["rules"] = [r for r in applies["rules"] if not (isinstance(r, dict) and r.get("field") in hidden)]
    validate(applies, values, known, clock)
    return {k: v for k, v in values.items() if k not in locked}


def bounded(submitted: Mapping[str, Any]) -> None:
    """Refuse, before any validation runs, a submission with a list longer than MAX_ROWS, heavier
    than MAX_SUBMISSION_WEIGHT, or holding what order data cannot (engine/json_clean.py)."""
    where = _long_list(submitted)
    found = (where, Msg("Enter at most %(count)s rows.", count=MAX_ROWS)) if where is not None \
        else json_clean.problem(dict(submitted), limit=MAX_SUBMISSION_WEIGHT)
    if found is not None:
        name = found[0] or "_form"
        raise InvalidInput(Msg("Some fields need attention: %(fields)s.", fields=name), fields={name: found[1]})


def _long_list(value: Any) -> str | None:
    """The path of the first list longer than MAX_ROWS, looking at no more than the weight bound's
    worth of elements (the weight check refuses what is bigger)."""
    stack, budget = [(value, "")], MAX_SUBMISSION_WEIGHT
    while stack and budget > 0:
        item, path = stack.pop()
        children: Iterator[tuple[Any, Any]]
        if isinstance(item, list):
            if len(item) > MAX_ROWS:
                return path or "_form"
            children = enumerate(item)
        elif isinstance(item, Mapping):
            children = iter(item.items())
        else:
            continue
        for key, child in children:
            budget -= 1
            if budget <= 0:
                break
            stack.append((child, f"{path}.{key}" if path else str(key)))
    return None


def coerce(prop: Mapping[str, Any], raw: str) -> Any:
    """A posted string to the schema's type; leaves it as text if it does not parse, so the
    validator names the field."""
    kind = prop.get("type")
    raw = raw.strip() if isinstance(raw, str) else raw
    if raw == "" or raw is None:
        return None
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            number = float(raw)
            if not math.isfinite(number):  # "nan", "inf", "1e999": not a number anyone typed
                return raw
            return int(number) if number.is_integer() and "." not in raw and abs(number) <= json_clean.MAX_INT \
                else number
        if kind == "boolean":
            return raw.lower() in {"on", "true", "1", "yes"}
    except ValueError:
        return raw
    if prop.get("format") == "date":
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            return raw
    return raw


def from_post(schema: Mapping[str, Any], form: Mapping[str, list[str]]) -> dict[str, Any]:
    """Turn an HTML form post (name -> list of values) into typed JSON per the schema.

    Arrays of objects arrive as ``lines-0-product``, ``lines-0-quantity``…; rows with every
    cell empty are dropped (the table's spare row).
    """
    values: dict[str, Any] = {}
    locked = readonly(schema)
    for name, prop in fields(schema):
        if name in locked:
            continue
        if prop.get("type") == "array" and (prop.get("items") or {}).get("type") == "object":
            values[name] = _rows(name, prop["items"], form)
        elif prop.get("type") == "boolean":
            values[name] = bool(form.get(name)) and coerce(prop, form[name][-1])
        elif name in form:
            values[name] = coerce(prop, form[name][-1])
    return {k: v for k, v in values.items() if v is not None}


def _rows(name: str, item: Mapping[str, Any], form: Mapping[str, list[str]]) -> list[dict]:
    indexes = sorted({int(k.split("-")[1]) for k in form if k.startswith(f"{name}-") and k.count("-") >= 2
                      and _row_index(k.split("-")[1])})
    if len(indexes) > MAX_ROWS or (indexes and indexes[-1] >= MAX_ROWS):  # the page numbers its rows from 0
        message = Msg("Enter at most %(count)s rows.", count=MAX_ROWS)
        raise InvalidInput(Msg("Some fields need attention: %(fields)s.", fields=name), fields={name: message})
    rows = []
    for i in indexes:
        row = {}
        for col, prop in (item.get("properties") or {}).items():
            raw = form.get(f"{name}-{i}-{col}", [""])[-1]
            value = coerce(prop, raw)
            if value is not None:
                row[col] = value
        if row:
            rows.append(row)
    return rows


def _row_index(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 6


def after_error(schema: Mapping[str, Any], shown: Mapping[str, Any], submitted: Mapping[str, Any] | None) -> dict:
    """What a refused form shows again: what was posted, as typed, even where it was rejected;
    a field the person emptied stays empty. ``submitted`` None (the post itself was refused)
    keeps what was shown. A file field keeps the current file: a browser cannot re-send one."""
    if submitted is None:
        return dict(shown)
    locked = readonly(schema)
    emptied = {name: None for name, prop in fields(schema)
               if name not in locked and name not in submitted and prop.get("format") != "attachment"}
    return {**shown, **emptied, **submitted}
