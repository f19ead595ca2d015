"""Live workflows kept in memory between requests (issue 16): a step reuses the workflow this process
stored last, never a stale one. The database stays the one truth: a kept workflow is used only while
the stored state is exactly the one it was kept with, so another worker's write, another node's, a
rolled-back request or an older definition all reload. (The suite's SQLite pass runs with
ORDERFLOW_WORKFLOW_CACHE_VERIFY on: every reuse is also checked against its stored state.)"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from orderflow import create_app
from orderflow.access import accounts
from orderflow.core.models import HumanTask, Instance
from orderflow.engine.expressions import run_script
from orderflow.engine.live_cache import BYTES_PER_STATE_CHAR, LiveWorkflows
from orderflow.engine.live_check import LiveWorkflowDiffers
from orderflow.workflow import runs, tasks
from tests.support import dbs, warm
from tests.support.helpers import Api, FakeClock, fill
from tests.support.orders import drive


def _runtime(app):
    return app.extensions["orderflow.platform"].runtime


# --- the cache itself -----------------------------------------------------------------------------

def test_an_entry_is_used_only_for_its_exact_state_and_definition():
    spec, other_spec = object(), object()
    live = LiveWorkflows(10**6)
    live.put(1, "state-a", spec, "workflow-a")
    assert live.take(1, "state-b", spec) is None, "another state: a miss"
    assert live.take(1, "state-a", spec) is None, "and the old entry is gone: it can never match again"
    live.put(1, "state-a", spec, "workflow-a")
    assert live.take(1, "state-a", other_spec) is None, "another compiled definition: a miss"
    live.put(1, "state-a", spec, "workflow-a")
    assert live.take(1, "state-a", spec) == "workflow-a"
    assert live.take(1, "state-a", spec) is None, "taken out while in use: no two requests share it"
    assert (live.stats.hits, live.stats.misses) == (1, 4)


def test_the_least_recently_used_leave_when_memory_runs_out():
    state = "x" * 100
    live = LiveWorkflows(3 * len(state) * BYTES_PER_STATE_CHAR)
    for key in range(3):
        live.put(key, state, None, key)
    live.put(0, state, None, "again")       # 0 is now the most recent
    live.put(3, state, None, 3)             # one must go: 1, the least recently used
    assert len(live) == 3 and live.stats.evictions == 1
    assert live.take(1, state, None) is None
    assert live.take(0, state, None) == "again"
    assert live.bytes == 2 * len(state) * BYTES_PER_STATE_CHAR
    live.put(9, "y" * 10**6, None, "too big")   # larger than the whole budget: not kept at all
    assert live.take(9, "y" * 10**6, None) is None and live.stats.evictions == 1


def test_a_size_of_zero_keeps_nothing():
    live = LiveWorkflows(0)
    live.put(1, "s", None, "w")
    assert live.take(1, "s", None) is None and len(live) == 0


def test_script_results_are_stored_as_json_would_give_them_back():
    """An expression's value may be a variable's own list, or a tuple: kept in memory as such, the
    next step would see what a reload could not (a change to one name showing in the other)."""
    data = {"items": [1, [2, 3]], "record": {"a": [1]}}
    run_script("copy = items\nnested = record\npair = (1, 2)", data)
    assert data["copy"] == data["items"] and data["copy"] is not data["items"]
    assert data["copy"][1] is not data["items"][1]
    assert data["nested"]["a"] is not data["record"]["a"]
    assert data["pair"] == [1, 2]


# --- in the service -------------------------------------------------------------------------------

def test_steps_of_an_order_reuse_the_workflow_they_stored(app, api: Api):
    order = api.start_order()
    live = _runtime(app).live
    before = live.stats.hits
    drive(api, order["id"])
    assert live.stats.hits - before >= 20, "each step (and each page read) found the workflow kept"


def test_a_kept_workflow_that_changed_after_it_was_stored_is_caught(app, api: Api):
    """The check the suite runs on every reuse fails loudly, it does not pass silently."""
    app.extensions["orderflow.platform"].runtime.verify_cache = True   # as in the SQLite pass
    order = api.start_order()
    database = app.extensions["orderflow.db"]
    with database.session() as session:
        instance = session.get(Instance, order["id"])
        pdef, workflow = runs.load(session, instance, None)
        runs.keep_read(session, instance, pdef, workflow)
        workflow.data["changed_after_store"] = True          # what a bug would do
        with pytest.raises(LiveWorkflowDiffers):
            runs.load(session, instance, None)


def test_a_rolled_back_step_leaves_no_trace_in_the_next_one(app, api: Api):
    order = api.start_order()
    database = app.extensions["orderflow.db"]
    with database.session() as session:
        actor = accounts.by_username(session, "warehouse1")
        task = session.scalars(select(HumanTask).where(HumanTask.instance_id == order["id"],
                                                       HumanTask.status == "ready")).one()
        form = app.extensions["orderflow.platform"].load_form(task.form_key)
        tasks.complete(session, actor, task.id, fill(form, {}, "sufficient"))   # stored and kept ...
        session.rollback()                                                      # ... but never committed
    hits = _runtime(app).live.stats.hits
    open_tasks = api.open_tasks(order["id"])
    assert [t["element_id"] for t in open_tasks] == ["check_stock"], "the database's state, not the kept one"
    assert _runtime(app).live.stats.hits == hits, "the kept workflow did not match the stored state"
    drive(api, order["id"])
    assert api.get("manager1", f"/api/v1/instances/{order['id']}").json["status"] == "completed"


@pytest.fixture
def two_workers(seeded_url: str, compiled_processes):
    """Two processes' apps on one database, each with its own kept workflows (as two gunicorn
    workers, or two nodes, have)."""
    apps = []
    for _ in range(2):
        worker = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_DATABASE_URL": seeded_url})
        warm.prepare(worker, compiled_processes)
        apps.append(worker)
    yield apps
    for worker in apps:
        worker.extensions["orderflow.db"].engine.dispose()


def test_two_workers_alternating_on_one_order_never_use_a_stale_workflow(two_workers):
    first, second = (Api(worker.test_client()) for worker in two_workers)
    order = first.start_order()
    done = []
    for step in range(80):
        api = (first, second)[step % 2]                       # each write is the other worker's news
        open_tasks = api.open_tasks(order["id"])
        if not open_tasks:
            break
        task = open_tasks[0]
        password = "demo" if task["element_id"] == "sign_release" else None
        assert api.complete(f"{task['group']}1", task["id"], password=password).status_code == 200
        done.append(task["element_id"])
    detail = first.get("manager1", f"/api/v1/instances/{order['id']}").json
    assert detail["status"] == "completed"
    assert [h["element_id"] for h in detail["history"]] == done, "no step lost or repeated"
    for worker in two_workers:
        live = _runtime(worker).live
        assert live.stats.misses >= len(done) // 2 - 1, "the other worker's writes were noticed"


def test_the_same_order_with_and_without_kept_workflows_ends_alike(seeded_url, compiled_processes, tmp_path):
    """Differential: an order driven with the cache and, on a copy of the same database, without it."""
    start = FakeClock().value
    results = []
    for size in (128, 0):
        (tmp_path / str(size)).mkdir()
        url = dbs.copy_of(seeded_url, tmp_path / str(size))
        worker = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_DATABASE_URL": url,
                             "ORDERFLOW_WORKFLOW_CACHE_MB": size})
        warm.prepare(worker, compiled_processes)
        worker.extensions["orderflow.platform"].clock = FakeClock(start)
        api = Api(worker.test_client())
        order = api.start_order()
        done = drive(api, order["id"])
        detail = api.get("manager1", f"/api/v1/instances/{order['id']}").json
        results.append((done, detail["data"], _runtime(worker).live.stats.hits > 0))
        worker.extensions["orderflow.db"].engine.dispose()
        dbs.drop(url)
    (with_cache, data_with, used), (without, data_without, unused) = results
    assert used and not unused
    assert with_cache == without
    assert data_with == data_without
