"""The board's page queries on PostgreSQL read an index in order, in every sort and both
directions: sorting every open task or order for each page costs a second or more at a million orders
(bench/scale.py), which no test can time. The planner is told sorting and table scans cost more
than anything (enable_sort, enable_incremental_sort and enable_seqscan off): a plan that still sorts has no index to read."""
from __future__ import annotations

import json
import re
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


def _searches(plan: dict) -> Iterator[str]:
    """How each table is read: 'Seq Scan on t', or the index and its condition."""
    if plan["Node Type"] == "Seq Scan":
        yield f"Seq Scan on {plan.get('Relation Name', '?')}"
    if "Index Cond" in plan:
        yield f"{plan['Index Name']}: {plan['Index Cond']}"
    for child in plan.get("Plans", ()):
        yield from _searches(child)


def test_a_steps_reads_of_its_orders_rows_use_an_index_on_postgresql(app):
    """What every step and job runs on its order's rows (the task with its order's open rows, the job
    with its order's other pending timer job, the time-limit jobs, the pending timer job, the open
    rows, the message index) searches by a row's key or its order on PostgreSQL too: with table scans
    priced out, every search's index condition names the key or the order (an index on the status
    alone would read every order's open rows; SQLite's plans: tests/test_step_statements.py)."""
    from orderflow.workflow import correlations, jobs, runs, tasks

    engine = app.extensions["orderflow.db"].engine
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plans")
    statements = {"task and open rows": (tasks._OPEN_WITH_TASK, {"id": 1}),
                  "job and order": (jobs._JOB_AND_ORDER, {"job": 1}),
                  "close time limits": (jobs.CLOSE_SLA, {"instance": 1, "ref": "1", "now": None}),
                  "pending timer": (jobs._PENDING_TIMER, {"instance": 1}),
                  "open rows": (runs._OPEN_ROWS, {"instance": 1}),
                  "message index": (correlations._KEYS, {"instance": 1})}
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for label, (statement, params) in statements.items():
            compiled = statement.compile(dialect=engine.dialect)
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled),
                                        compiled.construct_params(params)).scalar()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            searches = list(_searches(plan[0]["Plan"]))
            assert searches and all(re.search(r"\b(instance_)?id = ", search) for search in searches), \
                f"{label}: {searches}\n{compiled}"
