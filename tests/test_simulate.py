"""Demo data: `flask simulate` drives orders through the domain layer with a moved clock, and
bench/scale.py's bulk loader writes rows the read paths and the roll-up agree on."""
from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from orderflow.core.models import AuditEvent, HumanTask, Instance, Notification, TaskStat

ROOT = Path(__file__).resolve().parent.parent


def _db(app):
    return app.extensions["orderflow.db"]


def test_simulate_fills_the_past_with_finished_and_waiting_orders(app):
    real_clock = app.extensions["orderflow.platform"].clock
    before = datetime.now(UTC)
    result = app.test_cli_runner().invoke(args=["simulate", "--orders", "12", "--seed", "1", "--days", "20"])
    after = datetime.now(UTC)  # the simulation's "now" lies between before and after, however slow
    assert result.exit_code == 0, result.output
    assert "12 orders" in result.output
    assert app.extensions["orderflow.platform"].clock is real_clock      # the real clock is back
    with _db(app).session() as s:
        orders = Instance.process_key == "order_flow"  # the delivered ones also have surveys, some cases
        statuses = dict(s.execute(select(Instance.status, func.count()).where(orders)
                                  .group_by(Instance.status)).all())
        assert sum(statuses.values()) == 12
        assert statuses.get("completed", 0) >= 1 and statuses.get("running", 0) >= 1
        started = list(s.scalars(select(Instance.started_at)))
        assert min(started) < before - timedelta(days=10)                # spread over the 20 days
        assert max(started) <= after
        done = list(s.scalars(select(HumanTask.completed_at).where(HumanTask.status == "completed")))
        assert len(done) > 12 * 5
        assert min(done) < before - timedelta(days=7) and max(done) <= after + timedelta(seconds=5)
        assert len({d.date() for d in done}) >= 10                      # not all "now"
        assert s.scalar(select(func.min(AuditEvent.at))) < before - timedelta(days=10)
        overdue = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "ready", HumanTask.due_at < before))
        escalated = s.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "sla_breached"))
        assert overdue + escalated >= 1
        late = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "completed", HumanTask.completed_at > HumanTask.due_at))
        assert 0 < late < len(done) / 2                                   # most on time, some late
        # the flow's exceptions ran through the real gateways
        elements = set(s.scalars(select(HumanTask.element_id).where(HumanTask.status == "completed")))
        assert {"check_stock", "review_order", "confirm_deposit", "produce"} <= elements
    again = app.test_cli_runner().invoke(args=["simulate", "--orders", "5", "--if-empty"])
    assert again.exit_code == 0, again.output
    assert "nothing simulated" in again.output
    with _db(app).session() as s:
        assert s.scalar(select(func.count()).select_from(Instance).where(orders)) == 12


def test_simulate_if_empty_fills_an_empty_database(app):
    result = app.test_cli_runner().invoke(args=["simulate", "--orders", "2", "--days", "5", "--if-empty"])
    assert result.exit_code == 0, result.output
    with _db(app).session() as s:
        assert s.scalar(select(func.count()).select_from(Instance).where(Instance.process_key == "order_flow")) == 2


def _scale_module():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_scale_loader_writes_consistent_rows(app):
    scale = _scale_module()
    stats = scale.load(_db(app), 200, seed=3)
    assert stats.orders == 200 and stats.running + stats.completed == 200
    with _db(app).session() as s:
        count = lambda q: s.scalar(select(func.count()).select_from(q))  # noqa: E731
        assert count(Instance) == 200
        running = s.scalar(select(func.count()).select_from(Instance).where(Instance.status == "running"))
        assert running == stats.running and 100 < running < 190          # about 70 %
        ready = s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "ready"))
        assert ready == running                                           # one waiting step per running order
        completed = s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "completed"))
        assert completed + ready == stats.tasks == count(HumanTask)
        assert s.scalar(select(func.sum(TaskStat.completed))) == completed  # the roll-up matches the rows
        on_time = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "completed", HumanTask.completed_at <= HumanTask.due_at))
        assert s.scalar(select(func.sum(TaskStat.on_time))) == on_time
        # every ready task sits on a user task of the flow with the lane's group
        rows = s.execute(select(HumanTask.element_id, HumanTask.group_id, HumanTask.process_version_id)
                         .where(HumanTask.status == "ready")).all()
        version_id = s.scalar(select(Instance.process_version_id).limit(1))
        assert all(g and v == version_id for _, g, v in rows)
        assert len({e for e, _, _ in rows}) > 5
        assert s.scalar(select(func.count(func.distinct(Instance.business_key)))) == 200
    client = app.test_client()
    from tests.support.helpers import basic
    assert client.get("/api/v1/tasks?scope=groups", headers=basic("warehouse1")).status_code == 200
