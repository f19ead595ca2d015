"""The database schema is managed by Alembic migrations (orderflow/migrations/versions).

``upgrade`` brings any database to the newest revision: an empty one gets every table; one
made by ``create_all`` before migrations existed is recognised and stamped with the baseline
first. To change the schema: edit orderflow/core/models/, then
``.venv/bin/alembic -c orderflow/migrations/alembic.ini -x url=sqlite:///instance/orderflow.sqlite
revision --autogenerate -m "what changed"``, review the file, commit it; tests/test_migrations.py
fails while models and migrations disagree.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

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


def upgrade(engine: Engine) -> str:
    """Migrate to the newest revision; returns it."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        unversioned = MigrationContext.configure(conn).get_current_revision() is None
        if unversioned and "instances" in inspect(conn).get_table_names():
            command.stamp(config, BASELINE)  # made by create_all before migrations existed
        command.upgrade(config, "head")
    return head()
