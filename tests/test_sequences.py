"""Named counters (order numbers per day): the day's first number asked for by two transactions at
the same moment (found by bench/load.py with two gunicorn workers on PostgreSQL: one start failed
with a 409 naming the SQL)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from orderflow.engine import runtime
from orderflow.workflow import runs
from tests.support import dbs

#: the polls of pg_stat_activity allowed before giving up on seeing the second transaction wait
POLLS = 20_000


@pytest.mark.skipif(not dbs.ON_POSTGRES, reason="SQLite lets one writer at a time: the race needs PostgreSQL")
def test_two_transactions_creating_the_same_counter_both_get_a_number(app):
    database = app.extensions["orderflow.db"]
    first, second, watcher = database.session(), database.session(), database.session()
    try:
        assert runs._next_sequence(first, "order_no:race") == 1            # created, not yet committed
        got: dict[str, object] = {}

        def ask() -> None:
            try:
                got["number"] = runs._next_sequence(second, "order_no:race")
                second.commit()
            except Exception as exc:  # reported by the assertion below
                got["error"] = exc

        thread = threading.Thread(target=ask)
        thread.start()
        for _ in range(POLLS):                                            # until the second waits on the first
            waiting = watcher.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND wait_event_type = 'Lock'")).scalar()
            watcher.rollback()
            if waiting:
                break
        else:
            pytest.fail("the second transaction never waited for the first")
        first.commit()
        thread.join()
        assert "error" not in got, got.get("error")
        assert got["number"] == 2
    finally:
        for session in (first, second, watcher):
            session.close()


def test_a_database_error_under_a_handler_is_not_shown_as_sql():
    class UniqueViolation(Exception):
        pass

    UniqueViolation.__module__ = "psycopg.errors"
    cause = UniqueViolation('duplicate key value violates unique constraint "sequences_pkey" INSERT INTO sequences')
    failed = runtime._handler_failed(runtime.HandlerFailed("start_order", "assign_order_no", cause))
    assert "INSERT" not in str(failed) and "sequences" not in str(failed)
    assert "database" in str(failed)

