"""A pooled PostgreSQL connection is checked before use only after it rested
(``ORDERFLOW_DB_PING_AFTER_IDLE``, ``core/db.py``): busy requests pay no round trip for it, and a
connection the server cut while it rested is replaced, not handed to a request."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import make_url

from orderflow import create_app
from tests.support import dbs
from tests.support.helpers import Api

pytestmark = pytest.mark.skipif(not dbs.ON_POSTGRES, reason="SQLite's file has no connection to lose")


def _app(url: str, idle_seconds: float):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_DATABASE_URL": url,
                       "ORDERFLOW_DB_PING_AFTER_IDLE": idle_seconds})


def _counting_pings(monkeypatch, app) -> list[int]:
    dialect = app.extensions["orderflow.db"].engine.dialect
    real, pings = dialect.do_ping, []

    def counted(connection):
        pings.append(1)
        return real(connection)
    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


def _cut_the_apps_connections(url: str) -> int:
    """What a server restart does to the pool's idle connections: ended from a connection of its own."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as own:
        cut = own.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()
    return int(cut[0]) if cut else 0


def test_a_connection_back_in_use_at_once_is_not_pinged(seeded_url, monkeypatch):
    app = _app(seeded_url, 3600)
    pings = _counting_pings(monkeypatch, app)
    api = Api(app.test_client())
    try:
        for _ in range(6):
            assert api.get("sales1", "/api/v1/tasks").status_code == 200
        # a new connection is checked once; the same one back in use is not
        assert 1 <= len(pings) <= app.extensions["orderflow.db"].engine.pool.checkedin()
    finally:
        app.extensions["orderflow.db"].engine.dispose()


def test_a_connection_cut_while_it_rested_is_replaced_before_a_request_gets_it(seeded_url, monkeypatch):
    app = _app(seeded_url, 0)   # every connection counts as rested
    pings = _counting_pings(monkeypatch, app)
    api = Api(app.test_client())
    try:
        assert api.get("sales1", "/api/v1/tasks").status_code == 200
        assert _cut_the_apps_connections(seeded_url) >= 1
        before = len(pings)
        answer = api.get("sales1", "/api/v1/tasks")
        assert answer.status_code == 200, answer.json
        assert len(pings) > before
    finally:
        app.extensions["orderflow.db"].engine.dispose()


def test_without_the_check_a_cut_connection_fails_the_request_that_gets_it(seeded_url):
    """The control: the same cut with the check put off is met by the request (so the test above
    passes because of the check), which answers 503 with Retry-After, nothing saved."""
    app = _app(seeded_url, 3600)
    api = Api(app.test_client())
    try:
        assert api.get("sales1", "/api/v1/tasks").status_code == 200
        assert _cut_the_apps_connections(seeded_url) >= 1
        failed = api.get("sales1", "/api/v1/tasks")   # said as what it is: try again, not a fault of ours
        assert failed.status_code == 503 and failed.headers["Retry-After"] == "1", failed.json
        assert failed.json["error"]["code"] == "unavailable", failed.json
        assert api.get("sales1", "/api/v1/tasks").status_code == 200   # the pool has replaced it
    finally:
        app.extensions["orderflow.db"].engine.dispose()
