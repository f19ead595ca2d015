"""The customer's page behind a link (no account) and the staff's "send the link" action."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from orderflow.core.errors import InvalidInput, TaskNotReady
from orderflow.web.auth import current_actor, login_required
from orderflow.web.db_session import get_session
from orderflow.web.present import localize, localize_fields
from orderflow.workflow import customer_links, forms, tasks
from orderflow.workflow.customer_links import LinkRefused

bp = Blueprint("customer_links", __name__)


# the URL holds the secret: never cached, never sent on as a referrer, never indexed
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def _private(body: str, status: int = 200):
    return body, status, _PRIVATE


def _refused(exc: LinkRefused):
    return _private(render_template("customer_links/customer_refused.html", reason=exc.reason,
                                    message=localize(exc.message)), exc.status)


@bp.route("/c/<token>", methods=["GET", "POST"])
def step(token: str):
    session = get_session()
    if current_user.is_authenticated:  # a staff session: never "by the customer"
        return _refused(customer_links.refuse_staff_session())
    try:
        page = customer_links.open_page(session, token)
    except LinkRefused as exc:
        return _refused(exc)
    errors: dict[str, str] = {}
    values = page.values
    if request.method == "POST":
        submitted = forms.from_post(page.schema, request.form.to_dict(flat=False))
        try:
            tasks.complete_by_link(session, token, submitted, request.remote_addr)
            return _private(render_template("customer_links/customer_done.html", page=page))
        except LinkRefused as exc:
            session.rollback()
            return _refused(exc)
        except TaskNotReady as exc:
            session.rollback()
            return _refused(LinkRefused(exc.message, "closed"))
        except InvalidInput as exc:
            session.rollback()
            page = customer_links.open_page(session, token)
            errors = localize_fields(exc.fields) or {"": localize(exc.message)}
            values = {**page.values, **submitted}
    return _private(render_template("customer_links/customer_step.html", page=page, values=values, errors=errors),
                    422 if errors else 200)


@bp.post("/tasks/<int:task_id>/customer-link")
@login_required
def send(task_id: int):
    session = get_session()
    try:
        customer_links.send(session, current_actor(), task_id, request.form.get("email"))
        flash(_("A new link was e-mailed to %(email)s; earlier links no longer work.",
                email=request.form.get("email", "").strip()), "success")
    except InvalidInput as exc:
        session.rollback()
        flash(localize(exc.message), "danger")
    return redirect(url_for("pages.task_page", task_id=task_id))
