"""The one place errors become responses: JSON under /api/, a fragment for htmx, else a page.

Messages are translated here, at the edge, into the request's language (``present.localize``):
the JSON ``message`` and ``fields`` values too, so API clients that send ``Accept-Language: zh``
read Chinese and clients that send none read English.
"""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from orderflow.core.errors import (
    Conflict,
    InvalidInput,
    LostRace,
    NotFound,
    OrderflowError,
    TooLarge,
    Unavailable,
)
from orderflow.core.i18n import N_, Msg
from orderflow.web.db_session import get_session
from orderflow.web.present import localize

log = logging.getLogger(__name__)

# Werkzeug's own descriptions of common HTTP errors, marked so the catalog translates them.
_HTTP_DESCRIPTIONS = (
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_("The server could not verify that you are authorized to access the URL requested. You either supplied "
       "the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the "
       "credentials required."),
    N_("You don't have the permission to access the requested resource. It is either read-protected or not "
       "readable by the server."),
    N_("The requested URL was not found on the server. If you entered the URL manually please check your "
       "spelling and try again."),
    N_("The method is not allowed for the requested URL."),
    N_("The data value transmitted exceeds the capacity limit."),
    N_("The server does not support the media type transmitted in the request."),
    N_("This user has exceeded an allotted request count. Try again later."),
    N_("The server encountered an internal error and was unable to complete your request. Either the server "
       "is overloaded or there is an error in the application."),
)


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.path == "/metrics":  # machines read both
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def respond(error: OrderflowError) -> tuple[Response | str, int]:
    get_session().rollback()
    response: Response | str  # JSON, or a rendered page or fragment
    if wants_json():
        body = error.as_dict()
        body["message"] = localize(body.get("message"))
        if isinstance(body.get("fields"), dict):
            body["fields"] = {k: localize(v) for k, v in body["fields"].items()}
        response = jsonify(error={k: v for k, v in body.items() if v is not None or k == "message"})
    elif request.headers.get("HX-Request"):
        response = render_template("shared/partials/error.html", error=error)
    else:
        response = render_template("shared/error.html", error=error)
    return response, error.status


def init_app(app: Flask) -> None:
    @app.errorhandler(OrderflowError)
    def _domain(error: OrderflowError):
        retry_after = getattr(error, "retry_after", None)   # TooManyAttempts, Unavailable
        if retry_after is None:
            return respond(error)
        response = make_response(respond(error))
        response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        e = OrderflowError(Msg("The form expired or did not come from this site; reload the page and submit again."))
        e.code = "csrf_failed"
        return respond(e)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error):
        limit = app.config["ORDERFLOW_MAX_UPLOAD_MB"]
        return respond(TooLarge(Msg("The upload is larger than %(limit)s MB; send a smaller file.", limit=limit)))

    @app.errorhandler(DataError)
    def _out_of_range(error):
        # a value the database type cannot hold (e.g. beyond PostgreSQL's 32-bit INTEGER) that
        # slipped past the edge's checks: the caller's input, so a 422, and nothing is stored
        log.warning("value refused by the database: %s", error)
        return respond(InvalidInput(Msg("A value is too large or not valid for this field; nothing was saved.")))

    @app.errorhandler(IntegrityError)
    def _integrity(error):
        log.warning("integrity error: %s", error)
        return respond(Conflict(Msg("The change conflicts with data saved at the same moment; reload and try again.")))

    @app.errorhandler(StaleDataError)
    def _stale(error):
        # the optimistic lock (lock_version) found the row changed under us. The domain turns the
        # flushes it makes into LostRace itself; this catches one first met at the edge's commit
        log.warning("lost race: %s", error)
        return respond(LostRace(Msg("The change conflicts with data saved at the same moment; reload and try again.")))

    @app.errorhandler(OperationalError)
    def _busy(error):
        # PostgreSQL's deadlock detector may pick us (two writers locking an order's row and its
        # audit chain in opposite orders): rolled back like any other lost race
        if error.connection_invalidated:   # the server went away (a restart, a cut connection)
            log.warning("database connection lost: %s", error.orig)
            return _domain(Unavailable(Msg("The connection to the database was lost; nothing was saved. "
                                           "Try again in a moment."), retry_after=1))
        # the driver's own words: the statement's text (a column named ``…_locked_from``) says nothing
        if not any(sign in str(error.orig) for sign in ("locked", "could not serialize", "deadlock detected")):
            return _unexpected(error)
        log.warning("database busy: %s", error)
        e = Conflict(Msg("The database was busy; nothing was saved. Try again in a moment."))
        e.code = "busy"
        return respond(e)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code == 404 and request.path.startswith("/api/"):  # no route matched: name the endpoint
            return respond(NotFound(Msg("There is no API endpoint %(method)s %(path)s.",
                                        method=request.method, path=request.path)))
        e = OrderflowError(error.description or error.name)
        e.status = error.code or 500
        e.code = (error.name or "error").lower().replace(" ", "_")
        return respond(e)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error")
        e = OrderflowError(Msg("Something went wrong on our side; nothing was saved. The error has been logged."))
        e.status, e.code = 500, "internal_error"
        return respond(e)
