"""The benches' databases: a SQLite file, or a new database in a throwaway PostgreSQL cluster
(tools/pg-test-cluster.sh, through bench/load.py's helpers); bulk rows and sizes on either."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from bench.servers import postgres_cluster, postgres_database, postgres_installed


class NoPostgres(RuntimeError):
    """PostgreSQL was asked for and is not installed."""


@contextlib.contextmanager
def database(kind: str, folder: str | Path, name: str) -> Iterator[str]:
    """The URL of ``folder/<name>.sqlite``, or of a new database in a cluster removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/{name}.sqlite"
        return
    if not postgres_installed():
        raise NoPostgres("PostgreSQL is not installed (apt-get install postgresql)")
    with postgres_cluster() as cluster:
        yield postgres_database(cluster)


def size_mb(engine: Engine, folder: str | Path, name: str) -> float:
    if engine.dialect.name == "sqlite":
        return sum(p.stat().st_size for p in Path(folder).glob(f"{name}.sqlite*")) / 2**20
    with engine.connect() as conn:
        return float(conn.scalar(text("SELECT pg_database_size(current_database())")) or 0) / 2**20


def bulk_insert(session, model, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``model``'s table; PostgreSQL through COPY,
    ten times the speed of batched INSERTs (columns left out take their scalar defaults)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(model), rows)
        return
    from psycopg.types.json import Json
    table = model.__table__
    names = list(rows[0])
    defaults = [c for c in table.columns if c.name not in names and c.default is not None and c.default.is_scalar]
    fixed = [c.default.arg for c in defaults]
    raw = session.connection().connection.dbapi_connection
    columns = ", ".join([*names, *(c.name for c in defaults)])
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([*(Json(v) if isinstance(v, dict | list) else v for v in (row[n] for n in names)), *fixed])


