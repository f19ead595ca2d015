"""One commit per request, at the edge (``orderflow/web/db_session.py``; issue 14).

A view parses its input, calls the domain, renders; ``OrderflowApp.dispatch_request`` commits the
request's transaction when the view returned a response below 400 and rolls it back otherwise. A
failure of that commit reaches the error handlers like any error of the view: a clean 409, never
a 500. The views themselves do not commit: the few commits left in ``orderflow/web/`` are separate
units of work, listed below with the reason each exists; a new one fails this test, and a gone one
must be struck from the list.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import flash, g, jsonify, stream_with_context
from sqlalchemy import select, update

from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import ProcessDraft
from orderflow.web.db_session import end_unit_of_work, get_session

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "orderflow" / "web"

# (file in orderflow/web/, function) -> why it commits on its own. The line itself says why too.
EXPLICIT_COMMITS: dict[tuple[str, str], str] = {
    ("db_session.py", "end_unit_of_work"): "the edge itself: the request's one commit",
    ("auth.py", "_token_user"): "an API token's use is noted in a short transaction of its own, kept even when "
                                "the request fails (and the request's own transaction starts after it)",
}
# session.begin() as a context manager commits at its end: the same rule holds for it
COMMITTING_CALLS = {"commit", "begin"}


class _Sites(ast.NodeVisitor):
    def __init__(self, name: str, lines: list[str]):
        self.name, self.lines, self.function = name, lines, "<module>"
        self.found: list[tuple[tuple[str, str], str]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr in COMMITTING_CALLS:
            self.found.append(((self.name, self.function), self.lines[node.lineno - 1]))
        self.generic_visit(node)


def _commit_sites() -> Iterator[tuple[tuple[str, str], str]]:
    for path in sorted(WEB.rglob("*.py")):
        text = path.read_text()
        sites = _Sites(path.relative_to(WEB).as_posix(), text.splitlines())
        sites.visit(ast.parse(text))
        yield from sites.found


def test_the_views_do_not_commit_only_the_listed_units_of_work_do():
    found = list(_commit_sites())
    scattered = sorted({f"{f}:{fn}" for (f, fn), _ in found if (f, fn) not in EXPLICIT_COMMITS})
    assert not scattered, (
        f"commit() in a view or helper of orderflow/web/: {scattered}. The request commits once at the edge "
        "(web/db_session.py); a separate unit of work that must persist when the request fails goes into "
        "EXPLICIT_COMMITS with its reason")
    gone = sorted(f"{f}:{fn}" for f, fn in set(EXPLICIT_COMMITS) - {site for site, _ in found})
    assert not gone, f"listed but no longer committing (strike them from EXPLICIT_COMMITS): {gone}"
    unexplained = [line.strip() for _, line in found if "#" not in line]
    assert not unexplained, f"each explicit commit says why on its line: {unexplained}"


# -- the edge at work --------------------------------------------------------------------------

def _draft(app, key: str = "uow-draft") -> int:
    with app.extensions["orderflow.db"].session() as s:
        row = ProcessDraft(key=key, main_file="uow.bpmn", sources={}, forms={}, updated_by="test")
        s.add(row)
        s.commit()
        return row.id


def _stored(app, draft_id: int) -> ProcessDraft | None:
    with app.extensions["orderflow.db"].session() as s:
        return s.get(ProcessDraft, draft_id)


@pytest.fixture
def routes(app):
    """Test-only views (GET: no CSRF token to fetch) that write the way real views do."""
    def rename(draft_id: int, outcome: str):
        session = get_session()
        row = session.get(ProcessDraft, draft_id)
        row.updated_by = "renamed"
        session.flush()
        if outcome == "raise":
            raise InvalidInput(Msg("This value is not valid."))
        if outcome == "422":
            return jsonify(shown="on the form"), 422
        return jsonify(ok=True)

    def stale(draft_id: int):
        """The optimistic lock finds the row changed, first at the commit (nothing flushed before)."""
        session = get_session()
        row = session.get(ProcessDraft, draft_id)
        session.execute(update(ProcessDraft).where(ProcessDraft.id == draft_id)
                        .values(lock_version=ProcessDraft.lock_version + 1)
                        .execution_options(synchronize_session=False))
        row.updated_by = "lost"
        flash("Saved.", "success")
        return jsonify(ok=True)

    def duplicate(key: str):
        get_session().add(ProcessDraft(key=key, main_file="uow.bpmn", sources={}, forms={}, updated_by="test"))
        return jsonify(ok=True)

    def streamed(draft_id: int):
        session = get_session()

        def body() -> Iterator[str]:
            yield "before,"
            session.get(ProcessDraft, draft_id).updated_by = "too late"
            try:
                session.flush()
            except RuntimeError as exc:
                yield f"refused: {exc}"

        return app.response_class(stream_with_context(body()), mimetype="text/plain")

    app.add_url_rule("/api/uow/rename/<int:draft_id>/<outcome>", view_func=rename)
    app.add_url_rule("/api/uow/stale/<int:draft_id>", view_func=stale)
    app.add_url_rule("/uow/stale/<int:draft_id>", "stale_page", view_func=stale)
    app.add_url_rule("/api/uow/duplicate/<key>", view_func=duplicate)
    app.add_url_rule("/api/uow/streamed/<int:draft_id>", view_func=streamed)
    return app


def test_a_view_that_returned_normally_is_committed_before_the_response(routes, client):
    draft_id = _draft(routes)
    assert client.get(f"/api/uow/rename/{draft_id}/ok").status_code == 200
    assert _stored(routes, draft_id).updated_by == "renamed"


@pytest.mark.parametrize("outcome", ["raise", "422"])
def test_a_view_that_raised_or_answered_an_error_stores_nothing(routes, client, outcome: str):
    draft_id = _draft(routes)
    assert client.get(f"/api/uow/rename/{draft_id}/{outcome}").status_code == 422
    assert _stored(routes, draft_id).updated_by == "test"


def test_a_lost_race_found_at_the_commit_is_a_409_and_its_flash_is_dropped(routes, client):
    draft_id = _draft(routes)
    answer = client.get(f"/api/uow/stale/{draft_id}")
    assert answer.status_code == 409, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == "lost_race"
    assert _stored(routes, draft_id).updated_by == "test"
    with client.session_transaction() as cookie:
        assert "_flashes" not in cookie  # the view's "Saved." does not greet the next page
    page = client.get(f"/uow/stale/{draft_id}")
    assert page.status_code == 409 and "text/html" in page.content_type


def test_a_unique_key_broken_at_the_commit_is_a_409(routes, client):
    _draft(routes, "uow-taken")
    answer = client.get("/api/uow/duplicate/uow-taken")
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "conflict"
    with routes.extensions["orderflow.db"].session() as s:
        assert len(s.scalars(select(ProcessDraft).where(ProcessDraft.key == "uow-taken")).all()) == 1


def test_a_streamed_body_runs_after_the_commit_and_may_only_read(routes, client):
    draft_id = _draft(routes)
    body = client.get(f"/api/uow/streamed/{draft_id}").get_data(as_text=True)
    assert body.startswith("before,refused: the request's unit of work has ended")
    assert _stored(routes, draft_id).updated_by == "test"


def test_a_request_without_a_session_has_nothing_to_end(app):
    with app.test_request_context("/"):
        end_unit_of_work(commit=True)  # no session was opened: no transaction begun for nothing
        assert "db_session" not in g
