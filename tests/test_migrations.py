"""Alembic migrations and the models agree; old databases upgrade and keep their data."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from orderflow import create_app
from orderflow.core import schema
from orderflow.core.models import Base


def _diff(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_the_migrations_build_exactly_the_models(database_url):
    engine = create_engine(database_url)
    assert schema.upgrade(engine) == schema.head()
    assert _diff(engine) == [], "orderflow/core/models/ and orderflow/migrations disagree: write a migration"
    assert schema.current(engine) == schema.head()
    engine.dispose()


def test_a_first_release_database_upgrades_and_keeps_its_data(database_url):
    engine = create_engine(database_url)
    config = schema.alembic_config()
    with engine.begin() as conn:  # the schema as the first release left it, with a user in it
        config.attributes["connection"] = conn
        command.upgrade(config, schema.BASELINE)
        conn.execute(text("INSERT INTO groups (id, name) VALUES ('sales', 'Sales')"))
        conn.execute(text("DELETE FROM alembic_version"))  # that release had no migrations at all
    app = create_app({"TESTING": True, "SECRET_KEY": "m", "ORDERFLOW_DATABASE_URL": database_url})
    runner = app.test_cli_runner()
    for _ in range(2):  # and init-db is safe to repeat
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert schema.head() in result.output
    assert schema.current(engine) == schema.head()
    assert "process_drafts" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM groups WHERE id = 'sales'")).scalar() == "Sales"
    app.extensions["orderflow.db"].engine.dispose()
    engine.dispose()
