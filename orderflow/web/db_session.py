"""One database session per request: opened on first use, rolled back on an error, closed at the
end of the request. Domain modules get it passed in; only the web layer reads it from ``g``."""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from orderflow.core.db import Database, open_database


def init_app(app: Flask) -> Database:
    db = open_database(app.config, app.instance_path, app.extensions["orderflow.platform"])
    app.extensions["orderflow.db"] = db

    @app.teardown_appcontext
    def _close(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()
    return db


def get_session() -> Session:
    """The request's session (created on first use)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["orderflow.db"].session()
    return g.db_session
