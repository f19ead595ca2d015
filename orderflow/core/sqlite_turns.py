"""SQLite writers take turns without sleeping.

SQLite lets one connection write at a time. A writer that finds the file locked waits in SQLite's
busy handler, which sleeps and retries on its own schedule (1, 2, 5, 10 … 100 ms): under load most
of a write's wait is sleep after the lock was already free, and a step that costs 5 ms of work
answers in 100 ms or more. So this service's writers take turns before SQLite's lock: the threads of
one process on a lock that is handed over the moment it is released, the processes (gunicorn's
workers, ``flask worker``) on an advisory lock on a file beside the database, tried again within a
millisecond. A turn is taken at a connection's first INSERT, UPDATE or DELETE and given back when its
transaction ends, which is exactly when SQLite's own write lock is taken and released (Python's
sqlite3 module begins the transaction right before the first such statement), so no new waits or
deadlocks arise: whoever would have waited for SQLite's lock waits here instead. Other writers
(DDL, another program) still meet SQLite's own lock and its busy handler.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

WAIT_SECONDS = 30.0      # as long as SQLite's busy_timeout: then "database is locked", as before
_POLL_MAX = 0.001        # another process's turn is looked at again within a millisecond
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def is_write(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_WRITES)


class WriterTurns:
    """The turns of one database file."""

    def __init__(self, database_path: str):
        self.path = f"{database_path}-turns"
        self._pid = -1
        self._fd = -1
        self._local = threading.Lock()
        self._setup = threading.Lock()
        self.waiting = 0   # connections of this process waiting for the turn (tests wait on it)

    def _file(self) -> int:
        """This process's descriptor of the lock file; a forked child opens its own (a descriptor
        shared with the parent would share the parent's turn)."""
        with self._setup:
            if self._pid != os.getpid():
                self._local = threading.Lock()
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            return self._fd

    def take(self, timeout: float = WAIT_SECONDS) -> None:
        fd = self._file()
        with self._setup:
            self.waiting += 1
        try:
            got = self._local.acquire(timeout=timeout)
        finally:
            with self._setup:
                self.waiting -= 1
        if not got:
            raise sqlite3.OperationalError("database is locked")
        try:
            end, delay = time.monotonic() + timeout, 0.0001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > end:
                        raise sqlite3.OperationalError("database is locked") from None
                    time.sleep(delay)
                    delay = min(delay * 2, _POLL_MAX)
        except BaseException:
            self._local.release()
            raise

    def give(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._local.release()


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        return self._in_turn(sql, super().execute, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> _Cursor:
        return self._in_turn(sql, super().executemany, parameters)

    def _in_turn(self, sql: str, run: Any, parameters: Any) -> _Cursor:
        connection: TurnTakingConnection = self.connection  # type: ignore[assignment]
        connection._before(sql)
        try:
            return run(sql, parameters)
        finally:
            connection._after()


class TurnTakingConnection(sqlite3.Connection):
    """A sqlite3 connection that holds its database's turn while it has a write transaction open."""

    turns: WriterTurns   # set on the subclass made for each database (``connection_factory``)
    _holding = False

    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)  # the C shortcut would skip the cursor's turn

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, parameters)

    def _before(self, sql: str) -> None:
        if not self._holding and is_write(sql):
            self.turns.take()
            self._holding = True

    def _after(self) -> None:
        if self._holding and not self.in_transaction:  # the write did not begin a transaction
            self._give()

    def _give(self) -> None:
        if self._holding:
            self._holding = False
            self.turns.give()

    def _end(self, finish: Any) -> None:
        try:
            finish()
        finally:
            if not self.in_transaction:
                self._give()

    def commit(self) -> None:
        self._end(super().commit)

    def rollback(self) -> None:
        self._end(super().rollback)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give()


def connection_factory(database_path: str) -> type[TurnTakingConnection]:
    """The ``sqlite3.connect(factory=…)`` class for one database file: its connections share turns."""
    return type("TurnTakingConnection", (TurnTakingConnection,), {"turns": WriterTurns(database_path)})
