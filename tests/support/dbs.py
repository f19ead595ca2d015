"""Where a test's database lives: a SQLite file by default; a fresh PostgreSQL database per test
when ORDERFLOW_TEST_POSTGRES_URL names a server (``make test`` runs the suite both ways)."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SERVER_URL = os.environ.get("ORDERFLOW_TEST_POSTGRES_URL") or ""
ON_POSTGRES = bool(SERVER_URL)
_created: list[str] = []


def _admin():
    return create_engine(SERVER_URL, isolation_level="AUTOCOMMIT", pool_size=1)


def fresh_url(folder: Path, name: str = "orderflow") -> str:
    """A new, empty database for one test (or one test module)."""
    if not ON_POSTGRES:
        return f"sqlite:///{folder / f'{name}.sqlite'}"
    return _create(name)


def copy_of(template: str, folder: Path, name: str = "orderflow") -> str:
    """A new database holding what ``template`` holds (a file copy; PostgreSQL's CREATE DATABASE …
    TEMPLATE), so a test starts from a seeded service in milliseconds instead of seeding its own."""
    if not ON_POSTGRES:
        target = folder / f"{name}.sqlite"
        shutil.copyfile(make_url(template).database, target)
        return f"sqlite:///{target}"
    return _create(name, f' TEMPLATE "{make_url(template).database}"')


def _create(name: str, options: str = "") -> str:
    database = f"t_{name[:20]}_{uuid.uuid4().hex[:12]}".lower()
    engine = _admin()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"{options}'))
    engine.dispose()
    _created.append(database)
    return make_url(SERVER_URL).set(database=database).render_as_string(hide_password=False)


def settle(url: str) -> None:
    """Leave a SQLite template whole in its main file (WAL folded in), so a file copy is the database."""
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()


def drop(url: str) -> None:
    """Drop a database made by ``fresh_url`` (its connections are closed by force)."""
    if not ON_POSTGRES or not url.startswith("postgresql"):
        return
    database = make_url(url).database
    engine = _admin()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    engine.dispose()
