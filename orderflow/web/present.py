"""How things look to people and API clients: JSON shapes, times, bilingual labels."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from flask_babel import get_locale, gettext
from flask_login import current_user

from orderflow.access.accounts import GROUPS
from orderflow.core import timefmt
from orderflow.core.i18n import Msg, Texts, element_name
from orderflow.core.models import HumanTask, Instance
from orderflow.web.db_session import get_session
from orderflow.workflow import incidents
from orderflow.workflow.form_conditions import shape as form_shape
from orderflow.workflow.tasks import is_overdue

log = logging.getLogger(__name__)


def localize(message: Any) -> Any:
    """A message in the request's language.

    A ``Msg`` is looked up by its template and formatted with its params (params that are
    ``Msg`` themselves are translated first); any other non-empty str is looked up as is
    (unknown text comes back unchanged). A broken translation falls back to the English.
    """
    if isinstance(message, Texts):
        return message.in_language(lang())
    if isinstance(message, Msg):
        params = {k: localize(v) if isinstance(v, (Msg, Texts)) else v for k, v in message.params.items()}
        try:
            return gettext(message.template, **params) if params else gettext(message.template)
        except (KeyError, ValueError, TypeError):
            log.warning("bad translation for %r", message.template)
            return str(message)
    if isinstance(message, str) and message:
        return gettext(message)
    return message


def localize_fields(fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """Field name -> message, messages in the request's language (names stay as they are)."""
    return {name: localize(message) for name, message in (fields or {}).items()}


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def now() -> datetime:
    return current_app.extensions["orderflow.platform"].clock()


def task_json(task: HumanTask, names: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": task.id, "instance_id": task.instance_id, "business_key": task.instance.business_key,
        "process": task.instance.process_key, "element_id": task.element_id, "name": task.name,
        "group": task.group_id, "assignee": task.assignee,
        "assignee_name": (names or {}).get(task.assignee or "", task.assignee),
        "form_key": task.form_key, "status": task.status, "ready_at": iso(task.ready_at),
        "due_at": iso(task.due_at), "overdue": is_overdue(task, now()), "customer_step": bool(task.customer_step),
    }


def history_json(task: HumanTask, names: dict[str, str] | None = None) -> dict[str, Any]:
    return {"element_id": task.element_id, "name": task.name, "completed_by": task.completed_by,
            "completed_by_name": (names or {}).get(task.completed_by or "", task.completed_by),
            "completed_at": iso(task.completed_at), "completed_via": task.completed_via, "data": task.data}


def signature_json(state) -> dict[str, Any]:
    """A ``signatures.SignatureState``: the record, the exact content signed, and how it stands now."""
    import json
    sig = state.signature
    return {"id": sig.id, "element_id": sig.element_id, "task_id": sig.task_id, "signer": sig.signer,
            "printed_name": sig.printed_name, "meaning": sig.meaning, "refused": sig.refused,
            "signed_at": iso(sig.signed_at), "content": json.loads(sig.content), "content_sha256": sig.content_sha256,
            "audit_event_id": sig.audit_event_id, "status": state.status, "valid": state.valid}


def incident_json(incident) -> dict[str, Any]:
    return {"id": incident.id, "instance_id": incident.instance_id, "element_id": incident.element_id,
            "handler": incident.handler, "message": incidents.readable_message(incident),  # the reader's language
            "traceback": incident.traceback,
            "attempts": incident.attempts, "created_at": iso(incident.created_at),
            "resolved_at": iso(incident.resolved_at), "resolved_by": incident.resolved_by,
            "resolution": incident.resolution}


def instance_summary(instance: Instance) -> dict[str, Any]:
    return {
        "id": instance.id, "business_key": instance.business_key, "process": instance.process_key,
        "version": instance.version.version, "status": instance.status, "started_by": instance.started_by,
        "started_at": iso(instance.started_at), "updated_at": iso(instance.updated_at),
        "ended_at": iso(instance.ended_at), "customer": instance.customer, "order_total": instance.order_total,
        "promised_date": instance.promised_date.isoformat() if instance.promised_date else None,
        "outcome": instance.outcome,
    }


def lang() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def label(obj: dict[str, Any] | None, key: str = "title", fallback: str = "") -> str:
    """A schema's title (or any key) in the user's language: ``title_zh`` beside ``title``."""
    if not obj:
        return fallback
    return obj.get(f"{key}_{lang()}") or obj.get(key) or fallback


def bilingual(name: str) -> str:
    """Element names are 'English 中文'; show the part in the user's language."""
    return element_name(name).in_language(lang()) if name else name


def reader_zone() -> ZoneInfo:
    """The zone the page's reader sees times in: their own, else the company's (a customer's page:
    the company's, as their mail)."""
    actor = g.get("actor") or (current_user.user if current_user and current_user.is_authenticated else None)
    return timefmt.zone_for(current_app.config, actor)


def local_time(value: datetime | None, fmt: str = timefmt.MINUTE) -> str:
    """The one way pages show a time: ``2026-12-06 18:30 UTC+8`` in the reader's zone."""
    return timefmt.at(value, reader_zone(), fmt)


def duration(seconds: float) -> str:
    """A span of time the way a person says it: 2 d 3 h, 3 h 5 min, 12 min."""
    from flask_babel import gettext
    minutes = int(seconds // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return gettext("%(d)s d %(h)s h", d=days, h=hours)
    if hours:
        return gettext("%(h)s h %(m)s min", h=hours, m=mins)
    return gettext("%(m)s min", m=mins)


def group_label(group_id: str | None) -> str:
    names = GROUPS.get(group_id or "") or _added_groups().get(group_id or "")
    if not names:
        return group_id or ""
    return (names[1] or names[0]) if lang() == "zh" else names[0]


def _added_groups() -> dict[str, tuple[str, str | None]]:
    """Groups an administrator created (not in accounts.GROUPS), read once per request."""
    from flask import g
    from sqlalchemy import select

    from orderflow.core.models import Group
    if "added_groups" not in g:
        g.added_groups = {gid: (name, name_zh) for gid, name, name_zh in
                          get_session().execute(select(Group.id, Group.name, Group.name_zh))}
    return g.added_groups


def localized(obj: Any, depth: int = 0) -> Any:
    """``obj`` with every ``Msg`` and ``Texts`` in it said in the reader's language, wherever it sits
    (a deploy's problems, a check's message, a field's error): JSON answers pass through here
    (web/security.py's provider), so the domain never needs to know who reads."""
    if isinstance(obj, Msg | Texts):
        return localize(obj)
    if depth > 40:   # answers are shallow; a deeper one is passed on as it is
        return obj
    if isinstance(obj, dict):
        return {key: localized(value, depth + 1) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [localized(value, depth + 1) for value in obj]
    return obj


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(duration=duration, local_time=local_time, bilingual=bilingual, label=label,
                                 localize=localize, form_shape=form_shape,
                                 incident_message=lambda incident: localize(incidents.readable_message(incident)))
    app.jinja_env.globals.update(now=now, is_overdue=is_overdue, lang=lang, group_label=group_label,
                                 reader_zone=lambda: reader_zone().key)
