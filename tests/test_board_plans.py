"""The board's page queries on PostgreSQL read an index in order, in every sort and both
directions: sorting every open task or order for each page costs a second or more at a million orders
(bench/scale.py), which no test can time. The planner is told sorting and table scans cost more
than anything (enable_sort, enable_incremental_sort and enable_seqscan off): a plan that still sorts has no index to read."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from orderflow.access import accounts
from orderflow.orders import board


def _sort_nodes(plan: dict) -> Iterator[str]:
    if "Sort" in plan["Node Type"]:
        yield plan["Node Type"]
    for child in plan.get("Plans", ()):
        yield from _sort_nodes(child)


def test_each_sort_pages_from_an_index_on_postgresql(app):
    engine = app.extensions["orderflow.db"].engine
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plans (SQLite's page puts 'IS NULL' first in one ORDER BY)")
    pages: list[tuple[str, str, dict]] = []
    asked = ""

    def seen(_conn, _cursor, statement, params, _context, _many) -> None:
        if ("FROM human_tasks AS t" in statement or "FROM instances" in statement) and "ORDER BY" in statement:
            pages.append((asked, statement, params))

    with app.app_context():
        from orderflow.web.db_session import get_session
        session = get_session()
        manager = accounts.by_username(session, "manager1")
        event.listen(engine, "before_cursor_execute", seen)
        try:
            for sort in board.SORTS:
                for direction in board.DIRECTIONS:
                    for extra in ({}, {"group": "warehouse"}, {"overdue": "1"}):
                        for page in ("1", "3"):
                            args = {**extra, "sort": sort, "dir": direction, "per_page": "2", "page": page}
                            asked = str(args)
                            board.rows(session, manager, board.BoardFilter.from_args(args))
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert pages, "the board ran no task query"
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_sort = off")
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_incremental_sort = off")
        for label, statement, params in pages:
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            assert not list(_sort_nodes(plan[0]["Plan"])), f"{label} sorts:\n{statement}\n{plan}"
