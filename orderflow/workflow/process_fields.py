"""The data a process's conditions can read: the fields of the forms its steps use and the names its
scripts and service calls set, from the draft (else the latest version). The modeler offers them as
a condition is typed, names a condition's unknown names with the closest field, and reads the
condition out in the owner's words."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orderflow.core.models import User
from orderflow.engine import ExpressionError, check_expression
from orderflow.engine.condition_words import assigned_names, reading, unknown_names
from orderflow.workflow import definitions, drafts, form_conditions, form_editor

MAX_FIELDS = 500   # what the modeler is sent: a process's forms rarely hold more than a hundred


def fields(session: Session, actor: User, key: str) -> list[dict[str, Any]]:
    """``[{name, title, title_zh, kind, choices: [{value, title, title_zh}], source}]``, by name."""
    found: dict[str, dict[str, Any]] = {}
    for entry in form_editor.listing(session, actor, key):   # the process owner's check, and 404
        if not entry["used"]:
            continue
        schema = entry["schema"] if isinstance(entry["schema"], dict) else {}
        props = {**(schema.get("properties") or {}), **form_conditions.conditional_fields(schema)}
        for name, prop in props.items():
            if not isinstance(prop, dict):
                continue
            field = _field(name, prop, f"form:{entry['key']}")
            if name in found:   # several forms ask for it ("decision"): a choice's name only where they agree
                _merge_choices(found[name], field)
            else:
                found[name] = field
    for name, element in assigned_names(_sources(session, key), key).items():
        found.setdefault(name, {"name": name, "title": None, "title_zh": None, "kind": "value", "choices": [],
                                "source": f"step:{element}"})
    return [found[name] for name in sorted(found)][:MAX_FIELDS]


def _field(name: str, prop: dict[str, Any], source: str) -> dict[str, Any]:
    values: list[Any] = prop["enum"] if isinstance(prop.get("enum"), list) else []
    english, chinese = prop.get("enumNames") or [], prop.get("enumNames_zh") or []
    kinds = {"number": "number", "integer": "number", "boolean": "yes/no", "array": "list"}
    kind = kinds.get(str(prop.get("type")), "text")
    if prop.get("format") == "date":
        kind = "date"
    return {"name": name, "title": prop.get("title"), "title_zh": prop.get("title_zh"),
            "kind": "choice" if values else kind, "source": source,
            "choices": [{"value": v, "title": english[i] if i < len(english) else None,
                         "title_zh": chinese[i] if i < len(chinese) else None} for i, v in enumerate(values)]}


def _merge_choices(kept: dict[str, Any], other: dict[str, Any]) -> None:
    names = {c["value"]: c for c in kept["choices"]}
    for choice in other["choices"]:
        mine = names.get(choice["value"])
        if mine is None:
            kept["choices"].append(choice)
            names[choice["value"]] = choice
        elif (mine["title"], mine["title_zh"]) != (choice["title"], choice["title_zh"]):
            mine["title"] = mine["title_zh"] = None


def _sources(session: Session, key: str) -> dict[str, str]:
    draft = drafts.get(session, key)
    if draft is not None:
        return dict(draft.sources)
    latest = definitions.latest_version(session, key)
    return dict(latest.sources) if latest is not None else {}


def check(session: Session, actor: User, text: str, key: str, lang: str) -> dict[str, Any]:
    """``{ok, message, reading, unknown}`` for a condition in process ``key``: a deploy's verdict, the
    condition in words, and the names nothing in the process sets (each with the closest that is)."""
    if not text.strip():
        return {"ok": True, "message": None, "reading": None, "unknown": []}
    try:
        check_expression(text)
    except ExpressionError as exc:
        return {"ok": False, "message": exc.message, "reading": None, "unknown": []}
    known = fields(session, actor, key)
    by_name = {f["name"]: {"title": f["title"], "title_zh": f["title_zh"],
                           "choices": {c["value"]: (c["title"], c["title_zh"]) for c in f["choices"]
                                       if isinstance(c["value"], str)}} for f in known}
    return {"ok": True, "message": None, "reading": reading(text, by_name, lang),
            "unknown": unknown_names(text, set(by_name))}

