"""What changed in the forms a process's steps use, between two of its versions.

Per form: added to the process or no longer used, and for a form kept, per field: added, removed,
now required or optional, and each of its settings that changed (type, title, choices, limits,
pattern...); fields of a table of lines (an array of objects) are named ``lines[].product``. The
form's own title and description, and its conditions between fields (show-if rules, if/then), are
reported as the form's. The diff page and GET /api/v1/processes/<key>/diff show it beside the steps.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_FORM_SETTINGS = ("title", "title_zh", "description", "description_zh", "rules", "allOf", "if", "then", "else")


def used_forms(form_keys: Iterable[str | None], forms: Mapping[str, Any]) -> dict[str, dict]:
    """The forms of ``forms`` that these steps (and the start form) name; a form no step names is
    not part of the process, whatever else the version's folder held."""
    return {key: forms[key] for key in form_keys if key and isinstance(forms.get(key), dict)}


def diff_forms(old: Mapping[str, dict], new: Mapping[str, dict], steps: Mapping[str, list[str]]) -> dict[str, list]:
    """``old``/``new``: form key -> JSON Schema; ``steps``: form key -> the names of the steps using it."""
    def brief(key: str, schema: Mapping[str, Any]) -> dict[str, Any]:
        return {"form": key, "title": schema.get("title") or key, "steps": steps.get(key, [])}

    changed = []
    for key in sorted(old.keys() & new.keys()):
        fields = _diff_fields(old[key], new[key], "")
        settings = [{"attribute": name, "from": old[key].get(name), "to": new[key].get(name)}
                    for name in _FORM_SETTINGS if old[key].get(name) != new[key].get(name)]
        if any(fields.values()) or settings:
            changed.append({**brief(key, new[key]), "fields": fields, "settings": settings})
    return {"added": [brief(k, new[k]) for k in sorted(new.keys() - old.keys())],
            "removed": [brief(k, old[k]) for k in sorted(old.keys() - new.keys())],
            "changed": changed}


def _diff_fields(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str) -> dict[str, list]:
    before, after = _properties(old), _properties(new)
    required_before, required_after = _required(old), _required(new)
    out: dict[str, list] = {"added": [], "removed": [], "required": [], "changed": []}
    for name in sorted(after.keys() - before.keys()):
        out["added"].append(_field(prefix + name, after[name], required=name in required_after))
    for name in sorted(before.keys() - after.keys()):
        out["removed"].append(_field(prefix + name, before[name]))
    for name in sorted(before.keys() & after.keys()):
        field = prefix + name
        if (name in required_before) != (name in required_after):
            out["required"].append({**_field(field, after[name]), "from": name in required_before,
                                    "to": name in required_after})
        changes = [{"attribute": setting, "from": before[name].get(setting), "to": after[name].get(setting)}
                   for setting in sorted(set(before[name]) | set(after[name]))
                   if setting != "items" and before[name].get(setting) != after[name].get(setting)]
        rows_before, rows_after = _line_schema(before[name]), _line_schema(after[name])
        if rows_before is not None and rows_after is not None:   # a table of lines: its columns, one by one
            for kind, items in _diff_fields(rows_before, rows_after, f"{field}[].").items():
                out[kind] += items
        elif before[name].get("items") != after[name].get("items"):
            changes.append({"attribute": "items", "from": before[name].get("items"), "to": after[name].get("items")})
        if changes:
            out["changed"].append({**_field(field, after[name]), "changes": changes})
    return out


def _field(name: str, schema: Any, **extra: Any) -> dict[str, Any]:
    title = schema.get("title") if isinstance(schema, Mapping) else None
    return {"field": name, "title": title or name.rsplit(".", 1)[-1], **extra}


def _properties(schema: Mapping[str, Any]) -> dict[str, dict]:
    found = schema.get("properties")
    return {k: v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}


def _required(schema: Mapping[str, Any]) -> set[str]:
    found = schema.get("required")
    return {name for name in found if isinstance(name, str)} if isinstance(found, list) else set()


def _line_schema(field: Mapping[str, Any]) -> Mapping[str, Any] | None:
    items = field.get("items")
    return items if isinstance(items, dict) and isinstance(items.get("properties"), dict) else None
