"""What a process owner can pick from in the modeler: handlers, groups and forms."""
from __future__ import annotations

import inspect
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderflow.core.models import Group, ProcessDraft, ProcessVersion
from orderflow.core.platform import platform_of
from orderflow.engine import form_keys_of
from orderflow.workflow import definitions


def handlers(session: Session) -> list[dict[str, Any]]:
    """Each registered handler with its docstring and the parameters a diagram may pass."""
    found = []
    for name, func in sorted(platform_of(session).handlers.items()):
        params = []
        for index, param in enumerate(inspect.signature(func).parameters.values()):
            if index == 0 or param.kind in {param.VAR_POSITIONAL, param.VAR_KEYWORD}:
                continue  # the first parameter is the service's ctx
            params.append({"name": param.name, "required": param.default is param.empty,
                           "default": None if param.default is param.empty else repr(param.default)})
        found.append({"name": name, "doc": inspect.cleandoc(func.__doc__ or ""), "params": params,
                      "asynchronous": bool(getattr(func, "handler_asynchronous", False))})
    return found


def groups(session: Session) -> list[dict[str, str]]:
    return [{"id": g.id, "name": g.name, "name_zh": getattr(g, "name_zh", None) or g.name}
            for g in session.scalars(select(Group).order_by(Group.id))]


def forms(session: Session, process_key: str | None = None) -> list[dict[str, Any]]:
    """Form keys from forms/, the latest version and the draft of ``process_key``; the nearest wins,
    and a draft's copy counts as the draft's only where it differs (an untouched form is the
    version's). ``used``: the process's steps name it (in the draft's diagram when there is one)."""
    found: dict[str, tuple[str, dict]] = {}
    folder = platform_of(session).forms_dir
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        schema = platform_of(session).load_form(path.stem)
        if isinstance(schema, dict):
            found[path.stem] = ("forms", schema)
    latest, draft = _latest_and_draft(session, process_key)
    for source, mapping in _layers(latest, draft):
        for key, schema in mapping.items():
            if source != "draft" or key not in found or found[key][1] != schema:
                found[key] = (source, schema)
    used = _used(session, process_key, latest, draft)
    return [{"key": key, "source": source, "title": schema.get("title") or key, "used": key in used}
            for key, (source, schema) in sorted(found.items())]


def form(session: Session, process_key: str | None, form_key: str) -> tuple[str, dict] | None:
    """(source, schema) of one form as the process's next deploy would see it."""
    layers = _layers(*_latest_and_draft(session, process_key))
    for index in range(len(layers) - 1, -1, -1):
        source, mapping = layers[index]
        if form_key in mapping:
            below = layers[index - 1][1] if index else {}
            unchanged = source == "draft" and below.get(form_key) == mapping[form_key]
            return ("version" if unchanged else source), mapping[form_key]
    schema = platform_of(session).load_form(form_key)
    return ("forms", schema) if isinstance(schema, dict) else None


def _latest_and_draft(session: Session, process_key: str | None) -> tuple[ProcessVersion | None, ProcessDraft | None]:
    if not process_key:
        return None, None
    draft = session.scalar(select(ProcessDraft).where(ProcessDraft.key == process_key))
    return definitions.latest_version(session, process_key), draft


def _layers(latest: ProcessVersion | None, draft: ProcessDraft | None) -> list[tuple[str, dict]]:
    """The forms the next deploy would see, nearest last: the latest version's, then the draft's."""
    return [(source, row.forms) for source, row in (("version", latest), ("draft", draft)) if row is not None]


def _used(session: Session, process_key: str | None, latest: ProcessVersion | None,
          draft: ProcessDraft | None) -> set[str]:
    """The forms the process's steps name: in its draft's diagram, else in its latest version."""
    if draft is not None and process_key:
        return form_keys_of(draft.sources.get(draft.main_file, ""), process_key)
    if latest is None:
        return set()
    elements = definitions.definition(session, latest).elements.values()
    return {e.form_key for e in elements if e.form_key} | ({latest.start_form} if latest.start_form else set())
