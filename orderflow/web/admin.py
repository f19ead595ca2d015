"""Administrators: users, groups and API tokens — pages (``bp``, CSRF-protected forms) and the JSON
API (``api_bp`` under /api/v1, CSRF-exempt and authenticated like api.bp). Own API tokens
(``/api/v1/tokens``) are here too. Bad input re-shows the form with the fields marked."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from orderflow.access import admin, tokens
from orderflow.access.permissions import can, require
from orderflow.core.errors import Conflict, InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import ApiToken, User
from orderflow.web.auth import authenticate_api, current_actor, login_required
from orderflow.web.db_session import get_session
from orderflow.web.present import iso, localize, localize_fields, now
from orderflow.workflow import catalogue

bp = Blueprint("admin", __name__)
api_bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")
api_bp.before_request(authenticate_api)
SHOWN_ERRORS = (InvalidInput, Conflict)  # re-shown on the form; anything else is the error page


def _shown(exc: InvalidInput | Conflict) -> dict[str, Any]:
    get_session().rollback()
    return {"error": localize(exc.message), "fields": localize_fields(exc.extra.get("fields"))}


@bp.app_context_processor
def _permissions() -> dict[str, Any]:
    """``can('admin.users')`` in templates, for the current user."""
    actor = g.get("actor") or (current_user.user if current_user and current_user.is_authenticated else None)
    return {"can": lambda action: can(actor, action)}


# -- pages: users -------------------------------------------------------------------------------

@bp.get("/admin")
@login_required
def index():
    require(current_actor(), "admin.users")
    return redirect(url_for("admin.users"))


@bp.route("/admin/users", methods=["GET", "POST"])
@login_required
def users() -> ResponseReturnValue:
    session, actor = get_session(), current_actor()
    shown: dict[str, Any] = {"error": None, "fields": {}}
    status = 200
    if request.method == "POST":
        f = request.form
        try:
            user = admin.create_user(session, actor, f.get("username"), f.get("display_name"), f.get("email"),
                                     f.get("password"), f.getlist("groups"))
        except SHOWN_ERRORS as exc:
            shown, status = _shown(exc), exc.status
        else:
            flash(_("%(user)s can log in now.", user=user.username), "success")
            return redirect(url_for("admin.user", username=user.username))
    q = request.args.get("q", "").strip()
    return render_template("admin/admin_users.html", users=admin.list_users(session, actor, q), q=q,
                           groups=catalogue.groups(session), form=request.form, **shown), status


@bp.route("/admin/users/<username>", methods=["GET", "POST"])
@login_required
def user(username: str):
    """One user: details and groups, activation, a new password — three small forms (``form``)."""
    session, actor = get_session(), current_actor()
    which, shown, status = request.form.get("form", ""), {}, 200
    if request.method == "POST":
        f = request.form
        try:
            if which == "details":
                admin.update_profile(session, actor, username, f.get("display_name"), f.get("email"))
                admin.set_groups(session, actor, username, f.getlist("groups"))
                note = _("Saved.")
            elif which == "password":
                admin.reset_password(session, actor, username, f.get("password"))
                note = _("The password was changed; tell %(user)s the new one.", user=username)
            elif which == "active":
                active = f.get("active") == "1"
                admin.set_active(session, actor, username, active)
                note = _("The account is active again.") if active else _("The account is deactivated.")
            else:
                raise InvalidInput(Msg("This form is not one this page sends; reload the page."))
        except SHOWN_ERRORS as exc:
            shown, status = _shown(exc), exc.status
        else:
            flash(note, "success")
            return redirect(url_for("admin.user", username=username))
    target = admin.get_user(session, actor, username)
    own = [t for t in tokens.listing(session, actor, everyone=True) if t.user_id == target.id]
    return render_template("admin/admin_user.html", user=target, groups=catalogue.groups(session), which=which,
                           form=request.form, shown=shown, tokens=own, status_of=_status), status


# -- pages: groups and tokens --------------------------------------------------------------------

@bp.route("/admin/groups", methods=["GET", "POST"])
@login_required
def groups() -> ResponseReturnValue:
    session, actor = get_session(), current_actor()
    shown: dict[str, Any] = {"error": None, "fields": {}}
    status = 200
    if request.method == "POST":
        f = request.form
        try:
            group = admin.create_group(session, actor, f.get("id"), f.get("name"), f.get("name_zh"))
        except SHOWN_ERRORS as exc:
            shown, status = _shown(exc), exc.status
        else:
            flash(_("Group %(group)s created.", group=group.id), "success")
            return redirect(url_for("admin.groups"))
    return render_template("admin/admin_groups.html", groups=admin.list_groups(session, actor), form=request.form,
                           **shown), status


def _status(row: ApiToken) -> str:
    return tokens.status(row, now())


@bp.route("/admin/tokens", methods=["GET", "POST"])
@login_required
def tokens_page() -> ResponseReturnValue:
    session, actor = get_session(), current_actor()
    shown: dict[str, Any] = {"error": None, "fields": {}}
    status, issued = 200, None
    if request.method == "POST":
        f = request.form
        try:
            require(actor, "admin.tokens")
            row, secret = tokens.issue(session, actor, f.get("user"), f.get("name", ""), f.get("expires_in_days"),
                                       via=g.auth_method)
        except SHOWN_ERRORS as exc:
            shown, status = _shown(exc), exc.status
        else:
            issued = {"row": row, "secret": secret}  # shown on this response only, never stored
    rows = tokens.listing(session, actor, everyone=True)
    people = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))
    response = current_app.make_response((render_template(
        "admin/admin_tokens.html", tokens=rows, people=people, issued=issued, form=request.form if not issued else {},
        default_days=current_app.config["ORDERFLOW_TOKEN_DAYS"], status_of=_status, **shown), status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/admin/tokens/<int:token_id>/revoke")
@login_required
def revoke_page(token_id: int):
    session, actor = get_session(), current_actor()
    require(actor, "admin.tokens")
    row = tokens.revoke(session, actor, token_id)
    flash(_("Token %(prefix)s… of %(user)s is revoked.", prefix=row.prefix, user=row.user.username), "success")
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/admin/") else url_for("admin.tokens_page"))


# -- JSON API ------------------------------------------------------------------------------------

def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(Msg("Send a JSON object (Content-Type: application/json)."))
    return body


def user_json(u: User) -> dict[str, Any]:
    return {"username": u.username, "display_name": u.display_name, "email": u.email, "active": u.active,
            "groups": sorted(u.group_ids), "created_at": iso(u.created_at)}


def token_json(t: ApiToken) -> dict[str, Any]:
    return {"id": t.id, "user": t.user.username, "name": t.name, "prefix": t.prefix, "created_at": iso(t.created_at),
            "created_by": t.created_by, "expires_at": iso(t.expires_at), "last_used_at": iso(t.last_used_at),
            "revoked_at": iso(t.revoked_at), "status": _status(t)}


@api_bp.get("/admin/users")
def api_users():
    return jsonify(items=[user_json(u) for u in admin.list_users(get_session(), current_actor(),
                                                                  request.args.get("q"))])


@api_bp.post("/admin/users")
def api_create_user():
    body = _json()
    groups = body.get("groups", [])
    if not isinstance(groups, list):
        raise InvalidInput(Msg("'groups' must be a list of group ids."), fields={"groups": Msg("A list of group ids.")})
    user = admin.create_user(get_session(), current_actor(), body.get("username"), body.get("display_name"),
                             body.get("email"), body.get("password"), groups)
    return jsonify(user_json(user)), 201


_PATCHABLE = {"display_name", "email", "groups", "active", "password"}


@api_bp.patch("/admin/users/<username>")
def api_update_user(username: str):
    session, actor, body = get_session(), current_actor(), _json()
    user = admin.get_user(session, actor, username)
    unknown = sorted(set(body) - _PATCHABLE)
    if unknown:
        raise InvalidInput(Msg("These fields cannot be changed here: %(names)s.", names=", ".join(unknown)),
                           fields={name: Msg("unknown field") for name in unknown})
    if "display_name" in body or "email" in body:
        admin.update_profile(session, actor, username, body.get("display_name", user.display_name),
                             body.get("email", user.email))
    if "groups" in body:
        admin.set_groups(session, actor, username, body["groups"] if isinstance(body["groups"], list) else None)
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise InvalidInput(Msg("'active' must be true or false."), fields={"active": Msg("true or false")})
        admin.set_active(session, actor, username, body["active"])
    if "password" in body:
        admin.reset_password(session, actor, username, body["password"])
    return jsonify(user_json(user))


@api_bp.get("/admin/groups")
def api_groups():
    return jsonify(items=[{"id": r.id, "name": r.name, "name_zh": r.name_zh, "members": r.members,
                           "builtin": r.builtin} for r in admin.list_groups(get_session(), current_actor())])


@api_bp.post("/admin/groups")
def api_create_group():
    body = _json()
    group = admin.create_group(get_session(), current_actor(), body.get("id"), body.get("name"), body.get("name_zh"))
    return jsonify(id=group.id, name=group.name, name_zh=group.name_zh), 201


def _issue(username: str | None):
    body = _json()
    row, secret = tokens.issue(get_session(), current_actor(), username, body.get("name", ""),
                               body.get("expires_in_days"), via=g.auth_method)
    return jsonify({**token_json(row), "token": secret}), 201


@api_bp.get("/admin/tokens")
def api_tokens():
    return jsonify(items=[token_json(t) for t in tokens.listing(get_session(), current_actor(), everyone=True)])


@api_bp.post("/admin/tokens")
def api_issue_token():
    require(current_actor(), "admin.tokens")
    user = _json().get("user")
    if not isinstance(user, str) or not user:
        raise InvalidInput(Msg("Name the user the token is for."), fields={"user": Msg("required")})
    return _issue(user)


@api_bp.delete("/admin/tokens/<int:token_id>")
def api_revoke_token(token_id: int):
    require(current_actor(), "admin.tokens")
    return _revoke(token_id)


def _revoke(token_id: int):
    return jsonify(token_json(tokens.revoke(get_session(), current_actor(), token_id)))


@api_bp.get("/tokens")
def api_own_tokens():
    return jsonify(items=[token_json(t) for t in tokens.listing(get_session(), current_actor())])


@api_bp.post("/tokens")
def api_issue_own_token():
    return _issue(None)


@api_bp.delete("/tokens/<int:token_id>")
def api_revoke_own_token(token_id: int):
    return _revoke(token_id)
