"""The pages people use: inbox, task forms, new order, orders and one order."""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import FileStorage

from orderflow.access import accounts
from orderflow.access.permissions import is_overseer, may_start, require_starter
from orderflow.core.errors import Conflict, InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import User
from orderflow.orders.keys import ORDER_PROCESS
from orderflow.orders.order_page import order_page
from orderflow.web.auth import current_actor, login_required, safe_next
from orderflow.web.db_session import get_session
from orderflow.web.present import bilingual, localize, localize_fields, now
from orderflow.workflow import (
    attachments,
    customer_links,
    definitions,
    forms,
    instances,
    listing,
    recovery,
    saved_filters,
    signatures,
    tasks,
)
from orderflow.workflow import inbox as task_inbox

bp = Blueprint("pages", __name__)


def _navbar_startable() -> list:
    """The latest versions of the processes the signed-in actor may start (once per request; the
    navbar must never break a page, the error page itself included)."""
    if "startable" not in g:
        actor = g.get("actor") or (current_user.user if current_user and current_user.is_authenticated else None)
        try:
            rows = definitions.list_latest(get_session()) if actor else []
        except SQLAlchemyError:
            rows = []
        g.startable = [row for row in rows if actor is not None and may_start(actor, row)]
    return list(g.startable)


@bp.app_context_processor
def _start_link() -> dict[str, Any]:
    """``may_start_order()``: the navbar offers "New order" only to those who may start the order
    flow; ``may_start_other()``: "Start" to those who may start another process."""
    def may_start_order() -> bool:
        return any(row.key == ORDER_PROCESS for row in _navbar_startable())

    def may_start_other() -> bool:
        return any(row.key != ORDER_PROCESS for row in _navbar_startable())
    return {"may_start_order": may_start_order, "may_start_other": may_start_other}


@bp.get("/")
@login_required
def home():
    return redirect(url_for("pages.inbox"))


@bp.get("/inbox")
@login_required
def inbox():
    session, actor = get_session(), current_actor()
    wanted = task_inbox.InboxFilter.from_args(request.args)
    size = int(current_app.config["ORDERFLOW_PAGE_SIZE"])
    query = task_inbox.query(session, actor, wanted)
    counted = task_inbox.counts(session, actor, wanted)
    total = task_inbox.capped_count(session, query)   # past COUNT_CAP: "more than", as the counts
    pages = max(1, -(-min(total, task_inbox.COUNT_CAP) // size))
    page_no = min(max(wanted.page, 1), pages)
    rows = list(session.scalars(query.limit(size).offset((page_no - 1) * size)))
    today, _, _ = task_inbox.today_bounds(session, now())
    saved = task_inbox.list_filters(session, actor)
    names = accounts.display_names(session, (t.assignee for t in rows))
    return render_template("pages/inbox.html", tasks=rows, scope=wanted.scope, wanted=wanted, names=names,
                           overseer=is_overseer(actor), now=now(), today=today, total=min(total, task_inbox.COUNT_CAP),
                           total_capped=total > task_inbox.COUNT_CAP, counts=counted, count_cap=task_inbox.COUNT_CAP,
                           page=page_no, pages=pages, columns=task_inbox.columns(actor), all_columns=task_inbox.COLUMNS,
                           processes=definitions.list_latest(session), saved=saved,
                           changeable={r.id for r in saved if saved_filters.may_change(actor, r)},
                           late_days=task_inbox.late_days, groups=sorted(actor.groups, key=lambda g: g.id),
                           me=actor.username)


@bp.post("/inbox/columns")
@login_required
def inbox_columns():
    task_inbox.set_columns(get_session(), current_actor(), request.form.getlist("columns"))
    return redirect(safe_next(request.form.get("next")))


@bp.post("/inbox/filters")
@login_required
def inbox_save_filter():
    row = task_inbox.save_filter(get_session(), current_actor(), request.form.get("name", ""),
                            request.form.get("query", ""), request.form.get("group") or None)
    query = row.query
    flash(_("Filter saved."), "success")
    return redirect(url_for("pages.inbox") + ("?" + query if query else ""))


@bp.post("/inbox/filters/<int:filter_id>/rename")
@login_required
def inbox_rename_filter(filter_id: int):
    session = get_session()
    try:
        row = task_inbox.rename_filter(session, current_actor(), filter_id, request.form.get("name", ""))
    except InvalidInput as exc:   # (nothing was changed)
        flash(localize(exc.message), "danger")
    else:
        flash(_("The filter is now called “%(name)s”.", name=row.name), "success")
    return redirect(safe_next(request.form.get("next")) if request.form.get("next") else url_for("pages.inbox"))


@bp.post("/inbox/filters/<int:filter_id>/delete")
@login_required
def inbox_delete_filter(filter_id: int):
    task_inbox.delete_filter(get_session(), current_actor(), filter_id)
    flash(_("Filter deleted."), "success")
    return redirect(url_for("pages.inbox"))


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    tasks.claim(get_session(), current_actor(), task_id)
    return _back_to_task_list(task_id)


@bp.post("/tasks/<int:task_id>/release")
@login_required
def release(task_id: int):
    tasks.release(get_session(), current_actor(), task_id)
    return _back_to_task_list(task_id)


def _back_to_task_list(task_id: int):
    if request.headers.get("HX-Request"):
        task = tasks.get(get_session(), current_actor(), task_id)
        today, _, _ = task_inbox.today_bounds(get_session(), now())
        names = accounts.display_names(get_session(), [task.assignee])
        return render_template("pages/partials/task_row.html", task=task, names=names, now=now(), today=today,
                               columns=task_inbox.columns(current_actor()), late_days=task_inbox.late_days)
    return redirect(safe_next(request.form.get("next")))


def save_uploads(schema: dict[str, Any], instance_id: int | None, actor: User) -> dict[str, str]:
    """Store the request's files for the form's attachment fields; values are their references."""
    saved = {}
    for name, prop in forms.fields(schema):
        upload: FileStorage | None = request.files.get(name)
        if prop.get("format") == "attachment" and upload is not None and upload.filename:
            saved[name] = attachments.save(get_session(), actor, instance_id, upload.filename, upload.mimetype,
                                           upload.read())
    return saved


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_page(task_id: int):
    session, actor = get_session(), current_actor()
    view = tasks.form_for(session, actor, task_id)
    errors: dict[str, str] = {}
    values, status = view.values, 200
    if request.method == "POST":
        submitted, files, posted = {}, {}, None
        try:  # the post itself may be refused (too many rows): shown on the form like any field
            submitted = posted = forms.from_post(view.schema, request.form.to_dict(flat=False))
            files = save_uploads(view.schema, view.task.instance_id, actor)
            submitted.update(files)
            tasks.complete(session, actor, task_id, submitted, request.form.get("password"))
            flash(_("Done: %(name)s", name=bilingual(view.task.name)), "success")
            return redirect(url_for("pages.inbox"))
        except (InvalidInput, Conflict) as exc:  # Conflict: claimed meanwhile, or a lost race
            session.rollback()
            view = tasks.form_for(session, actor, task_id)  # the rollback dropped this request's files
            errors = localize_fields(exc.fields if isinstance(exc, InvalidInput) else {"_form": exc.message})
            kept = None if posted is None else {k: v for k, v in posted.items() if k not in files}
            values = forms.after_error(view.schema, view.values, kept)  # as typed, even where rejected
            status = exc.status
    links = customer_links.links_of(session, task_id) if view.task.customer_step else []
    names = accounts.display_names(session, [view.task.assignee])
    return render_template("pages/task.html", view=view, values=values, errors=errors, names=names, now=now(),
                           signing=signatures.hint(session, actor, view.task), customer_links=links), status


@bp.route("/processes/<key>/start", methods=["GET", "POST"])
@login_required
def start(key: str):
    session, actor = get_session(), current_actor()
    row = definitions.get_version(session, key)
    require_starter(actor, row)  # before the form: nobody fills in a form they may not send
    schema = definitions.form(session, row, row.start_form) or {"type": "object", "properties": {}}
    errors: dict[str, str] = {}
    # a link may pre-fill text fields (the order page's "open an after-sales case" names its order)
    asked = {k: v for k, v in request.args.items()
             if (schema.get("properties") or {}).get(k, {}).get("type") == "string" and len(v) <= 200}
    values = forms.prefill(schema, asked)
    if request.method == "POST":
        submitted, files = {}, {}
        try:  # the post itself may be refused (too many rows): shown on the form like any field
            submitted = forms.from_post(schema, request.form.to_dict(flat=False))
            files = save_uploads(schema, None, actor)
            submitted.update(files)
            instance = instances.start(session, actor, key, submitted)
            if key == ORDER_PROCESS:
                flash(_("Order %(no)s entered.", no=instance.business_key or instance.id), "success")
            else:
                flash(_("%(no)s started.", no=instance.business_key or instance.id), "success")
            return redirect(url_for("pages.order", instance_id=instance.id))
        except InvalidInput as exc:
            session.rollback()  # drops this request's files too: ask for them again
            errors, values = localize_fields(exc.fields), {k: v for k, v in submitted.items() if k not in files}
    return render_template("pages/start.html", process=row, is_order=row.key == ORDER_PROCESS, schema=schema,
                           values=values, errors=errors), (422 if errors else 200)


@bp.get("/start")
@login_required
def start_list():
    """Every process the actor may start, each with its start page (any process, not only the order flow)."""
    actor = current_actor()
    startable = [row for row in definitions.list_latest(get_session()) if may_start(actor, row)]
    return render_template("pages/start_list.html", processes=startable)


@bp.get("/orders/new")
@login_required
def new_order():
    return redirect(url_for("pages.start", key=ORDER_PROCESS))


@bp.get("/orders")
@login_required
def orders():
    query = listing.instances_query(current_actor(), listing.InstanceFilter(text=request.args.get("q", "")))
    return render_template("pages/orders.html", orders=list(get_session().scalars(query.limit(200))),
                           q=request.args.get("q", ""))


@bp.get("/orders/<int:instance_id>")
@login_required
def order(instance_id: int):
    page = order_page(get_session(), current_actor(), instance_id)
    view = page.view
    names = accounts.display_names(get_session(), [view.instance.started_by, *(t.assignee for t in view.open_tasks),
                                                   *(t.completed_by for t in view.history),
                                                   *(e.actor for e in page.events)])
    return render_template("pages/order.html", view=view, events=page.events, signatures=page.signatures,
                           chain_break=page.chain_break, names=names, now=now(), overseer=page.overseer,
                           contacts=page.contacts, work_groups=page.work_groups, related=page.related,
                           records=page.records, order_process=ORDER_PROCESS)


@bp.post("/tasks/<int:task_id>/reassign")
@login_required
def reassign(task_id: int):
    """The order page's form sends ``to`` = ``user:<name>`` or ``group:<id>``; ``user``/``group`` work too."""
    session, actor = get_session(), current_actor()
    kind, _sep, target = request.form.get("to", "").partition(":")
    to_user = request.form.get("user") or (target if kind == "user" else None)
    to_group = request.form.get("group") or (target if kind == "group" else None)
    try:
        task = tasks.reassign(session, actor, task_id, to_user=to_user, to_group=to_group)
    except InvalidInput as exc:
        session.rollback()
        flash(localize(exc.message), "error")
        task = tasks.get(session, actor, task_id)
    else:
        flash(_("The task was reassigned."), "success")
    return redirect(url_for("pages.order", instance_id=task.instance_id))


@bp.post("/orders/<int:instance_id>/<any(suspend, resume, terminate):action>")
@login_required
def order_action(instance_id: int, action: str):
    getattr(instances, action)(get_session(), current_actor(), instance_id, request.form.get("reason") or None)
    return redirect(url_for("pages.order", instance_id=instance_id))


@bp.post("/incidents/<int:incident_id>/retry")
@login_required
def incident_retry(incident_id: int):
    incident = recovery.retry(get_session(), current_actor(), incident_id)
    flash(_("The step will run again in a moment."), "success")
    return redirect(url_for("pages.order", instance_id=incident.instance_id))


@bp.post("/incidents/<int:incident_id>/complete")
@login_required
def incident_complete(incident_id: int):
    raw = request.form.get("result", "").strip()
    try:  # strict, as API bodies are: no NaN, huge integers or lone surrogates
        result = current_app.json.loads(raw) if raw else None
    except ValueError:
        raise InvalidInput(Msg("The result must be JSON."), fields={"result": Msg("not JSON")}) from None
    incident = recovery.complete_by_hand(get_session(), current_actor(), incident_id, result)
    flash(_("The step was completed by hand."), "success")
    return redirect(url_for("pages.order", instance_id=incident.instance_id))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    row = attachments.get(get_session(), current_actor(), attachment_id)
    return send_file(io.BytesIO(row.content), mimetype="application/octet-stream", as_attachment=True,
                     download_name=row.filename)
