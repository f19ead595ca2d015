"""Orders driven through the API and rows written straight into the database, for tests that need an order's history."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from orderflow.core.models import HumanTask, Instance, ProcessVersion, User
from orderflow.core.platform import platform_of
from orderflow.workflow import instances, runs
from tests.support.helpers import Api


def drive(api: Api, instance_id: int, choices: dict[str, list[str]] | None = None, limit: int = 80) -> list[str]:
    """Complete open tasks as '<group>1' until the order ends; ``choices`` scripts decisions per step."""
    choices = {k: list(v) for k, v in (choices or {}).items()}
    done = []
    for _ in range(limit):
        open_tasks = api.open_tasks(instance_id)
        if not open_tasks:
            return done
        task = open_tasks[0]
        user = f"{task['group']}1"
        choice = choices[task["element_id"]].pop(0) if choices.get(task["element_id"]) else None
        values = dict(choice) if isinstance(choice, dict) else {"decision": choice}  # a decision, or fields too
        password = "demo" if task["element_id"] == "sign_release" else None
        resp = api.complete(user, task["id"], values.pop("decision", None), password=password, **values)
        assert resp.status_code == 200, (task["element_id"], resp.json)
        done.append(task["element_id"])
    raise AssertionError(f"order did not finish in {limit} steps: {done}")


def assert_consistent(app, instance_id: int) -> None:
    """Every task row marked completed is also completed in the engine state (no lost update)."""
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        actor = s.scalar(select(User).where(User.username == "manager1"))
        view = instances.view(s, actor, instance_id)
        done_rows = [r.element_id for r in s.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "completed"))]
        for element in done_rows:
            assert element in view.finished_elements, f"{element} completed in the inbox but lost in the engine"
        # the inbox's open rows are exactly the user tasks the stored engine state has ready
        instance = s.get(Instance, instance_id)
        _, workflow = runs.load(s, instance, None)
        in_engine = {t.task_uuid for t in platform_of(s).runtime.snapshot(workflow).ready}
        assert {r.task_uuid for r in view.open_tasks} == in_engine, "the inbox and the engine disagree on open tasks"


def add_instance(session, process_key: str, number: str, customer: str | None, status: str, started_at: datetime,
                 ended_at: datetime | None = None, **columns) -> Instance:
    version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.key == "order_flow"))
    row = Instance(process_version_id=version_id, process_key=process_key, business_key=number, customer=customer,
                   status=status, started_by="sales1", started_at=started_at, updated_at=started_at,
                   ended_at=ended_at, **columns)
    session.add(row)
    session.flush()
    return row


def add_task(session, instance: Instance, element_id: str, status: str = "completed",
             completed_at: datetime | None = None, context: dict | None = None, data: dict | None = None,
             via: str | None = None, group: str = "sales") -> HumanTask:
    ready = (completed_at or instance.started_at) - timedelta(hours=1)
    row = HumanTask(instance_id=instance.id, process_key=instance.process_key,
                    process_version_id=instance.process_version_id, task_uuid=f"{instance.id}-{element_id}",
                    element_id=element_id, name=element_id, group_id=group, status=status, ready_at=ready,
                    completed_at=completed_at if status == "completed" else None,
                    completed_by="sales1" if status == "completed" else None, completed_via=via,
                    customer_step=element_id == "satisfaction_survey", data=data, context=context)
    session.add(row)
    session.flush()
    return row
