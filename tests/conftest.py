"""Fixtures: a real SQLite file (or PostgreSQL database) per test, the app with processes deployed and demo
users seeded. The seeding runs once per session into a template; each test gets a copy of it.

The ``app`` of a test starts as a node that has already served the template's processes: their compiled
definitions (``compiled_processes``) and the page templates' bytecode are reused, not rebuilt per test.
Tests that mean a cold node build their own app or reset ``platform.cache`` (test_deploy_truth does)."""
from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy.orm import close_all_sessions
from werkzeug.serving import make_server

from handlers import REGISTRY
from orderflow import create_app
from orderflow.engine import tree_walk
from orderflow.engine.expression_limits import ExpressionError
from orderflow.engine.model import Problem
from tests.support import dbs, message_check, walk_check, warm
from tests.support.browser import browser_type_launch_args, context  # noqa: F401  (pytest-playwright overrides)
from tests.support.helpers import Api, FakeClock, seed

#: every app of the suite (and every server it starts) checks each reuse of a kept live workflow
#: against the state it was stored as: the whole suite tests the cache
os.environ.setdefault("ORDERFLOW_WORKFLOW_CACHE_VERIFY", "1")


@pytest.fixture(autouse=True, scope="session")
def _messages_checked():
    """Every deploy problem and expression error the suite makes is a Msg (message_check.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Problem, "__init__", message_check.checked_problem)
        patch.setattr(ExpressionError, "__init__", message_check.checked_error)
        yield


@pytest.fixture(autouse=True, scope="session")
def _walks_checked():
    """Every snapshot in the suite also walks the tree SpiffWorkflow's way and compares (walk_check.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tree_walk, "walk", walk_check.checked_walk)
        yield


@pytest.fixture
def database_url(tmp_path: Path):
    """A fresh database: a SQLite file, or a PostgreSQL database when the suite runs on one."""
    url = dbs.fresh_url(tmp_path)
    yield url
    dbs.drop(url)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory):
    """A database seeded once for the whole session; tests get copies (``seeded_url``)."""
    url = dbs.fresh_url(tmp_path_factory.mktemp("template"), "template")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_DATABASE_URL": url})
    seed(app)
    app.extensions["orderflow.db"].engine.dispose()
    dbs.settle(url)
    yield url
    dbs.drop(url)


@pytest.fixture(scope="session")
def compiled_processes(seeded_template: str) -> warm.Compiled:
    """The template's process versions compiled once, as a node compiles them on first use."""
    return warm.compile_versions(seeded_template)


@pytest.fixture
def seeded_url(seeded_template: str, tmp_path: Path):
    """A database of its own for one test, already seeded (a copy of the session's template)."""
    url = dbs.copy_of(seeded_template, tmp_path)
    yield url
    dbs.drop(url)


@pytest.fixture
def app(seeded_url: str, compiled_processes: warm.Compiled):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test",
        "ORDERFLOW_DATABASE_URL": seeded_url,
    })
    warm.prepare(app, compiled_processes)
    yield app
    # Sessions a test left open give their connections back now, so dispose closes them here: a
    # connection left for the garbage collector is finalized at a random later moment (once inside
    # CPython 3.11's ast.parse, which then failed with "AST constructor recursion depth mismatch").
    close_all_sessions()
    app.extensions["orderflow.db"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def clock(app) -> FakeClock:
    fake = FakeClock()
    app.extensions["orderflow.platform"].clock = fake
    return fake


@pytest.fixture
def live_server(seeded_url: str, compiled_processes: warm.Compiled):
    """The app on a real port in a thread, for browser tests."""
    app = create_app({"SECRET_KEY": "browser", "ORDERFLOW_DATABASE_URL": seeded_url})
    warm.prepare(app, compiled_processes)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["orderflow.scheduler"].shutdown()
    app.extensions["orderflow.db"].engine.dispose()


@pytest.fixture
def flaky(monkeypatch):
    """A handler that fails ``fail_times`` times, then answers; it records its idempotency keys."""
    state = {"fail_times": 0, "calls": 0, "keys": []}

    def bank_transfer(ctx):
        """Ask the bank for the transfer status."""
        state["calls"] += 1
        state["keys"].append(ctx.idempotency_key)
        if state["calls"] <= state["fail_times"]:
            raise ConnectionError("bank unreachable")
        return {"status": "paid"}
    monkeypatch.setitem(REGISTRY, "bank_transfer", bank_transfer)
    return state


#: the fixtures through which a test reaches the database of the pass (a SQLite file, or PostgreSQL)
DATABASE_FIXTURES = {"database_url", "seeded_template"}


@pytest.hookimpl(tryfirst=True)   # before `-m` deselects by the marks
def pytest_collection_modifyitems(items):
    """``browser``: the test asks for a page, a context or the browser. ``without_database``: it
    reaches no database of the pass, neither through the fixtures above nor through
    ``tests/support/dbs.py`` (an engine, parser or budget test; a benchmark on its own SQLite files),
    so it says the same on either pass. ``make test`` runs each of those in one pass only."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if {"page", "browser", "context"} & names:
            item.add_marker(pytest.mark.browser)
        elif not names & DATABASE_FIXTURES and "dbs" not in vars(getattr(item, "module", None) or object) \
                and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.without_database)


def pytest_sessionfinish(session, exitstatus):
    """After the last test the interpreter's shutdown collects garbage over every object the run left
    (a heap of a gigabyte: a minute and more of full collections before the process ends). Frozen,
    those objects are still freed as their modules go, without the repeated walks over all of them."""
    gc.freeze()
