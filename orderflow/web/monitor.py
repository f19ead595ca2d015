"""Managers: the diagram view with live counts on each element."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from orderflow.access.permissions import require
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.orders.keys import chosen_process
from orderflow.web.auth import current_actor, login_required
from orderflow.web.db_session import get_session
from orderflow.web.present import iso
from orderflow.web.security import MAX_INT
from orderflow.workflow import definitions, monitor

bp = Blueprint("monitor", __name__)


def _version_arg() -> int | None:
    raw = request.args.get("version") or None
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and int(raw) <= MAX_INT):
        raise InvalidInput(Msg("'version' must be a whole number."), fields={"version": Msg("Enter a whole number.")})
    return int(raw)


@bp.get("/api/v1/monitor/elements")
def elements_api():
    key = request.args.get("process") or ""
    if not key:
        raise InvalidInput(Msg("Name the process: ?process=<key>."), fields={"process": Msg("required")})
    loads = monitor.elements(get_session(), current_actor(), key, _version_arg())
    return jsonify([{"element_id": e.element_id, "name": e.name, "group": e.group, "waiting": e.waiting,
                     "overdue": e.overdue, "oldest_ready_at": iso(e.oldest_ready_at), "incidents": e.incidents}
                    for e in loads])


@bp.get("/monitor")
@login_required
def diagram():
    session, actor = get_session(), current_actor()
    require(actor, "monitor.read")
    latest = definitions.list_latest(session)
    key = chosen_process(request.args.get("process"), [r.key for r in latest], one=True) or ""
    version = _version_arg()
    row = definitions.get_version(session, key, version) if key else None
    versions = [v for v in definitions.list_versions(session) if v.key == key]
    return render_template("monitor/monitor.html", processes=latest, row=row, versions=versions, version=version)
