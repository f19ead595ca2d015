"""Crashes and several nodes: SIGKILL in the middle of a load, then restart; two nodes with
their schedulers on one database. Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from orderflow import create_app
from orderflow.core.models import AuditEvent, HumanTask, Instance, Job
from orderflow.workflow import runs
from tests.support import bpmn_samples as samples
from tests.support.helpers import NEW_ORDER, Api, fill
from tests.support.orders import assert_consistent
from tests.support.servers import PATIENCE, Node, request

pytestmark = pytest.mark.multiprocess


@pytest.fixture
def prepared(seeded_url):
    """A seeded database (a copy of the session's template: what `make run` seeds) with a timer process."""
    app = create_app({"TESTING": True, "SECRET_KEY": "load", "ORDERFLOW_DATABASE_URL": seeded_url})
    api = Api(app.test_client())
    resp = api.client.post("/api/v1/processes", data=samples.timer_process("PT4S").encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201
    yield app, api
    app.extensions["orderflow.db"].engine.dispose()


def _wait_until(predicate, seconds: float = PATIENCE) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def _count(app, query) -> int:
    with app.extensions["orderflow.db"].session() as s:
        return s.scalar(query)


def _a_day_passes_for_their_timers(app, instance_ids: list[int]) -> None:
    """While no node runs, a day passes for these instances' timers: the due time of each waiting timer
    in the engine state the killed node stored moves back a day, and the instance is stored as the
    service stores any change (next timer, timer job). The state is the one a day of downtime leaves."""
    with app.extensions["orderflow.db"].session() as session:
        for instance in session.scalars(select(Instance).where(Instance.id.in_(instance_ids))):
            pdef, workflow = runs.load(session, instance, None)
            waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.internal_data.get("event_value")]
            assert len(waiting) == 1, (instance.id, [t.task_spec.bpmn_id for t in waiting])
            due = datetime.fromisoformat(waiting[0].internal_data["event_value"])
            waiting[0].internal_data["event_value"] = (due - timedelta(days=1)).isoformat()
            runs.store_workflow(session, instance, pdef, workflow)
        session.commit()


def _drive(base: str, order_id: int, acknowledged: list[int], stop: threading.Event) -> None:
    """Complete an order's open tasks one after another until the node dies; note each 200."""
    while not stop.is_set():
        try:
            status, instance = request("GET", f"{base}/api/v1/instances/{order_id}", user="manager1")
            open_tasks = (instance or {}).get("open_tasks") or []
            if status != 200 or not open_tasks:
                return
            task = open_tasks[0]
            user = f"{task['group']}1"
            _, detail = request("GET", f"{base}/api/v1/tasks/{task['id']}", user=user)
            body = {"data": fill(detail["form"], detail["values"])}
            if task["element_id"] == "sign_release":
                body["password"] = "demo"
            status, _ = request("POST", f"{base}/api/v1/tasks/{task['id']}/complete", body, user)
            if status == 200:
                acknowledged.append(task["id"])
        except OSError:  # the node is gone: whatever was in flight was never acknowledged
            return


def test_sigkill_mid_load_loses_no_acknowledged_step_and_timers_fire_after_restart(prepared, seeded_url, tmp_path):
    app, api = prepared
    # a day's timer: it cannot fall due during the load however slow the machine; the downtime moves it
    resp = api.client.post("/api/v1/processes", data=samples.timer_process("P1D", "daily").encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json
    node = Node(seeded_url, tmp_path, scheduler=True).start()
    try:
        orders = [request("POST", f"{node.base}/api/v1/processes/order_flow/instances",
                          {"data": NEW_ORDER}, "sales1")[1]["id"] for _ in range(12)]
        timers = [request("POST", f"{node.base}/api/v1/processes/daily/instances", {"data": {}}, "admin")[1]["id"]
                  for _ in range(20)]
        acknowledged: list[int] = []
        stop = threading.Event()
        drivers = [threading.Thread(target=_drive, args=(node.base, o, acknowledged, stop)) for o in orders]
        for d in drivers:
            d.start()
        _wait_until(lambda: len(acknowledged) >= 40 or not any(d.is_alive() for d in drivers))
        assert len(acknowledged) >= 40, "the load never got going"
        node.kill()  # SIGKILL master and workers in the middle of the load
        stop.set()
        for d in drivers:
            d.join()  # each ends on its first request to the dead node
        completed = select(func.count()).select_from(Instance).where(
            Instance.id.in_(timers), Instance.status == "completed")
        assert _count(app, completed) == 0
        _a_day_passes_for_their_timers(app, timers)  # the timers fall due while no node runs

        node = Node(seeded_url, tmp_path, scheduler=True).start()  # restart
        assert _wait_until(lambda: _count(app, completed) == len(timers)), \
            "timers that fell due while the node was down did not fire"

        with app.extensions["orderflow.db"].session() as s:  # every acknowledged completion is stored
            stored = dict(s.execute(select(HumanTask.id, HumanTask.status).where(HumanTask.id.in_(acknowledged))).all())
        assert len(acknowledged) == len(set(acknowledged)) >= 40
        assert all(stored.get(t) == "completed" for t in acknowledged), {t: stored.get(t) for t in acknowledged}
        for order_id in orders:  # no instance damaged: each loads, and its rows match its engine state
            status, instance = request("GET", f"{node.base}/api/v1/instances/{order_id}", user="manager1")
            assert status == 200 and instance["status"] in {"running", "completed"}
            assert_consistent(app, order_id)
        status, _ = request("GET", f"{node.base}/api/v1/instances/{orders[0]}", user="manager1")
        assert status == 200
    finally:
        node.stop()


def test_two_nodes_with_their_schedulers_run_every_timer_and_job_once(prepared, seeded_url, tmp_path):
    app, _ = prepared
    nodes = [Node(seeded_url, tmp_path, scheduler=True).start() for _ in range(2)]
    try:
        ids = [request("POST", f"{nodes[i % 2].base}/api/v1/processes/timed/instances", {"data": {}}, "admin")[1]["id"]
               for i in range(60)]
        done = lambda: _count(app, select(func.count()).select_from(Instance).where(  # noqa: E731
            Instance.id.in_(ids), Instance.status == "completed")) == len(ids)
        assert _wait_until(done), "the nodes did not finish the timers"
    finally:
        for node in nodes:
            node.stop()
    with app.extensions["orderflow.db"].session() as s:
        fired = Counter(dict(s.execute(select(AuditEvent.instance_id, func.count()).where(
            AuditEvent.action == "timer_fired", AuditEvent.instance_id.in_(ids)).group_by(AuditEvent.instance_id)).all()))
        jobs = s.scalars(select(Job).where(Job.instance_id.in_(ids))).all()
    assert fired == Counter(dict.fromkeys(ids, 1))
    assert all(job.status == "done" and job.attempts <= 1 for job in jobs), [(j.id, j.status, j.attempts) for j in jobs]
    assert all("Traceback" not in node.output() for node in nodes), [n.output()[-3000:] for n in nodes]
