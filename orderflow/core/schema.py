"""The database schema is managed by Alembic migrations (orderflow/migrations/versions).

``upgrade`` brings any database to the newest revision: an empty one gets every table; one
made by ``create_all`` before migrations existed is recognised and stamped with the baseline
first. To change the schema: edit orderflow/core/models/, then
``.venv/bin/alembic -c orderflow/migrations/alembic.ini -x url=sqlite:///instance/orderflow.sqlite
revision --autogenerate -m "what changed"``, review the file, commit it; tests/test_migrations.py
fails while models and migrations disagree.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
BASELINE = "0001"


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head() -> str:
    newest = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if newest is None:  # the package ships its migrations: none found is a broken install
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return newest


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for migrations. On SQLite with foreign keys off while they
    run: SQLite alters a table by copying it and dropping the old one, and a DROP TABLE with
    foreign keys on deletes the rows that reference it first, cascading (every task, audit event
    and state of every order, for a column added to instances). The references are checked
    before the commit instead."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:   # only outside a transaction does SQLite take it
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows whose references are broken: {broken[:5]}")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def upgrade(engine: Engine) -> str:
    """Migrate to the newest revision; returns it."""
    config = alembic_config()
    with _migrating(engine) as conn:
        config.attributes["connection"] = conn
        unversioned = MigrationContext.configure(conn).get_current_revision() is None
        if unversioned and "instances" in inspect(conn).get_table_names():
            command.stamp(config, BASELINE)  # made by create_all before migrations existed
        command.upgrade(config, "head")
    return head()


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate back to ``revision`` (tests; an operator rolling a release back)."""
    config = alembic_config()
    with _migrating(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
