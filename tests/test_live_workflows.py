"""Live workflows kept in memory between requests (issue 16): a step reuses the workflow this process
stored last, never a stale one. The database stays the one truth: a kept workflow is used only while
the database names the state it was kept with (``instances.state_token``, new with every state
stored), so another worker's write, another node's, a rolled-back request or an older definition all
reload, and a hit reads no state at all. (The suite's SQLite pass runs with
ORDERFLOW_WORKFLOW_CACHE_VERIFY on: every reuse is also checked against its stored state.)"""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from orderflow import create_app
from orderflow.access import accounts
from orderflow.core.errors import LostRace
from orderflow.core.models import HumanTask, Instance
from orderflow.engine import store
from orderflow.engine.expressions import run_script
from orderflow.engine.live_cache import BYTES_PER_STATE_CHAR, LiveWorkflows, size_of
from orderflow.engine.live_check import LiveWorkflowDiffers
from orderflow.workflow import runs, tasks
from tests.support import dbs, warm
from tests.support.helpers import Api, FakeClock, fill
from tests.support.orders import drive


def _runtime(app):
    return app.extensions["orderflow.platform"].runtime


# --- the cache itself -----------------------------------------------------------------------------

def _taken(live: LiveWorkflows, key, token, spec):
    entry = live.take(key, token, spec)
    return entry.workflow if entry is not None else None


def test_an_entry_is_used_only_for_its_exact_token_and_definition():
    spec, other_spec = object(), object()
    live = LiveWorkflows(10**6)
    live.put(1, "token-a", spec, "workflow-a", 100)
    assert _taken(live, 1, "token-b", spec) is None, "another state stored since: a miss"
    assert _taken(live, 1, "token-a", spec) is None, "and the old entry is gone: it can never match again"
    live.put(1, "token-a", spec, "workflow-a", 100)
    assert _taken(live, 1, "token-a", other_spec) is None, "another compiled definition: a miss"
    live.put(1, "token-a", spec, "workflow-a", 100)
    assert _taken(live, 1, None, spec) is None, "no token stored (a state from before tokens): a miss"
    live.put(1, "token-a", spec, "workflow-a", 100)
    assert _taken(live, 1, "token-a", spec) == "workflow-a"
    assert _taken(live, 1, "token-a", spec) is None, "taken out while in use: no two requests share it"
    assert (live.stats.hits, live.stats.misses) == (1, 5)


def test_the_least_recently_used_leave_when_memory_runs_out():
    size = size_of("x" * 100)
    assert size == 100 * BYTES_PER_STATE_CHAR
    live = LiveWorkflows(3 * size)
    for key in range(3):
        live.put(key, "t", None, key, size)
    live.put(0, "t", None, "again", size)       # 0 is now the most recent
    live.put(3, "t", None, 3, size)             # one must go: 1, the least recently used
    assert len(live) == 3 and live.stats.evictions == 1
    assert _taken(live, 1, "t", None) is None
    assert _taken(live, 0, "t", None) == "again"
    assert live.bytes == 2 * size
    live.put(9, "t", None, "too big", 4 * size)   # larger than the whole budget: not kept at all
    assert _taken(live, 9, "t", None) is None and live.stats.evictions == 1


def test_a_size_of_zero_keeps_nothing():
    live = LiveWorkflows(0)
    live.put(1, "t", None, "w", 10)
    assert _taken(live, 1, "t", None) is None and len(live) == 0


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


def test_a_step_that_finds_its_workflow_kept_reads_no_state(app, api: Api):
    _runtime(app).verify_cache = False   # the suite's check reads the state to compare
    order = api.start_order()
    engine = app.extensions["orderflow.db"].engine
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        task = api.task(order["id"], "check_stock")
        assert api.complete("warehouse1", task["id"], "sufficient").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    on_states = [s.split()[0] for s in statements if "instance_state" in s]
    assert on_states == ["INSERT"], on_states   # the step's delta written once, nothing read


def test_a_state_written_behind_the_workers_back_is_never_served_from_memory(app, api: Api):
    """Whoever writes a state gives it a new token (``runs.write_state``): here one put back as it was
    two steps ago, while this worker keeps the newer workflow; the next step runs on the one stored."""
    order = api.start_order()
    database = app.extensions["orderflow.db"]
    with database.session() as session:
        older = runs.read_state(session, session.get_one(Instance, order["id"]))
    task = api.task(order["id"], "check_stock")
    assert api.complete("warehouse1", task["id"], "sufficient").status_code == 200
    assert [t["element_id"] for t in api.open_tasks(order["id"])] != ["check_stock"]
    with database.session() as session:
        runs.write_state(session, session.get_one(Instance, order["id"]), older)
        session.commit()
    misses = _runtime(app).live.stats.misses
    with database.session() as session:
        instance = session.get_one(Instance, order["id"])
        _, workflow = runs.load(session, instance, None)
        ready = [t.element_id for t in _runtime(app).snapshot(workflow).ready]
    assert ready == ["check_stock"] and _runtime(app).live.stats.misses == misses + 1


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


def test_a_state_stored_after_the_row_was_read_never_passes_for_the_rows(app, api: Api):
    """On PostgreSQL a request reads the instance row and, a statement later, its state: another
    transaction may store a newer state in between. Then the request loses the race: a newer state
    never passes for the row's, nor is kept under its token."""
    order = api.start_order()
    database = app.extensions["orderflow.db"]
    with database.session() as s:
        stored = runs.read_state(s, s.get_one(Instance, order["id"]))
    with database.session() as request:
        held = request.get_one(Instance, order["id"])
        with database.session() as other:
            runs.write_state(other, other.get_one(Instance, order["id"]), store.as_json(stored))
            other.commit()
        with pytest.raises(LostRace):   # (each SELECT reads the latest commit, on both databases)
            runs.read_state(request, held)
