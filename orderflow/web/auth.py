"""Login: session cookie for people, HTTP Basic or an API token (Bearer) for API clients."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from orderflow.access import accounts, tokens
from orderflow.core.errors import InvalidInput, NotAuthenticated, TooManyAttempts
from orderflow.core.i18n import Msg
from orderflow.core.models import User
from orderflow.web.csrf import csrf
from orderflow.web.db_session import get_session
from orderflow.web.locale import current_languages
from orderflow.web.present import localize, localize_fields

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class SessionUser(UserMixin):
    def __init__(self, user: User):
        self.user = user
        # the session names the user *and* their current password: a password change (or reset
        # by an administrator) ends every session opened with the old one
        self.id = f"{user.id}.{_password_mark(user)}"


def _password_mark(user: User) -> str:
    # and the session generation: logging out bumps it, so a cookie copied before stops working
    generation = f":{user.session_generation}" if user.session_generation else ""
    return hashlib.sha256((user.password_hash + generation).encode()).hexdigest()[:16]


@login_manager.user_loader
def _load(session_id: str) -> SessionUser | None:
    user_id, _, mark = session_id.partition(".")
    user = get_session().get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 10 else None
    if user is None or not user.active or not hmac.compare_digest(mark, _password_mark(user)):
        return None
    return SessionUser(user)


def optional_actor() -> User | None:
    """The caller, if any: HTTP Basic credentials or an API token if sent, else the session's user.
    Credentials that are sent but wrong raise NotAuthenticated all the same."""
    if "actor" in g:
        return g.actor
    actor, method = None, None
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        actor = accounts.authenticate(get_session(), auth.username or "", auth.password or "")
        if actor is None:
            raise NotAuthenticated(Msg("The user name or password is wrong."))
        method = "basic"
    elif auth is not None and auth.type == "bearer":
        actor, method = _token_user(auth.token or ""), "token"
    elif auth is not None:
        raise NotAuthenticated(Msg("Unsupported authorization scheme; use HTTP Basic, an API token or log in."))
    elif current_user.is_authenticated:
        actor, method = current_user.user, "cookie"
    g.actor, g.auth_method = actor, method
    return actor


def current_actor() -> User:
    """The caller (see ``optional_actor``); NotAuthenticated if there is none."""
    actor = optional_actor()
    if actor is None:
        raise NotAuthenticated(Msg("Log in first."))
    return actor


def _token_user(token: str) -> User | None:
    """An API token's user. Checked in a short transaction of its own: noting the use commits even
    when the request fails, and the request's transaction starts after it (no stale SQLite snapshot)."""
    from flask import current_app

    with current_app.extensions["orderflow.db"].session() as own:
        user_id = tokens.verify(own, token)
        own.commit()  # unit of work of its own: the token's use is noted even if the request fails
    return get_session().get(User, user_id)


def authenticate_api() -> None:
    """``before_request`` of the API blueprints (CSRF-exempt): a caller is required, and a
    cookie-authenticated write still needs the CSRF token (Basic-auth clients have none)."""
    current_actor()
    if request.method not in {"GET", "HEAD", "OPTIONS"} and g.auth_method == "cookie":
        csrf.protect()


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        if optional_actor() is None:
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        return view(*args, **kwargs)
    return wrapped


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the inbox: one leading ``/`` (not ``//`` or
    ``/\\``, which browsers read as another host), no scheme or host, no control characters."""
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\") or "\\" in target \
            or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return url_for("pages.inbox")
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else url_for("pages.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            user = accounts.authenticate(get_session(), request.form.get("username", "").strip(),
                                         request.form.get("password", ""), client=request.remote_addr)
        except TooManyAttempts as exc:  # the password was not looked at
            return render_template("auth/login.html", error=localize(exc.message)), 429, {
                "Retry-After": str(exc.retry_after)}
        if user is not None:
            session.clear()
            login_user(SessionUser(user))
            return redirect(safe_next(request.args.get("next")))
        error = _("The user name or password is wrong.")
    return render_template("auth/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:  # server-side: the cookie's generation is over
        accounts.end_sessions(get_session(), current_user.user)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/me", methods=["GET", "POST"])
@login_required
def me():
    """One's own settings: the time zone times are shown in (the language is the navbar's switch)."""
    actor, errors, message = current_actor(), {}, None
    if request.method == "POST":
        try:
            accounts.set_time_zone(get_session(), actor, request.form.get("time_zone"))
        except InvalidInput as exc:
            get_session().rollback()
            errors, message = localize_fields(exc.fields), localize(exc.message)
        else:
            flash(_("Your settings were saved."), "success")
            return redirect(url_for("auth.me"))
    company = current_app.config["ORDERFLOW_DISPLAY_TIMEZONE"]
    return render_template("auth/me.html", zones=sorted(available_timezones()), company=company,
                           chosen=request.form.get("time_zone", actor.time_zone or ""), errors=errors,
                           message=message), \
        (422 if errors else 200)


@bp.post("/language")
def language():
    chosen = request.form.get("lang")
    if chosen in current_languages():
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next") or (request.referrer and urlsplit(request.referrer).path)))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
