"""One database session per request, one unit of work: opened on first use, committed once at the
edge, closed at the end of the request. Domain modules get it passed in and flush, never commit;
only the web layer reads it from ``g``.

The edge is ``OrderflowApp.dispatch_request``: when the view returned a response below 400 the
request's transaction is committed there, before the response leaves (a redirect's target, read by
the next request, finds the data committed); a view that returned an error page (4xx, 5xx) is
rolled back, and so is one that raised (``errors.respond``). The commit runs inside Flask's
dispatch, so a failure *of the commit itself* (the optimistic lock's ``StaleDataError``, an
``IntegrityError`` found only at COMMIT, a busy database) reaches the error handlers of
``web/errors.py`` like any error of the view and becomes a clean 409 or 422, never a 500.

A body streamed after the view returned (``stream_with_context``) runs after the commit: it may
read (a fresh transaction, rolled back at teardown), but a write there would be lost, so the
session refuses to flush one. Writes that must outlive an error response are separate units of
work, committed explicitly where ``tests/test_unit_of_work.py`` lists them with their reason.
"""
from __future__ import annotations

from typing import Any, cast

from flask import Flask, current_app, g
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from orderflow.core.db import WRITES_REFUSED, Database, open_database


class OrderflowApp(Flask):
    """Flask, with the request's unit of work committed when the view has returned normally."""

    def dispatch_request(self) -> ResponseReturnValue:
        cookie = request_ctx.session
        flashes = list(dict.get(cast("dict[str, Any]", cookie), "_flashes", ()))  # a peek: no "Vary: Cookie"
        response = self.make_response(super().dispatch_request())
        try:
            end_unit_of_work(commit=response.status_code < 400)
        except Exception:  # nothing was saved: the view's "Saved." must not greet the next page
            if flashes:
                cookie["_flashes"] = flashes
            else:
                cookie.pop("_flashes", None)
            raise
        return response


def end_unit_of_work(commit: bool) -> None:
    """Commit (or roll back) the request's transaction, if the request opened a session. Errors of
    the commit propagate to the error handlers; afterwards the session may only read."""
    session: Session | None = g.get("db_session")
    if session is None:
        return
    if commit:
        if session.in_transaction():
            session.commit()  # the edge: the request's one commit
    else:
        session.rollback()
    session.info[WRITES_REFUSED] = ("the request's unit of work has ended (committed or rolled back at the edge): "
                                    "write in the view, not in a streamed body or an after_request hook")


def init_app(app: Flask) -> Database:
    db = open_database(app.config, app.instance_path, app.extensions["orderflow.platform"])
    app.extensions["orderflow.db"] = db

    @app.teardown_appcontext
    def _close(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()  # anything not committed at the edge is rolled back here
    return db


def get_session() -> Session:
    """The request's session (created on first use)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["orderflow.db"].session()
    return g.db_session
