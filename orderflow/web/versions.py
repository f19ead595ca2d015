"""Process owners: versions of a process, what changed between two, and moving running orders.

Pages (/processes, /processes/<key>/versions, /processes/<key>/diff, POST /processes/<key>/migrate)
and the JSON API (/api/v1/processes/<key>/versions, /diff, /migrations) in one blueprint.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, jsonify, render_template, request
from flask_babel import ngettext
from flask_login import current_user

from orderflow.access.permissions import can
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.web.auth import current_actor, login_required
from orderflow.web.csrf import csrf
from orderflow.web.db_session import get_session
from orderflow.web.present import iso, localize
from orderflow.web.security import MAX_INT
from orderflow.workflow import releases, versions

bp = Blueprint("versions", __name__)


def _version_arg(raw: Any, name: str) -> int:
    """A version number from a query string, a form or JSON (where it may already be an int)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) <= MAX_INT:
        return raw
    if raw is None or raw == "":
        raise InvalidInput(Msg("Choose both versions: 'from' and 'to'."), fields={name: Msg("required")})
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and int(raw.strip()) <= MAX_INT:
        return int(raw.strip())
    raise InvalidInput(Msg("'%(name)s' must be a version number, not '%(value)s'.", name=name, value=raw),
                       fields={name: Msg("Enter a version number.")})


def _summary_json(row: versions.VersionSummary) -> dict[str, Any]:
    return {"version": row.version, "name": row.name, "deployed_at": iso(row.deployed_at),
            "deployed_by": row.deployed_by, "sha256": row.sha256, "running": row.running,
            "suspended": row.suspended, "latest": row.latest, "note": row.note}


def _report_json(report: versions.MoveReport) -> dict[str, Any]:
    return {
        "process": report.key, "from": report.from_version, "to": report.to_version, "dry_run": report.dry_run,
        "results": [{"instance_id": r.instance_id, "business_key": r.business_key, "status": r.status,
                     "steps": r.steps, "can_move": r.can_move, "moved": r.moved,
                     "reasons": [localize(m) for m in r.reasons], "notes": [localize(m) for m in r.notes]}
                    for r in report.results],
        "moved": report.moved, "movable": report.movable, "refused": report.refused, "remaining": report.remaining,
    }


# -- JSON API ---------------------------------------------------------------------------------------

@bp.get("/api/v1/processes/<key>/versions")
def api_versions(key: str):
    rows = versions.list_versions(get_session(), current_actor(), key)
    return jsonify(items=[_summary_json(r) for r in rows])


@bp.get("/api/v1/processes/<key>/diff")
def api_diff(key: str):
    return jsonify(versions.diff(get_session(), current_actor(), key, _version_arg(request.args.get("from"), "from"),
                                 _version_arg(request.args.get("to"), "to")))


@bp.post("/api/v1/processes/<key>/migrations")
@csrf.exempt  # API clients send HTTP Basic; a browser's cookie still needs the token (checked below)
def api_migrate(key: str):
    actor = current_actor()
    if g.auth_method == "cookie":
        csrf.protect()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(Msg("The request body must be a JSON object (Content-Type: application/json)."))
    dry_run = body.get("dry_run", True)
    if not isinstance(dry_run, bool):
        raise InvalidInput(Msg("'dry_run' must be true or false."), fields={"dry_run": Msg("true or false")})
    session = get_session()
    action = versions.dry_run if dry_run else versions.migrate
    step = body.get("step")
    if step is not None and (not isinstance(step, str) or len(step) > 200):
        raise InvalidInput(Msg("'step' must be the id of a step of the diagram."), fields={"step": Msg("invalid")})
    report = action(session, actor, key, _version_arg(body.get("from"), "from"), _version_arg(body.get("to"), "to"),
                    body.get("instance_ids"), step=step or None)
    if dry_run:
        session.rollback()  # a dry run stores nothing, whatever it looked at
    return jsonify(_report_json(report))


# -- pages ------------------------------------------------------------------------------------------

@bp.get("/processes")
@login_required
def index():
    return render_template("versions/processes.html", processes=versions.list_processes(get_session(), current_actor()))


def _versions_page(key: str, report: versions.MoveReport | None = None, error: InvalidInput | None = None,
                   chosen: dict[str, Any] | None = None):
    session, actor = get_session(), current_actor()
    rows = versions.list_versions(session, actor, key)
    latest = rows[-1].version
    defaults = {"from": rows[-2].version if len(rows) > 1 else latest, "to": latest, "step": ""}
    chosen = {**defaults, **(chosen or {})}
    known = {r.version for r in rows}
    source = chosen["from"] if chosen["from"] in known else defaults["from"]
    return render_template("versions/process_versions.html", key=key, name=rows[-1].name, versions=rows, report=report,
                           error=error, chosen=chosen, steps=versions.waiting_steps(session, actor, key, source)), \
        (422 if error else 200)


@bp.get("/processes/<key>/versions")
@login_required
def versions_page(key: str):
    return _versions_page(key)


@bp.post("/processes/<key>/migrate")
@login_required
def migrate_page(key: str):
    session, actor = get_session(), current_actor()
    step = request.form.get("step", "").strip()[:200] or None
    chosen: dict[str, Any] = {"from": request.form.get("from", ""), "to": request.form.get("to", ""), "step": step}
    apply = request.form.get("action") == "migrate"
    try:
        ids = [int(v) for v in request.form.getlist("instance_ids") if v.strip().isdigit()] or None
        if apply and request.form.get("chosen") and ids is None:   # every box unchecked: move none, not all
            raise InvalidInput(Msg("Check the orders to move (at least one)."),
                               fields={"instance_ids": Msg("Check at least one order.")})
        report = (versions.migrate if apply else versions.dry_run)(
            session, actor, key, _version_arg(chosen["from"], "from"), _version_arg(chosen["to"], "to"), ids,
            step=step)
    except InvalidInput as exc:
        session.rollback()
        return _versions_page(key, error=exc, chosen=chosen)
    chosen = {"from": report.from_version, "to": report.to_version, "step": step}
    if not apply:
        session.rollback()  # a dry run stores nothing, whatever it looked at
    else:
        flash(ngettext("%(num)s order moved to version %(version)s.", "%(num)s orders moved to version %(version)s.",
                       report.moved, version=report.to_version), "success")
        if report.refused:
            flash(ngettext("%(num)s order stayed on version %(version)s; see why below.",
                           "%(num)s orders stayed on version %(version)s; see why below.",
                           report.refused, version=report.from_version), "warning")
    return _versions_page(key, report=report, chosen=chosen)


@bp.get("/processes/<key>/diff")
@login_required
def diff_page(key: str):
    session, actor = get_session(), current_actor()
    rows = versions.list_versions(session, actor, key)
    to_version = _version_arg(request.args.get("to") or rows[-1].version, "to")
    from_version = _version_arg(request.args.get("from") or max(1, to_version - 1), "from")
    changes = versions.diff(session, actor, key, from_version, to_version)
    return render_template("versions/process_diff.html", key=key, name=rows[-1].name, versions=rows, diff=changes)


@bp.get("/processes/<key>/diff/draft")
@login_required
def draft_diff_page(key: str):
    """Everything the draft changes against the latest version, as the diff page shows two versions."""
    session, actor = get_session(), current_actor()
    preview = releases.preview(session, actor, key)   # the process owner's, 404 without a draft
    rows = versions.list_versions(session, actor, key) if preview.get("from") is not None else []
    if not preview["ok"]:
        raise InvalidInput(Msg("The draft does not compile, so it cannot be compared: Check in the modeler lists "
                               "its problems."), problems=preview["problems"])
    diff = {"process": key, "from": preview["from"], "to": None, **(preview["changes"] or {})}
    return render_template("versions/process_diff.html", key=key, name=rows[-1].name if rows else key, versions=rows,
                           diff=diff, draft=True, first=preview["changes"] is None)


@bp.app_context_processor
def _navbar() -> dict[str, Any]:
    actor = g.get("actor") or (current_user.user if current_user and current_user.is_authenticated else None)
    return {"can_manage_processes": can(actor, "process.deploy")}
