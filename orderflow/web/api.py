"""HTTP API v1 (../shared/API.md): parse input → domain function → JSON; committed once at the edge (db_session)."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from orderflow.access import accounts
from orderflow.access.permissions import require, start_groups
from orderflow.core import audit
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import HumanTask, Incident, Instance, SavedFilter, User
from orderflow.orders import board as order_board
from orderflow.web.auth import authenticate_api, current_actor
from orderflow.web.db_session import get_session
from orderflow.web.paging import int_arg, page_args, paged_json, paged_rows
from orderflow.web.present import history_json, incident_json, instance_summary, iso, now, signature_json, task_json
from orderflow.web.security import safe_filename
from orderflow.web.trust import audit_csv_response
from orderflow.workflow import (
    attachments,
    customer_links,
    definitions,
    drafts,
    inbox,
    incidents,
    instances,
    listing,
    messages,
    processes,
    recovery,
    runs,
    signatures,
    tasks,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")


bp.before_request(authenticate_api)


def _body(instance_id: int | None = None) -> dict[str, Any]:
    """The JSON body; or multipart/form-data with a JSON part ``body`` (or ``data``, the form
    fields alone) and one file part per attachment field, stored before the domain sees them."""
    if request.mimetype == "multipart/form-data":
        try:
            payload = current_app.json.loads(request.form.get("body") or "{}")
            if "data" in request.form and isinstance(payload, dict):  # (else refused below)
                payload["data"] = current_app.json.loads(request.form["data"])
        except ValueError:
            raise InvalidInput(Msg("The 'body' and 'data' parts must hold JSON.")) from None
        if not isinstance(payload, dict) or not isinstance(payload.get("data", {}), dict):
            raise InvalidInput(Msg("'data' must be a JSON object of the form's fields."))
        data = payload.setdefault("data", {})
        for name, upload in request.files.items():
            data[name] = attachments.save(get_session(), current_actor(), instance_id, upload.filename or name,
                                          upload.mimetype, upload.read())
        return payload
    if not request.data:
        return {}
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise InvalidInput(Msg("The request body must be a JSON object (Content-Type: application/json)."))
    return payload


# -- processes ---------------------------------------------------------------

@bp.get("/processes")
def list_processes():
    latest = {p.key: p.version for p in definitions.list_latest(get_session())}
    return jsonify(items=[{
        "key": p.key, "name": p.name, "version": p.version, "sha256": p.sha256, "deployed_at": iso(p.deployed_at),
        "deployed_by": p.deployed_by, "latest": latest.get(p.key) == p.version,
    } for p in definitions.list_versions(get_session())], next_cursor=None)


def uploaded_files() -> dict[str, bytes]:
    if request.mimetype in {"application/xml", "text/xml", "application/bpmn+xml"}:
        return {"upload.bpmn": request.get_data()}
    if request.mimetype == "multipart/form-data":
        files = {f.filename or f"file{i}": f.read() for i, f in enumerate(request.files.getlist("files"))}
        if not files:
            raise InvalidInput(Msg("Send the diagram as parts named 'files'."),
                               fields={"files": Msg("No file was sent.")})
        bad = [n for n in files if not n.endswith((".bpmn", ".dmn", ".json", ".xml"))]
        if bad:
            raise InvalidInput(Msg("Only .bpmn, .dmn and form .json files can be deployed: %(files)s.",
                                   files=", ".join(bad)), fields={"files": Msg("unsupported file type")})
        return files
    raise InvalidInput(Msg("Send BPMN XML (Content-Type: application/xml) or multipart/form-data with 'files'."))


@bp.post("/processes")
def deploy_processes() -> ResponseReturnValue:
    warnings: list[dict] = []
    rows = processes.deploy(get_session(), current_actor(), uploaded_files(), warnings=warnings,
                            note=request.form.get("note"))
    return jsonify(deployed=[{"key": r.key, "version": r.version} for r in rows], warnings=warnings), 201


@bp.get("/processes/<key>")
def get_process(key: str):
    row = definitions.get_version(get_session(), key, int_arg("version"))
    return jsonify(key=row.key, name=row.name, version=row.version, sha256=row.sha256,
                   start_form=definitions.form(get_session(), row, row.start_form) if row.start_form else None,
                   start_groups=start_groups(row))


@bp.get("/processes/<key>/bpmn")
def get_bpmn(key: str):
    row = definitions.get_version(get_session(), key, int_arg("version"))
    name = drafts.main_file(row)
    response = Response(row.sources[name], mimetype="application/xml")  # a download, never a page of this site
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(row.key)}-v{row.version}.bpmn"'
    return response


# -- instances ---------------------------------------------------------------

@bp.post("/processes/<key>/instances")
def start_instance(key: str):
    body = _body()
    instance = instances.start(get_session(), current_actor(), key, body.get("data", {}), int_arg("version"))
    return jsonify(_instance_brief(instance)), 201


def _instance_brief(instance: Instance) -> dict[str, Any]:
    open_tasks = runs.open_tasks(get_session(), instance)
    return {"id": instance.id, "business_key": instance.business_key, "status": instance.status,
            "open_tasks": [task_json(t) for t in open_tasks]}


@bp.get("/instances")
def list_instances():
    args = request.args
    wanted = listing.InstanceFilter(process=args.get("process"), status=args.get("status"),
                                    business_key=args.get("business_key"), element=args.get("element"),
                                    due_before=now() if args.get("overdue") in {"1", "true", "yes"} else None)
    return paged_json(listing.instances_query(current_actor(), wanted), instance_summary, page_args())


@bp.get("/instances/<int:instance_id>")
def get_instance(instance_id: int):
    view = instances.view(get_session(), current_actor(), instance_id)
    names = accounts.display_names(get_session(), [*(t.assignee for t in view.open_tasks),
                                                   *(t.completed_by for t in view.history)])
    return jsonify(**instance_summary(view.instance), data=view.data,
                   open_tasks=[task_json(t, names) for t in view.open_tasks],
                   history=[history_json(t, names) for t in view.history],
                   incidents=[incident_json(i) for i in view.incidents],
                   waits=[w.as_dict() for w in view.waits],
                   signatures=[signature_json(s) for s in signatures.states(get_session(), instance_id, view.data)])


def _state_change(action):
    def view(instance_id: int):
        body = _body()
        instance = action(get_session(), current_actor(), instance_id, body.get("reason"))
        return jsonify(id=instance.id, status=instance.status)
    return view


for _name in ("suspend", "resume", "terminate"):
    bp.add_url_rule(f"/instances/<int:instance_id>/{_name}", f"{_name}_instance",
                    _state_change(getattr(instances, _name)), methods=["POST"])


@bp.get("/instances/<int:instance_id>/audit")
def instance_audit(instance_id: int):
    if request.args.get("format") == "csv":
        return audit_csv_response(instance_id)
    instances.get(get_session(), current_actor(), instance_id)
    return jsonify(items=[{"at": iso(e.at), "actor": e.actor, "action": e.action, "element_id": e.element_id,
                           "detail": e.detail, "prev_hash": e.prev_hash, "hash": e.hash}
                          for e in audit.events(get_session(), instance_id)], next_cursor=None)


# -- tasks -------------------------------------------------------------------

@bp.get("/tasks")
def list_tasks():
    wanted = inbox.InboxFilter.from_args(request.args)
    query = inbox.query(get_session(), current_actor(), wanted)
    today, _, _ = inbox.today_bounds(get_session(), now())
    rows, cursor = paged_rows(query, page_args())
    names = accounts.display_names(get_session(), (t.assignee for t in rows))
    return jsonify(items=[_inbox_task_json(t, names, today) for t in rows], next_cursor=cursor)


def _inbox_task_json(task: HumanTask, names: dict[str, str], today: date) -> dict[str, Any]:
    instance = task.instance
    return {**task_json(task, names), "customer": instance.customer, "order_total": instance.order_total,
            "promised_date": instance.promised_date.isoformat() if instance.promised_date else None,
            "late_days": inbox.late_days(instance.promised_date, today)}


@bp.get("/tasks/counts")
def task_counts():
    found = inbox.counts(get_session(), current_actor(), inbox.InboxFilter.from_args(request.args))
    return jsonify(total=found.total, staff=found.staff, overdue=found.overdue, today=found.today,
                   waiting=found.waiting, mine=found.mine, capped=sorted(found.capped))


@bp.get("/tasks/columns")
def get_task_columns():
    return jsonify(columns=inbox.columns(current_actor()), choices=list(inbox.COLUMNS))


@bp.put("/tasks/columns")
def put_task_columns():
    chosen = inbox.set_columns(get_session(), current_actor(), _body().get("columns"))
    return jsonify(columns=chosen, choices=list(inbox.COLUMNS))


def _filter_json(row) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "query": row.query, "owner": row.owner, "group": row.group_id,
            "created_at": iso(row.created_at)}


@bp.get("/tasks/filters")
def list_task_filters():
    return jsonify(items=[_filter_json(r) for r in inbox.list_filters(get_session(), current_actor())],
                   next_cursor=None)


@bp.post("/tasks/filters")
def save_task_filter():
    body = _body()
    for name in ("name", "query", "group"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InvalidInput(Msg("'%(name)s' must be text.", name=name), fields={name: Msg("not text")})
    row = inbox.save_filter(get_session(), current_actor(), body.get("name") or "", body.get("query") or "",
                            body.get("group"))
    result = _filter_json(row)
    return jsonify(result), 201


# one rule per path for both methods: an id beyond MAX_INT then matches nothing (404), where two
# rules would make werkzeug answer one method's bad id with 405 (the other method's rule matched)
@bp.route("/tasks/filters/<int:filter_id>", methods=["PATCH", "DELETE"])
def change_task_filter(filter_id: int):
    if request.method == "DELETE":
        inbox.delete_filter(get_session(), current_actor(), filter_id)
        return "", 204
    row = inbox.rename_filter(get_session(), current_actor(), filter_id, _body().get("name"))
    return jsonify(_filter_json(row))


def _board_reader() -> User:
    actor = current_actor()
    require(actor, "board.read")
    return actor


def _board_filter_json(row: SavedFilter) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "query": row.query, "owner": row.owner, "shared": bool(row.shared),
            "created_at": iso(row.created_at)}


@bp.get("/board/filters")
def list_board_filters():
    session, actor = get_session(), _board_reader()
    return jsonify(items=[_board_filter_json(r) for r in order_board.list_filters(session, actor)], next_cursor=None)


@bp.post("/board/filters")
def save_board_filter():
    session, actor = get_session(), _board_reader()
    body = _body()
    for name in ("name", "query"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InvalidInput(Msg("'%(name)s' must be text.", name=name), fields={name: Msg("not text")})
    row = order_board.save_filter(session, actor, body.get("name") or "", body.get("query") or "",
                            body.get("shared") is True)
    return jsonify(_board_filter_json(row)), 201


@bp.route("/board/filters/<int:filter_id>", methods=["PATCH", "DELETE"])   # one rule: see change_task_filter
def change_board_filter(filter_id: int):
    session, actor = get_session(), _board_reader()
    if request.method == "DELETE":
        order_board.delete_filter(session, actor, filter_id)
        return "", 204
    return jsonify(_board_filter_json(order_board.rename_filter(session, actor, filter_id, _body().get("name"))))


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int):
    view = tasks.form_for(get_session(), current_actor(), task_id)
    return jsonify(**task_json(view.task, accounts.display_names(get_session(), [view.task.assignee])),
                   form=view.schema, values=view.values, signature=view.signature)


@bp.post("/tasks/<int:task_id>/claim")
def claim_task(task_id: int):
    return jsonify(task_json(tasks.claim(get_session(), current_actor(), task_id)))


@bp.post("/tasks/<int:task_id>/release")
def release_task(task_id: int):
    return jsonify(task_json(tasks.release(get_session(), current_actor(), task_id)))


@bp.post("/tasks/<int:task_id>/complete")
def complete_task(task_id: int):
    # files are stored with the task's order before the step: only then is the task read beforehand
    # (a JSON body leaves the first read to the step, which reads the order's open rows with it)
    multipart = request.mimetype == "multipart/form-data"
    body = _body(tasks.get(get_session(), current_actor(), task_id).instance_id if multipart else None)
    if "data" in body and not isinstance(body["data"], dict):
        raise InvalidInput(Msg("'data' must be a JSON object of the form's fields."),
                           fields={"data": Msg("not an object")})
    task = tasks.complete(get_session(), current_actor(), task_id, body.get("data", {}), body.get("password"))
    instance = task.instance
    return jsonify(instance={"id": instance.id, "status": instance.status},
                   open_tasks=_instance_brief(instance)["open_tasks"])


@bp.post("/tasks/<int:task_id>/customer-link")
def send_customer_link(task_id: int):
    email = _body().get("email")
    customer_links.send(get_session(), current_actor(), task_id, email)
    # staff never see the link, so url is null; the address send() accepted, as it cleaned it
    return jsonify(url=None, email=customer_links.valid_email(email))


@bp.post("/tasks/<int:task_id>/reassign")
def reassign_task(task_id: int):
    body = _body()
    task = tasks.reassign(get_session(), current_actor(), task_id, to_user=body.get("user"), to_group=body.get("group"))
    return jsonify(task_json(task, accounts.display_names(get_session(), [task.assignee])))


# -- incidents ---------------------------------------------------------------

@bp.get("/incidents")
def list_incidents():
    query = incidents.listing(get_session(), current_actor(), request.args.get("resolved") in {"1", "true"})
    if request.args.get("instance_id"):
        query = query.where(Incident.instance_id == int_arg("instance_id"))
    return paged_json(query, incident_json, page_args())


@bp.post("/incidents/<int:incident_id>/retry")
def retry_incident(incident_id: int):
    return jsonify(incident_json(recovery.retry(get_session(), current_actor(), incident_id)))


@bp.post("/incidents/<int:incident_id>/complete")
def complete_incident(incident_id: int):
    body = _body()
    incident = recovery.complete_by_hand(get_session(), current_actor(), incident_id, body.get("data"))
    return jsonify(incident_json(incident))


# -- messages ----------------------------------------------------------------

@bp.post("/messages/<name>")
def deliver_message(name: str):
    body = _body()
    instance, element_id = messages.deliver(get_session(), current_actor(), name, body.get("correlation"),
                                            body.get("payload", {}))
    return jsonify(instance_id=instance.id, business_key=instance.business_key, element_id=element_id,
                   status=instance.status)
