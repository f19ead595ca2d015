"""What a step costs in SQL, counted: starting an order, opening a task and completing it each run a
fixed number of statements, whatever the order's history (the speed issue cut them from 18, 5 and 16
to 9, 2 and 10, the step that ends the order included; a step whose live workflow is kept reads none
of its state). A new statement in the step's path fails here with the list of what ran, so it is
added on purpose. Also: the forms a step reads are its own version's, decoded once per process and
handed out as copies."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import event

from orderflow.core.models import ProcessVersion
from orderflow.workflow import definitions
from tests.support.helpers import Api, sqlite_plan

BENCH = Path(__file__).resolve().parent.parent / "bench"
FILES = ("small.bpmn", "bench_small_start.json", "bench_small_step.json")

#: statements per call, on both databases: auth (the user with the throttle and the group ids),
#: the task with its version and its order's open rows, the step's writes (task, audit chain, order,
#: its state, new task rows); the audit chain's head is written once per transaction
BUDGET = {"start": 9, "get": 2, "complete": 10, "finish": 10}   # finish: the step that ends the order


def _deploy(api: Api, step_form: dict | None = None) -> None:
    texts = {name: (BENCH / name).read_bytes() for name in FILES}
    if step_form is not None:
        texts["bench_small_step.json"] = json.dumps(step_form).encode()
    upload = {"files": [(io.BytesIO(text), name) for name, text in texts.items()]}
    resp = api.client.post("/api/v1/processes", data=upload, headers=api.auth("owner1"),
                           content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json


class Statements:
    def __init__(self, app):
        self.engine = app.extensions["orderflow.db"].engine
        self.seen: list[str] = []

    def __enter__(self) -> None:
        event.listen(self.engine, "before_cursor_execute", self._count)

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement, *_args) -> None:
        self.seen.append(" ".join(statement.split())[:120])


def _check(kind: str, seen: list[str]) -> None:
    assert len(seen) <= BUDGET[kind], f"{kind}: {len(seen)} statements, budget {BUDGET[kind]}:\n" + "\n".join(seen)


def test_each_call_of_a_step_runs_its_budget_of_statements(app, api):
    app.extensions["orderflow.platform"].runtime.verify_cache = False   # the suite's check reads the state
    _deploy(api)
    counter = Statements(app)
    seen = counter.seen
    for _ in range(2):   # the first order of a day also makes its number sequence: counted from the second
        seen.clear()
        with counter:
            started = api.post("sales1", "/api/v1/processes/bench_small/instances",
                               {"data": {"reference": "statements"}})
        assert started.status_code == 201, started.json
    _check("start", seen)
    open_tasks = started.json["open_tasks"]
    steps = 0
    while open_tasks:
        task = open_tasks[0]
        user = f"{task['group']}1"
        seen.clear()
        with counter:
            form = api.get(user, f"/api/v1/tasks/{task['id']}")
        assert form.status_code == 200, form.json
        _check("get", seen)
        seen.clear()
        with counter:
            done = api.post(user, f"/api/v1/tasks/{task['id']}/complete", {"data": {"note": f"step {steps}"}})
        assert done.status_code == 200, done.json
        _check("complete" if done.json["open_tasks"] else "finish", seen)
        open_tasks, steps = done.json["open_tasks"], steps + 1
    assert steps >= 5 and done.json["instance"]["status"] == "completed"


@pytest.mark.parametrize("first", ["old", "new"])
def test_a_task_reads_its_own_versions_form_when_only_the_form_changed(app, api, first):
    """Two versions with the same diagram and different forms: each order's task shows and checks
    its own version's form, whichever was read first in this process."""
    _deploy(api)
    old_order = api.post("sales1", "/api/v1/processes/bench_small/instances", {"data": {"reference": "v"}}).json
    step = json.loads((BENCH / "bench_small_step.json").read_text())
    step["properties"]["checked_by"] = {"type": "string", "title": "Checked by", "maxLength": 40}
    step["required"] = ["note", "checked_by"]
    _deploy(api, step)
    new_order = api.post("sales1", "/api/v1/processes/bench_small/instances", {"data": {"reference": "v"}}).json
    tasks = {"old": old_order["open_tasks"][0], "new": new_order["open_tasks"][0]}
    order = [first, "new" if first == "old" else "old"]
    forms = {which: api.get(f"{tasks[which]['group']}1", f"/api/v1/tasks/{tasks[which]['id']}").json["form"]
             for which in order}
    assert "checked_by" not in forms["old"]["properties"]
    assert forms["new"]["required"] == ["note", "checked_by"]
    new_task = tasks["new"]
    refused = api.post(f"{new_task['group']}1", f"/api/v1/tasks/{new_task['id']}/complete", {"data": {"note": "x"}})
    assert refused.status_code == 422 and "checked_by" in refused.json["error"]["fields"], refused.json
    old_task = tasks["old"]
    done = api.post(f"{old_task['group']}1", f"/api/v1/tasks/{old_task['id']}/complete", {"data": {"note": "x"}})
    assert done.status_code == 200, done.json


def test_a_form_handed_out_is_the_callers_own_copy(app, api):
    _deploy(api)
    with app.extensions["orderflow.db"].session() as session:
        row = definitions.latest_version(session, "bench_small")
        assert isinstance(row, ProcessVersion)
        mine = definitions.form(session, row, "bench_small_step")
        assert mine is not None
        mine["properties"]["note"]["maxLength"] = 1
        mine["required"].append("other")
        again = definitions.form(session, row, "bench_small_step")
        assert again is not None and again["properties"]["note"]["maxLength"] == 100
        assert again["required"] == ["note"]
        assert definitions.form(session, row, "no-such-form") is None
        with pytest.raises(TypeError):
            definitions.forms_of(session, row)["bench_small_step"] = {}  # type: ignore[index]


def test_authentication_reads_the_group_ids_with_the_user_and_a_change_of_groups_counts_at_once(app):
    from orderflow.access import accounts

    with app.extensions["orderflow.db"].session() as session:
        user = accounts.authenticate(session, "sales1", "demo", "10.0.0.1")
        assert user is not None and user.group_ids == {"sales"}
        assert "groups" not in user.__dict__            # decided without loading the groups
        user.groups = accounts.groups_by_id(session, ["finance", "quality"])
        assert user.group_ids == {"finance", "quality"}
        session.flush()
        again = accounts.authenticate(session, "sales1", "demo", "10.0.0.1")
        assert again is user and again.group_ids == {"finance", "quality"}
        user.groups.remove(accounts.groups_by_id(session, ["finance"])[0])
        assert user.group_ids == {"quality"}
        nobody = accounts.create_user(session, "loner", "demo", [], hash_method="pbkdf2:sha256:1000")
        assert accounts.authenticate(session, "loner", "demo", "10.0.0.1") is nobody
        assert nobody.group_ids == frozenset()


def test_an_order_flow_step_reads_before_its_first_write_and_writes_its_order_once(app, api):
    """The order flow indexes its message waits and gives its steps time limits: a step reads the
    index rows and the open tasks before it writes anything (on SQLite the write turn is held from the
    first write to the commit), writes the order's row once, and closes the task's time-limit jobs."""
    from sqlalchemy import select

    from orderflow.core.models import Job

    app.extensions["orderflow.platform"].runtime.verify_cache = False
    order = api.start_order()
    task = api.open_tasks(order["id"])[0]
    with app.extensions["orderflow.db"].session() as session:
        pending = session.scalars(select(Job).where(Job.kind == "sla", Job.task_ref == str(task["id"]))).all()
        assert pending and {job.status for job in pending} == {"pending"}   # the task has a time limit
    counter = Statements(app)
    with counter:
        done = api.complete(f"{task['group']}1", task["id"])
    assert done.status_code == 200, done.json
    seen = [s for s in counter.seen if not s.startswith("SELECT users.id")]   # the two requests' log-ins
    writes = [n for n, s in enumerate(seen) if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    reads_of = {table: [n for n, s in enumerate(seen) if s.startswith(f"SELECT {table}.")]
                for table in ("correlation_keys", "human_tasks")}
    assert reads_of["correlation_keys"] and reads_of["human_tasks"], "\n".join(seen)
    assert max(reads_of["correlation_keys"] + reads_of["human_tasks"]) < writes[0], "\n".join(seen)
    assert sum(s.startswith("UPDATE instances ") for s in seen) == 1, "\n".join(seen)
    with app.extensions["orderflow.db"].session() as session:
        closed = session.scalars(select(Job).where(Job.kind == "sla", Job.task_ref == str(task["id"]))).all()
        assert {job.status for job in closed} == {"done"}


def test_a_steps_reads_and_writes_of_its_orders_rows_search_that_orders_index():
    """A step closes its task's time-limit jobs, looks up its order's timer job, and reads its open
    task rows and message index: each searches the rows of that one order by an index, never the
    pending rows of every order (closing the time-limit jobs by the task alone searched every pending
    job). SQLite's plan, read without statistics."""
    from sqlalchemy import create_engine

    from orderflow.core.models import Base
    from orderflow.workflow import correlations, jobs, runs, tasks

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    expected = {jobs.CLOSE_SLA: "jobs USING INDEX ix_jobs_instance (instance_id=? AND kind=? AND status=?)",
                jobs._PENDING_TIMER: "jobs USING INDEX ix_jobs_instance (instance_id=? AND kind=? AND status=?)",
                runs._OPEN_ROWS: "human_tasks USING INDEX ix_human_tasks_instance (instance_id=? AND status=?)",
                correlations._KEYS: "correlation_keys USING INDEX ix_correlation_keys_instance_id (instance_id=?)"}
    with engine.connect() as conn:
        for statement, search in expected.items():
            plan = sqlite_plan(conn, str(statement.compile(dialect=engine.dialect)))
            assert plan == f"SEARCH {search}", plan
        # a completion reads its task's order's open rows, the task among them, by the task's key
        # and the order's index
        plan = sqlite_plan(conn, str(tasks._OPEN_WITH_TASK.compile(dialect=engine.dialect)))
        assert plan.startswith("SEARCH human_tasks USING INDEX ix_human_tasks_instance (instance_id=? AND status=?) "
                               "| SCALAR SUBQUERY 1 | SEARCH given USING INTEGER PRIMARY KEY (rowid=?)"), plan
        # a job is read with its order and the id of the order's other pending timer job
        plan = sqlite_plan(conn, str(jobs._JOB_AND_ORDER.compile(dialect=engine.dialect)))
        assert plan.startswith("SEARCH jobs USING INTEGER PRIMARY KEY") and "SCAN" not in plan, plan
        assert "SEARCH other_timer USING COVERING INDEX ix_jobs_instance (instance_id=? AND kind=? AND status=?)" \
            in plan, plan
