"""Blueprints, login, CSRF, languages and the error mapping."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def select_locale() -> str:
    languages = current_languages()
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def current_languages() -> list[str]:
    from flask import current_app
    return list(current_app.config["ORDERFLOW_LANGUAGES"])


def init_app(app: Flask) -> None:
    from orderflow.web import (
        analytics,
        api,
        auth,
        board,
        drafts,
        errors,
        form_editor,
        monitor,
        notifications,
        pages,
        present,
    )
    from orderflow.web.security import Int64Converter
    app.url_map.converters["int"] = Int64Converter  # before the blueprints add their rules
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).resolve().parent.parent / "translations"))
    Babel(app, locale_selector=select_locale)
    csrf.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    present.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(notifications.bp)  # also GET /api/v1/notifications
    app.register_blueprint(board.bp)
    app.register_blueprint(monitor.bp)
    app.register_blueprint(analytics.bp)
    from orderflow.web import (
        customers,  # customer files: search, one customer's orders, cases and survey answers (pages + API)
    )
    app.register_blueprint(customers.bp)
    app.register_blueprint(drafts.bp)
    from orderflow.web import modeler  # the process owners' modeler pages
    app.register_blueprint(modeler.bp)
    app.register_blueprint(form_editor.bp)
    from orderflow.web import versions  # process versions, diffs, moving orders (pages + API)
    app.register_blueprint(versions.bp)
    from orderflow.web import trust  # the printable sales list with its signatures; an order's audit trail as CSV
    app.register_blueprint(trust.bp)
    from orderflow.web import admin  # users, groups, API tokens (pages + API)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin.api_bp)
    from orderflow.web import customer_links  # the customer's page behind a link; staff send links
    app.register_blueprint(customer_links.bp)
    csrf.exempt(api.bp)  # api.py checks the token itself when the caller uses the cookie
    csrf.exempt(drafts.bp)  # likewise
    csrf.exempt(admin.api_bp)  # likewise

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    from orderflow.web import (  # GET /api/v1/openapi.json; security headers, cookie flags, client address
        openapi,
        security,
    )
    app.register_blueprint(openapi.bp)
    security.init_app(app)
