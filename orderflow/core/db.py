"""Database engine and sessions: one session per request or job, committed once at the edge."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, exc, make_url
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.util import identity_key

from orderflow.core import audit, metrics
from orderflow.core.platform import Platform
from orderflow.core.sqlite_turns import connection_factory


def database_url(config: dict[str, Any], instance_path: str) -> str:
    url = config.get("ORDERFLOW_DATABASE_URL") or ""
    if url:
        return url
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'orderflow.sqlite'}"


# a session whose info holds this key refuses to flush, with its value as the reason (one listener on
# every session of the factory: listening on a session of its own cost ~0.05 ms per request)
WRITES_REFUSED = "writes_refused"


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    reason = session.info.get(WRITES_REFUSED)
    if reason is not None:
        raise RuntimeError(reason)


def by_id(session: Session, statement: Any, model: type, id_: int) -> Any:
    """``session.get(model, id_)`` through a statement built once (``select(model).options(...)
    .where(model.id == bindparam("id"))``): a row the session holds is returned as it is, else the
    statement reads it. ``session.get`` with options builds its statement anew on every call, which
    cost about as much as running it."""
    held = session.identity_map.get(identity_key(model, id_))
    if held is not None:
        return held
    return session.execute(statement, {"id": id_}).scalar_one_or_none()


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched. ``Session.execute`` is typed to return a plain ``Result``;
    for these statements it is a ``CursorResult``, which has the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} is not the result of an UPDATE or DELETE")
    return result.rowcount


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it has been idle longer than ``idle_seconds``.

    A server restart or an idle timeout cuts connections while nobody uses them; SQLAlchemy's
    ``pool_pre_ping`` checks every checkout for that, a round trip per request. Under load a
    connection goes back to the pool and out again within milliseconds, so this pings only one that
    rested longer (0: every time, as ``pool_pre_ping``). A failed ping discards it and the pool
    takes another, as with ``pool_pre_ping``; a connection cut while busy fails that one request."""
    @event.listens_for(engine, "checkin")
    def _rested_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _still_there(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is not None and time.monotonic() - since <= idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"the database connection is gone: {error}") from error
        if not alive:
            raise exc.DisconnectionError("the database connection is gone")


def make_engine(url: str, ping_after_idle: float = 0.0) -> Engine:
    """``ping_after_idle``: seconds a pooled server connection may rest before it is checked before
    use (``_ping_after_idle``); SQLite's file needs no check."""
    if url.startswith("sqlite"):
        connect_args: dict[str, Any] = {"timeout": 30, "check_same_thread": False}
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            connect_args["factory"] = connection_factory(path)  # writers take turns, without sleeping
        engine = create_engine(url, connect_args=connect_args)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL: readers never wait for the writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MB: managers' queries walk large indexes
            cur.close()
        return engine
    engine = create_engine(url)
    _ping_after_idle(engine, max(float(ping_after_idle), 0.0))
    return engine


class Database:
    def __init__(self, url: str, platform: Platform, ping_after_idle: float = 0.0):
        self.url = url
        self.engine = make_engine(url, ping_after_idle)
        self.platform = platform
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._factory, "after_commit", self._after_commit)
        event.listen(self._factory, "after_soft_rollback", self._after_rollback)
        event.listen(self._factory, "before_flush", _refuse_writes)

    @staticmethod
    def _end_transaction(session: Session) -> None:
        """What a transaction knew of rows others may change once it has ended: the audit chains'
        tails it holds, the open tasks its stores left."""
        for key in (audit.TAILS, audit.HEADS_DUE, audit.NEW_HEADS, "open_tasks"):
            session.info.pop(key, None)

    def _after_rollback(self, session: Session, _transaction) -> None:
        session.info.pop("wake_at", None)
        self._end_transaction(session)
        metrics.rolled_back(session)  # what the transaction would have counted did not happen

    def _after_commit(self, session: Session) -> None:
        """Jobs created in the transaction are due at ``wake_at``: tell this process's scheduler."""
        self._end_transaction(session)
        metrics.committed(session)
        at = session.info.pop("wake_at", None)
        if at is not None and self.platform.wake is not None:
            self.platform.wake(at)

    def session(self) -> Session:
        session = self._factory()
        session.info["platform"] = self.platform
        return session


def open_database(config: dict[str, Any], instance_path: str, platform: Platform) -> Database:
    """The service's database as its settings name it (a SQLite file in the instance folder by default)."""
    return Database(database_url(config, instance_path), platform,
                    float(config.get("ORDERFLOW_DB_PING_AFTER_IDLE", 5)))
