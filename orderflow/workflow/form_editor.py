"""The form editor: check a JSON-Schema form as it is typed, store it in the process's draft.

``preview`` reports what would make a form fail: JSON syntax (line and column), the JSON-Schema
2020-12 meta-schema, and what the task page's renderer (templates/shared/partials/form_fields.html)
can show. Each problem names its JSON path, so a process owner can find it in the text.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from sqlalchemy.orm import Session

from orderflow.access.permissions import require_deployer
from orderflow.core.errors import Conflict, InvalidInput, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import ProcessDraft, User
from orderflow.core.platform import platform_of
from orderflow.engine.form_checks import MAX_FORM_DEPTH, form_rule_problems, json_nesting, pattern_problems
from orderflow.engine.form_refs import refs_outside
from orderflow.workflow import catalogue, definitions, drafts, form_conditions

MAX_FORM_CHARS = 200_000
MAX_PROBLEMS = 50
_FORM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,99}$")  # what drafts.save accepts
# Field names become input names and ids; table cells post as <field>-<row>-<column> and
# error keys join names with '.', so '-' and '.' in a name would break both.
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_META = Draft202012Validator(Draft202012Validator.META_SCHEMA)
_SCALARS = ("string", "integer", "number", "boolean")
_WIDGETS = ("textarea", "file", "radio", "money")


@dataclass(frozen=True)
class Problem:
    message: str                 # a Msg
    path: str = "$"              # JSON path into the schema
    line: int | None = None      # JSON syntax errors only
    column: int | None = None
    kind: str = "form"           # syntax | schema (meta-schema) | form (renderer rules)


@dataclass
class Preview:
    """The parsed schema when it has no problems, else the problems."""

    schema: dict[str, Any] | None = None
    errors: list[Problem] = field(default_factory=list)


def preview(schema_text: str) -> Preview:
    text = schema_text or ""
    if len(text) > MAX_FORM_CHARS:
        return Preview(errors=[Problem(Msg("The form is longer than %(size)s characters.", size=MAX_FORM_CHARS),
                                       kind="syntax")])
    if not text.strip():
        return Preview(errors=[Problem(Msg("The form is empty: write a JSON object."), line=1, column=1,
                                       kind="syntax")])
    if json_nesting(text) > MAX_FORM_DEPTH:  # before parsing: the checks below recurse per level
        return Preview(errors=[Problem(Msg("The JSON is nested more than %(count)s levels deep.",
                                           count=MAX_FORM_DEPTH), kind="syntax")])
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return Preview(errors=[Problem(Msg("This is not valid JSON: %(reason)s.", reason=exc.msg),
                                       line=exc.lineno, column=exc.colno, kind="syntax")])
    except RecursionError:
        return Preview(errors=[Problem(Msg("The JSON is nested too deeply."), kind="syntax")])
    if not isinstance(schema, dict):
        return Preview(errors=[Problem(Msg("A form is a JSON object: it starts with { and ends with }."))])
    try:
        found = _meta_problems(schema)
        seen = {p.path for p in found}  # one message per place: the meta-schema's comes first
        found += [p for p in _render_problems(schema) if p.path not in seen]
    except RecursionError:
        found = [Problem(Msg("The JSON is nested too deeply."), kind="syntax")]
    return Preview(errors=found[:MAX_PROBLEMS]) if found else Preview(schema=schema)


def fingerprint(schema: Mapping[str, Any]) -> str:
    """Identifies the form an editor opened, so a save can tell that someone saved in between."""
    canonical = json.dumps(schema, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


# ------------------------------------------------------------------ the process's forms

def listing(session: Session, actor: User, process_key: str) -> list[dict[str, Any]]:
    """Each form the process's next deploy can use: key, source (forms, version, draft) and schema."""
    require_deployer(actor)
    _require_process(session, process_key)
    latest, draft = definitions.latest_version(session, process_key), drafts.get(session, process_key)
    layers = {"version": latest.forms if latest else {}, "draft": draft.forms if draft else {}}
    load = platform_of(session).load_form
    return [{**entry, "schema": layers.get(entry["source"], {}).get(entry["key"]) or load(entry["key"]) or {}}
            for entry in catalogue.forms(session, process_key)]


def open_form(session: Session, actor: User, process_key: str, form_key: str) -> tuple[str, dict[str, Any]]:
    require_deployer(actor)
    _require_process(session, process_key)
    found = catalogue.form(session, process_key, form_key)
    if found is None:
        raise NotFound(Msg("There is no form '%(key)s'.", key=form_key))
    return found


def save(session: Session, actor: User, process_key: str, form_key: str, schema_text: str,
         base: str | None = None) -> ProcessDraft:
    """Store the form in the draft; refused while it has problems or when ``base`` (the
    fingerprint the editor opened) no longer matches the stored form."""
    _source, current = open_form(session, actor, process_key, form_key)
    result = preview(schema_text)
    if result.errors:
        fields: dict[str, str] = {}
        for problem in result.errors:
            where = f"line {problem.line}, column {problem.column}" if problem.line else problem.path
            fields.setdefault(where, problem.message)
        raise InvalidInput(Msg("The form was not saved: fix the problems listed first."), fields=fields)
    if base and base != fingerprint(current):
        raise Conflict(Msg("Someone saved this form after you opened it. Save again to replace their version, "
                           "or reload to see it."))
    return drafts.save(session, actor, process_key, forms={form_key: result.schema})


def new_form(session: Session, actor: User, process_key: str, form_key: str, title: str = "") -> ProcessDraft:
    """A one-field form stored in the draft, to be edited from there."""
    require_deployer(actor)
    _require_process(session, process_key)
    if not _FORM_KEY.match(form_key or ""):
        raise InvalidInput(Msg("A form key starts with a letter or '_' and holds letters, digits, '_' or '-'."),
                           fields={"form_key": Msg("letters, digits, '_' or '-'")})
    if catalogue.form(session, process_key, form_key) is not None:
        raise Conflict(Msg("A form '%(key)s' already exists; open it instead.", key=form_key))
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title.strip() or form_key,
              "type": "object",
              "properties": {"comment": {"type": "string", "title": "Comment", "title_zh": "备注"}},
              "required": [], "ui": {"order": ["comment"], "widgets": {"comment": "textarea"}, "readonly": []}}
    return drafts.save(session, actor, process_key, forms={form_key: schema})


def _require_process(session: Session, key: str) -> None:
    if drafts.get(session, key) is None and definitions.latest_version(session, key) is None:
        raise NotFound(Msg("No process '%(key)s' is deployed.", key=key))


# ------------------------------------------------------------------ checks

def _path(parts: Sequence[Any]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _FIELD_NAME.match(str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out


def _meta_problems(schema: dict[str, Any]) -> list[Problem]:
    found = []
    for error in sorted(_META.iter_errors(schema), key=lambda e: [str(p) for p in e.absolute_path]):
        detail = best_match(error.context) if error.context else error  # "not one of [...]" beats "anyOf"
        found.append(Problem(Msg("Not valid JSON Schema: %(reason)s.", reason=detail.message),
                             _path(list(error.absolute_path)), kind="schema"))
    return found


Add = Callable[..., None]


def _render_problems(schema: dict[str, Any]) -> list[Problem]:
    found: list[Problem] = []

    def add(message: str, *path: Any) -> None:
        found.append(Problem(message, _path(path)))

    if schema.get("type") != "object":
        add(Msg('The top level of a form needs "type": "object".'), "type")
    props = schema.get("properties")
    if not isinstance(props, dict):
        add(Msg('A form needs "properties": an object with one entry per field.'), "properties")
        props = {}
    props = {**props, **form_conditions.conditional_fields(schema)}  # fields a show-if branch declares
    _check_texts(schema, (), add)
    for name, prop in props.items():
        _check_field(name, prop, ("properties", name), add, column=False)
    _check_names(schema.get("required"), props, ("required",), add)
    for sub, path in _conditions(schema, ()):
        _check_names(sub.get("required"), props, (*path, "required"), add)
    _check_ui(schema.get("ui"), props, add)
    for message, path in form_rule_problems(schema):
        add(message, *path)
    for ref, path in refs_outside(schema):  # never fetched: a form refers only to its own parts
        add(Msg("A form may only refer to its own parts ($ref starting with #), not to '%(ref)s'.", ref=ref), *path)
    for name, reason, path in pattern_problems(schema):  # patterns run on RE2 (linear time)
        add(Msg("The pattern of field '%(field)s' %(reason)s", field=name, reason=reason), *path)
    return found


def _check_texts(obj: Mapping[str, Any], path: tuple, add: Add) -> None:
    for key in ("title", "title_zh", "description", "description_zh"):
        if key in obj and not isinstance(obj[key], str):
            add(Msg("%(key)s must be text.", key=key), *path, key)


def _check_field(name: str, prop: Any, path: tuple, add: Add, column: bool) -> None:
    if not _FIELD_NAME.match(name):
        add(Msg("A field name holds only letters, digits and '_' (it becomes the input's name)."), *path)
    if not isinstance(prop, dict):
        add(Msg('Describe a field with an object, e.g. {"type": "string", "title": "Name"}.'), *path)
        return
    _check_texts(prop, path, add)
    kind = prop.get("type")
    if column and kind not in _SCALARS:
        add(Msg("A table column's type must be string, integer, number or boolean."), *path, "type")
        return
    if kind not in (*_SCALARS, "array"):
        add(Msg("The form shows these types: string, integer, number, boolean, and array (a table)."),
            *path, "type")
        return
    fmt = prop.get("format")
    formats = ("date",) if column else ("date", "email", "attachment")
    if fmt is not None and (kind != "string" or fmt not in formats):
        add(Msg("Table cells show only the format date, on string columns.") if column else
            Msg("The form shows the formats date, email and attachment, on string fields only."), *path, "format")
    if "enum" in prop:
        _check_enum(prop, path, add)
    if kind == "array":
        items = prop.get("items")
        if not (isinstance(items, dict) and items.get("type") == "object"
                and isinstance(items.get("properties"), dict)):  # a table
            add(Msg('A list is shown as a table: give it "items": {"type": "object", "properties": {...}} '
                    'with one property per column.'), *path, "items")
            return
        _check_texts(items, (*path, "items"), add)
        for col, cprop in items["properties"].items():
            _check_field(col, cprop, (*path, "items", "properties", col), add, column=True)
        _check_names(items.get("required"), items["properties"], (*path, "items", "required"), add)


def _check_enum(prop: Mapping[str, Any], path: tuple, add: Add) -> None:
    enum = prop["enum"]
    if prop.get("type") == "boolean":
        add(Msg("Choices (enum) work on string, integer and number fields."), *path, "enum")
    elif isinstance(enum, list) and not enum:
        add(Msg("Give at least one choice in enum."), *path, "enum")
    for key in ("enumNames", "enumNames_zh"):
        names = prop.get(key)
        if names is not None and isinstance(enum, list) and (not isinstance(names, list) or len(names) != len(enum)):
            add(Msg("%(key)s needs one name per choice in enum (%(count)s).", key=key, count=len(enum)), *path, key)


def _check_names(names: Any, known: Mapping[str, Any], path: tuple, add: Add) -> None:
    if not isinstance(names, list):
        return
    for index, name in enumerate(names):
        if not isinstance(name, str) or name not in known:
            add(Msg("The form has no field '%(name)s'.", name=str(name)), *path, index)


def _conditions(node: Mapping[str, Any], path: tuple) -> Iterator[tuple[Mapping[str, Any], tuple]]:
    """Sub-schemas of if/then/else and allOf/anyOf/oneOf: their ``required`` name fields too."""
    for key in ("if", "then", "else", "not"):
        if isinstance(node.get(key), dict):
            yield node[key], (*path, key)
            yield from _conditions(node[key], (*path, key))
    for key in ("allOf", "anyOf", "oneOf"):
        subs = node.get(key)
        for index, sub in enumerate(subs if isinstance(subs, list) else []):
            if isinstance(sub, dict):
                yield sub, (*path, key, index)
                yield from _conditions(sub, (*path, key, index))


def _check_ui(ui: Any, props: Mapping[str, Any], add: Add) -> None:
    if ui is None:
        return
    if not isinstance(ui, dict):
        add(Msg('"ui" must be an object (order, readonly, widgets, groups).'), "ui")
        return
    for key in ("order", "readonly"):
        if key in ui and not isinstance(ui[key], list):
            add(Msg("ui.%(key)s must be a list of field names.", key=key), "ui", key)
        _check_names(ui.get(key), props, ("ui", key), add)
    widgets = ui.get("widgets")
    if widgets is not None and not isinstance(widgets, dict):
        add(Msg("ui.widgets must map field names to a widget (textarea, file, radio or money)."), "ui", "widgets")
    for name, widget in (widgets or {}).items() if isinstance(widgets, dict) else []:
        prop = props.get(name)
        if not isinstance(prop, dict):
            add(Msg("The form has no field '%(name)s'.", name=name), "ui", "widgets", name)
        elif widget not in _WIDGETS:
            add(Msg("The widget '%(widget)s' is unknown; use textarea, file, radio or money.", widget=str(widget)),
                "ui", "widgets", name)
        elif widget == "radio" and not isinstance(prop.get("enum"), list):
            add(Msg("Radio buttons need a list of choices (enum) on '%(name)s'.", name=name), "ui", "widgets", name)
        elif widget == "money" and prop.get("type") != "number":
            add(Msg("Money is entered in a number field: give '%(name)s' the type number.", name=name),
                "ui", "widgets", name)
    groups = ui.get("groups")
    if groups is not None and not isinstance(groups, list):
        add(Msg("ui.groups must be a list of {id, title, fields}."), "ui", "groups")
    for index, group in enumerate(groups if isinstance(groups, list) else []):
        if not isinstance(group, dict) or not isinstance(group.get("fields"), list):
            add(Msg("ui.groups must be a list of {id, title, fields}."), "ui", "groups", index)
            continue
        _check_texts(group, ("ui", "groups", index), add)
        _check_names(group["fields"], props, ("ui", "groups", index, "fields"), add)
