"""The one place errors become responses: JSON under /api/, a fragment for htmx, else a page."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..errors import Conflict, OrderflowError, TooLarge

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def respond(error: OrderflowError):
    from ..db import get_session
    get_session().rollback()
    if wants_json():
        response = jsonify(error={k: v for k, v in error.as_dict().items() if v is not None or k == "message"})
    elif request.headers.get("HX-Request"):
        response = render_template("partials/error.html", error=error)
    else:
        response = render_template("error.html", error=error)
    return response, error.status


def init_app(app: Flask) -> None:
    @app.errorhandler(OrderflowError)
    def _domain(error: OrderflowError):
        return respond(error)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        e = OrderflowError("The form expired or did not come from this site; reload the page and submit again.")
        e.code = "csrf_failed"
        return respond(e)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error):
        limit = app.config["ORDERFLOW_MAX_UPLOAD_MB"]
        return respond(TooLarge(f"The upload is larger than {limit} MB; send a smaller file."))

    @app.errorhandler(IntegrityError)
    def _integrity(error):
        log.warning("integrity error: %s", error)
        return respond(Conflict("The change conflicts with data saved at the same moment; reload and try again."))

    @app.errorhandler(OperationalError)
    def _busy(error):
        if "locked" not in str(error) and "could not serialize" not in str(error):
            return _unexpected(error)
        log.warning("database busy: %s", error)
        e = Conflict("The database was busy; nothing was saved. Try again in a moment.")
        e.code = "busy"
        return respond(e)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        e = OrderflowError(error.description or error.name)
        e.status = error.code or 500
        e.code = (error.name or "error").lower().replace(" ", "_")
        return respond(e)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error")
        e = OrderflowError("Something went wrong on our side; nothing was saved. The error has been logged.")
        e.status, e.code = 500, "internal_error"
        return respond(e)
