"""The workflow platform knows no order: what it asks the business it asks through the hooks
(``orderflow/core/hooks.py``), which the app factory fills from ``orderflow/orders/plug.py``.
Without them the platform runs every diagram, with the business key as its only column."""
from __future__ import annotations

from sqlalchemy import select

from orderflow.core.hooks import Hooks
from orderflow.core.models import HumanTask, TaskStat, User
from orderflow.workflow import instances, tasks
from tests.support import bpmn_samples as samples
from tests.support.helpers import Api

FACTS = samples.script_process("order_no = 'SO-1'\nbusiness_key = 'BK-7'\ncustomer = 'ACME'\norder_total = 100",
                               pid="facts")


def _deploy(api: Api, xml: str) -> None:
    resp = api.client.post("/api/v1/processes", data=xml.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json


def _started(app, key: str):
    with app.extensions["orderflow.db"].session() as s:
        admin = s.scalar(select(User).where(User.username == "admin"))
        instance = instances.start(s, admin, key, {})
        s.commit()
        return instance.business_key, instance.customer, instance.order_total


def test_the_order_business_projects_its_columns(app, api):
    _deploy(api, FACTS)
    assert _started(app, "facts") == ("SO-1", "ACME", 100.0)


def test_without_the_business_only_the_business_key_is_projected(app, api):
    app.extensions["orderflow.platform"].hooks = Hooks()
    _deploy(api, FACTS)
    assert _started(app, "facts") == ("BK-7", None, None)


def test_a_completed_step_is_handed_to_the_business_in_the_same_transaction(app, api):
    seen: list[tuple[int, str]] = []
    platform = app.extensions["orderflow.platform"]
    platform.hooks = Hooks(task_completed=lambda session, task: seen.append((task.id, task.status)))
    _deploy(api, samples.USER_TASK_BARE)
    with app.extensions["orderflow.db"].session() as s:
        admin = s.scalar(select(User).where(User.username == "admin"))
        owner = s.scalar(select(User).where(User.username == "owner1"))  # a lane-less step: the process owners'
        instance = instances.start(s, admin, "bare", {})
        [task] = s.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))
        tasks.complete(s, owner, task.id, {})
        s.commit()
        assert seen == [(task.id, "completed")]
        assert s.scalar(select(TaskStat.day).where(TaskStat.element_id == task.element_id)) is None  # no roll-up
