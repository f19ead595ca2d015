"""SQLite writers take turns (orderflow/core/sqlite_turns.py): a connection holds its database's
turn exactly while it has a write transaction open, and a second writer waits for the turn instead
of sleeping in SQLite's busy handler."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time

import pytest

from orderflow.core.sqlite_turns import connection_factory, is_write


@pytest.fixture
def database(tmp_path):
    path = str(tmp_path / "turns.sqlite")
    factory = connection_factory(path)
    setup = sqlite3.connect(path, factory=factory)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")  # DDL: no turn taken
    setup.commit()
    setup.close()
    return path, factory


def _turn_free(path: str) -> bool:
    """Whether another descriptor (as another process would) can take the turn now."""
    fd = os.open(f"{path}-turns", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the descriptor gives its lock back
    return True


def test_the_turn_is_held_from_the_first_write_until_the_transaction_ends(database):
    path, factory = database
    conn = sqlite3.connect(path, factory=factory)
    conn.execute("SELECT count(*) FROM t").fetchall()
    assert _turn_free(path), "a read takes no turn"
    conn.execute("INSERT INTO t (x) VALUES (1)")
    assert conn.in_transaction
    assert not _turn_free(path), "the write transaction holds the turn"
    conn.execute("UPDATE t SET x = 2")
    conn.commit()
    assert _turn_free(path), "the commit gives it back"
    conn.execute("DELETE FROM t")
    conn.rollback()
    assert _turn_free(path), "so does a rollback"
    conn.execute("INSERT INTO t (x) VALUES (3)")
    conn.close()
    assert _turn_free(path), "and closing the connection"


def test_a_failed_write_gives_the_turn_back_with_its_rollback(database):
    path, factory = database
    conn = sqlite3.connect(path, factory=factory)
    conn.execute("INSERT INTO t (x) VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO t (x) VALUES (1)")
    assert not _turn_free(path)
    conn.rollback()
    assert _turn_free(path)
    with pytest.raises(sqlite3.OperationalError):   # fails before any transaction begins
        conn.execute("INSERT INTO no_such_table VALUES (1)")
    assert not conn.in_transaction and _turn_free(path)
    conn.close()


def test_a_second_writer_waits_for_the_turn_not_for_sqlites_lock(database):
    """The second connection's busy timeout is 0: meeting SQLite's lock, it would fail at once. It
    waits for the turn instead and writes once the first has committed."""
    path, factory = database
    first = sqlite3.connect(path, factory=factory, check_same_thread=False)
    second = sqlite3.connect(path, factory=factory, timeout=0, check_same_thread=False)
    first.execute("INSERT INTO t (x) VALUES (1)")
    outcome: list[object] = []

    def write() -> None:
        try:
            second.execute("INSERT INTO t (x) VALUES (2)")
            second.commit()
            outcome.append("written")
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=write)
    worker.start()
    for _ in range(10_000):   # until the second writer is waiting for the turn (bounded by steps)
        if factory.turns.waiting:
            break
        time.sleep(0.001)
    assert factory.turns.waiting == 1 and not outcome
    first.commit()
    worker.join()
    assert outcome == ["written"]
    assert sorted(r[0] for r in first.execute("SELECT x FROM t")) == [1, 2]
    first.close()
    second.close()


@pytest.mark.parametrize(("sql", "writes"), [
    ("INSERT INTO t VALUES (1)", True), ("  update t set x = 1", True), ("DELETE FROM t", True),
    ("REPLACE INTO t VALUES (1)", True), ("SELECT * FROM t", False), ("PRAGMA journal_mode", False),
    ("CREATE TABLE u (y)", False), ("BEGIN", False)])
def test_which_statements_take_the_turn(sql, writes):
    assert is_write(sql) is writes


def test_the_service_engine_takes_turns_through_sqlalchemy(tmp_path):
    from sqlalchemy import text

    from orderflow.core.db import make_engine
    path = str(tmp_path / "service.sqlite")
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.commit()
            conn.execute(text("SELECT count(*) FROM t")).all()
            assert _turn_free(path)
            conn.execute(text("INSERT INTO t VALUES (1)"))
            assert not _turn_free(path)
            conn.commit()
            assert _turn_free(path)
            conn.execute(text("INSERT INTO t VALUES (2)"))
        assert _turn_free(path), "a connection given back to the pool unfinished is rolled back, and gives its turn"
    finally:
        engine.dispose()
