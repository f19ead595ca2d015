"""The web layer: blueprints (parse, one domain call, render), login, CSRF, languages, and the
mapping of the domain's errors to responses (``errors``)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify
from flask_babel import Babel

from orderflow.web import (
    admin,  # users, groups, API tokens (pages + API)
    analytics,
    api,
    auth,
    board,
    customer_links,  # the customer's page behind a link; staff send links
    customers,  # customer files: search, one customer's orders, cases and survey answers (pages + API)
    drafts,
    errors,
    form_editor,
    metrics,  # GET /metrics (Prometheus), request counts and latency, request ids
    modeler,  # the process owners' modeler pages
    monitor,
    notifications,
    openapi,  # GET /api/v1/openapi.json
    pages,
    present,
    security,  # security headers, cookie flags, client address
    trust,  # the printable sales list with its signatures; an order's audit trail as CSV
    versions,  # process versions, diffs, moving orders (pages + API)
)
from orderflow.web.csrf import csrf
from orderflow.web.locale import select_locale
from orderflow.web.security import Int64Converter


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = Int64Converter  # before the blueprints add their rules
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).resolve().parent.parent / "translations"))
    Babel(app, locale_selector=select_locale)
    csrf.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    present.init_app(app)
    metrics.init_app(app)  # first of the before_request hooks: times the whole request
    for blueprint in (auth.bp, pages.bp, api.bp, notifications.bp,  # notifications: also GET /api/v1/notifications
                      board.bp, monitor.bp, analytics.bp, customers.bp, drafts.bp, modeler.bp, form_editor.bp,
                      versions.bp, trust.bp, admin.bp, admin.api_bp, customer_links.bp, openapi.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api.bp)  # api.py checks the token itself when the caller uses the cookie
    csrf.exempt(drafts.bp)  # likewise
    csrf.exempt(admin.api_bp)  # likewise

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    security.init_app(app)
