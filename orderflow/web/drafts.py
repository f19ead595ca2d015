"""API for process owners: drafts, checks and what the modeler offers (handlers, groups, forms)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from orderflow.access.permissions import require_deployer
from orderflow.core.errors import InvalidInput, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import ProcessDraft
from orderflow.web.api import uploaded_files
from orderflow.web.auth import authenticate_api, current_actor
from orderflow.web.db_session import get_session
from orderflow.web.paging import int_arg
from orderflow.web.present import iso, lang
from orderflow.web.security import MAX_INT, safe_filename
from orderflow.workflow import catalogue, drafts, process_fields, releases, what_if
from orderflow.workflow.drafts import expression_check

bp = Blueprint("drafts", __name__, url_prefix="/api/v1")


bp.before_request(authenticate_api)


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(Msg("Send a JSON object (Content-Type: application/json)."))
    return body


def _draft_json(draft: ProcessDraft, full: bool = True) -> dict[str, Any]:
    brief: dict[str, Any] = {
        "key": draft.key, "main_file": draft.main_file, "base_version": draft.base_version,
        "lock_version": draft.lock_version, "updated_by": draft.updated_by, "updated_at": iso(draft.updated_at),
        "files": sorted(draft.sources), "form_keys": sorted(draft.forms), "saved": draft.id is not None}
    if full:
        brief.update(bpmn=draft.sources[draft.main_file], forms=draft.forms)
    return brief


@bp.get("/handlers")
def list_handlers():
    require_deployer(current_actor())
    return jsonify(items=catalogue.handlers(get_session()))


@bp.get("/groups")
def list_groups():
    current_actor()
    return jsonify(items=catalogue.groups(get_session()))


@bp.get("/forms")
def list_forms():
    require_deployer(current_actor())
    return jsonify(items=catalogue.forms(get_session(), request.args.get("process") or None))


@bp.get("/forms/<form_key>")
def get_form(form_key: str):
    require_deployer(current_actor())
    found = catalogue.form(get_session(), request.args.get("process") or None, form_key)
    if found is None:
        raise NotFound(Msg("There is no form '%(key)s'.", key=form_key))
    return jsonify(key=form_key, source=found[0], schema=found[1])


@bp.post("/processes/check")
def check_upload():
    return jsonify(drafts.check_files(get_session(), current_actor(), uploaded_files()))


@bp.post("/processes/drafts")
def new_draft():
    body = _json()
    draft = drafts.new_process(get_session(), current_actor(), str(body.get("key") or ""), str(body.get("name") or ""))
    return jsonify(_draft_json(draft)), 201


@bp.get("/processes/<key>/draft")
def open_draft(key: str):
    draft = drafts.open_draft(get_session(), current_actor(), key, int_arg("version"), persist=False)
    return jsonify(_draft_json(draft))


@bp.put("/processes/<key>/draft")
def save_draft(key: str):
    body = _json()
    lock, base = body.get("lock_version"), body.get("base_version")
    for name, value in (("lock_version", lock), ("base_version", base)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INT):
            raise InvalidInput(Msg("'%(name)s' must be a whole number.", name=name), fields={name: Msg("invalid")})
    forms = body.get("forms")
    if forms is not None and not isinstance(forms, dict):
        raise InvalidInput(Msg("'forms' must map form keys to JSON Schemas."), fields={"forms": Msg("invalid")})
    removed = body.get("removed_forms")
    if removed is not None and not (isinstance(removed, list) and all(isinstance(k, str) for k in removed)):
        raise InvalidInput(Msg("'removed_forms' must be a list of form keys."),
                           fields={"removed_forms": Msg("invalid")})
    draft = drafts.save(get_session(), current_actor(), key, bpmn=body.get("bpmn"), forms=forms,
                        removed_forms=removed, lock_version=lock, base_version=base)
    return jsonify(_draft_json(draft, full=False))


@bp.delete("/processes/<key>/draft")
def discard_draft(key: str):
    drafts.discard(get_session(), current_actor(), key)
    return Response(status=204)


@bp.post("/processes/<key>/draft/check")
def check_draft(key: str):
    return jsonify(drafts.check(get_session(), current_actor(), key))


@bp.post("/expressions/check")
def check_expression():
    """The modeler's check as you type: ``{ok, message}`` for one condition or expression; with
    ``process``, also ``reading`` (the condition in words) and ``unknown`` (names nothing sets)."""
    require_deployer(current_actor())
    body = _json()
    text, process = body.get("expression"), body.get("process")
    if not isinstance(text, str):
        raise InvalidInput(Msg("'expression' must be text."), fields={"expression": Msg("not text")})
    if process is None:
        return jsonify(expression_check(text))
    if not isinstance(process, str):
        raise InvalidInput(Msg("'process' must be a process key."), fields={"process": Msg("not text")})
    return jsonify(process_fields.check(get_session(), current_actor(), text, process, lang()))


@bp.get("/processes/<key>/draft/fields")
def draft_fields(key: str):
    """What the process's conditions can read: its forms' fields and the names its steps set."""
    return jsonify(items=process_fields.fields(get_session(), current_actor(), key))


@bp.get("/processes/<key>/draft/release")
def release_preview(key: str):
    return jsonify(releases.preview(get_session(), current_actor(), key))


@bp.get("/processes/<key>/draft/what-if")
def what_if_forecast(key: str):
    weeks = int_arg("weeks")
    result = what_if.forecast(get_session(), current_actor(), key, what_if.WEEKS if weeks is None else weeks)
    return jsonify(what_if.as_json(result))


@bp.post("/processes/<key>/draft/deploy")
def deploy_draft(key: str):
    note = _json().get("note") if request.get_data() else None   # no body: a deploy without a note
    rows, warnings = drafts.deploy(get_session(), current_actor(), key, note)
    return jsonify(deployed=[{"key": r.key, "version": r.version} for r in rows], warnings=warnings), 201


@bp.get("/processes/<key>/draft/bpmn")
def draft_bpmn(key: str):
    require_deployer(current_actor())
    draft = drafts.get(get_session(), key)
    if draft is None:
        raise NotFound(Msg("There is no draft of '%(key)s'.", key=key))
    response = Response(draft.sources[draft.main_file], mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(draft.key)}-draft.bpmn"'
    return response
