"""Alembic migrations and the models agree; old databases upgrade and keep their data."""
from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from orderflow import create_app
from orderflow.core import schema
from orderflow.core.models import Base, Instance
from orderflow.engine import store
from orderflow.workflow import runs
from tests.support.orders import drive


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


def _rows(engine) -> dict[str, int]:
    """Rows of the tables that reference instances (SQLite's copy of a table must not cascade)."""
    with engine.connect() as conn:
        return {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                for name in ("instances", "human_tasks", "audit_events", "audit_heads")}


def test_engine_states_move_to_their_own_table_and_back_and_orders_go_on(app, api):
    """0014: the engine state leaves the instances row for instance_states (and back on downgrade);
    an order started before the upgrade goes on after it, from the state that moved."""
    order = api.start_order()
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        before = runs.read_state(s, s.get_one(Instance, order["id"]))
    counts = _rows(db.engine)
    db.engine.dispose()
    schema.downgrade(db.engine, "0013")   # as a database of the release before: the state in the row
    assert _rows(db.engine) == counts, "rows referencing instances survive the table being copied"
    with db.engine.connect() as conn:
        assert "instance_states" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT state FROM instances WHERE id = :id"), {"id": order["id"]}).scalar() == before
    db.engine.dispose()
    assert schema.upgrade(db.engine) == schema.head()
    assert _rows(db.engine) == counts
    db.platform.runtime.live.clear()   # this worker's memory is of the database before
    with db.session() as s:
        instance = s.get_one(Instance, order["id"])
        assert runs.read_state(s, instance) == before and len(instance.state_token or "") == 32
    task = api.task(order["id"], "check_stock")
    assert api.complete("warehouse1", task["id"], "sufficient").status_code == 200
    assert "check_stock" not in {t["element_id"] for t in api.open_tasks(order["id"])}


def test_state_deltas_fold_into_the_base_on_downgrade_and_orders_go_on(app, api):
    """0020: the steps' deltas (instance_state_deltas) are folded into the base when the release
    before is restored, as the service itself would read them; after the upgrade the order goes on."""
    order = api.start_order()
    db = app.extensions["orderflow.db"]
    for _ in range(6):
        task = api.open_tasks(order["id"])[0]
        assert api.complete(f"{task['group']}1", task["id"]).status_code == 200
    with db.session() as s:
        before = store.as_json(runs.read_state(s, s.get_one(Instance, order["id"])))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM instance_state_deltas")).scalar_one() > 0
    db.engine.dispose()
    schema.downgrade(db.engine, "0019")
    with db.engine.connect() as conn:
        assert "instance_state_deltas" not in inspect(conn).get_table_names()
        stored = conn.execute(text("SELECT state FROM instance_states WHERE instance_id = :id"),
                              {"id": order["id"]}).scalar_one()
    assert json.loads(stored) == json.loads(before)
    db.engine.dispose()
    assert schema.upgrade(db.engine) == schema.head()
    db.platform.runtime.live.clear()
    assert drive(api, order["id"])
