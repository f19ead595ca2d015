"""A step stores what it changed in the engine state, not the whole state (issue 16, part 2): a delta
against the last full state (the base), with a full state again once the deltas add up to its size
or number ``store.MAX_DELTAS``. What loads from base and deltas is exactly the workflow that was
stored (``orderflow/engine/store.py``)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from orderflow.core.models import HumanTask, Instance, InstanceStateDelta, User
from orderflow.engine import store
from orderflow.workflow import instances, processes, runs, tasks
from tests.support.helpers import Api
from tests.support.looping import looping, one_round
from tests.support.orders import drive

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _parts(state: str) -> list[str]:
    return json.loads(state[len(store.DELTAS):]) if state.startswith(store.DELTAS) else [state]


def _read(app, instance_id: int) -> str:
    with app.extensions["orderflow.db"].session() as s:
        return runs.read_state(s, s.get_one(Instance, instance_id))


# --- the format, on the engine alone ----------------------------------------------------------------

class _Pdef:
    """What store.load needs of a compiled definition: the spec and its sub-process specs."""

    def __init__(self, workflow: BpmnWorkflow):
        self.spec, self.subprocess_specs = workflow.spec, workflow.subprocess_specs


def _looping(rounds: int = 30):
    """A rework loop some rounds in: its history outweighs a step's changes, as a real order's does
    (a young order's whole state is about one delta: stored whole again, which costs as little)."""
    return looping(rounds)


def test_a_delta_holds_the_changed_tasks_and_base_and_deltas_load_as_the_workflow_stored():
    workflow = _looping()
    first = store.store_step(workflow)
    assert first.seq == 0 and first.drop_deltas, "nothing known of the database: a full state"
    stored = [first.text]
    for _ in range(5):
        one_round(workflow)
        step = store.store_step(workflow)
        assert step.seq == len(stored) and not step.drop_deltas
        delta = json.loads(store.as_json(step.text))
        assert 0 < len(delta["tasks"]) < len(workflow.tasks) / 2, "only what the step changed"
        stored.append(step.text)
    state = store.compose(stored[0], stored[1:])
    assert store.as_json(state) == store.as_json(store.dump(workflow))
    loaded = store.load_stored(state, _Pdef(workflow))
    assert store.dump(loaded) == store.dump(workflow, fresh=True)
    one_round(loaded)
    one_round(workflow)
    after_load = store.store_step(loaded)
    assert after_load.seq == 6, "a workflow loaded from base and deltas goes on with deltas"
    assert store.as_json(store.compose(stored[0], [*stored[1:], after_load.text])) == \
        store.as_json(store.dump(loaded))


def test_a_change_in_place_that_equality_would_miss_is_stored():
    """An open task's dict is compared by its JSON as stored, not with ==: 1 == True, and a list
    changed in place is the same object in a dict kept from before."""
    workflow = _looping()
    ready = workflow.get_next_task(state=TaskState.READY, manual=True)
    ready.data.update(flag=1, items=[1])
    stored = [store.store_step(workflow).text]
    ready.data["flag"] = True
    ready.data["items"].append(2)
    stored.append(store.store_step(workflow).text)
    loaded = store.load(store.compose(stored[0], stored[1:]), _Pdef(workflow))
    again = loaded.get_next_task(state=TaskState.READY, manual=True)
    assert again.data["flag"] is True and again.data["items"] == [1, 2]


def test_a_full_state_comes_again_before_the_deltas_outweigh_it():
    workflow = _looping()
    base = store.store_step(workflow)
    seqs, since_base = [], 0
    for _ in range(3 * store.MAX_DELTAS):
        one_round(workflow)
        step = store.store_step(workflow)
        seqs.append(step.seq)
        if step.seq == 0:
            assert step.drop_deltas, "the deltas of the old base go with it"
            base, since_base = step, 0
        else:
            since_base += store.json_length(step.text)
            assert since_base <= store.json_length(base.text)
    assert 0 in seqs and max(seqs) <= store.MAX_DELTAS


_DELTA = json.dumps({"format": store.DELTA_FORMAT, "tasks": {}, "removed": [], "top": {}})


@pytest.mark.parametrize("state", [
    store.DELTAS + "not json", store.DELTAS + "[]", store.DELTAS + '["z1:3:AAAA", 5]',
    store.DELTAS + json.dumps([store.dump(_looping(0)), "{}"]),                     # not a delta
    store.DELTAS + json.dumps([store.dump(_looping(0)), _DELTA.replace("[]", "7")]),  # a delta's parts wrong
    store.DELTAS + json.dumps(["[1, 2]", _DELTA]),                                   # a base without tasks
    store.DELTAS + json.dumps([store.dump(_looping(0))] + [_DELTA] * (store.MAX_DELTAS + 1))])  # too many
def test_a_damaged_base_or_delta_is_refused_by_name(state):
    with pytest.raises(store.StateUnreadable):
        store.as_json(state)


# --- in the service -------------------------------------------------------------------------------

def test_each_step_adds_a_delta_or_writes_the_whole_state_anew(app, api: Api):
    order = api.start_order()
    runtime = app.extensions["orderflow.platform"].runtime
    before, deltas = _parts(_read(app, order["id"])), 0
    for step in range(8):
        if step == 4:
            runtime.live.clear()   # the next step reads base and deltas, as another worker would
        task = api.open_tasks(order["id"])[0]
        assert api.complete(f"{task['group']}1", task["id"]).status_code == 200, task["element_id"]
        after = _parts(_read(app, order["id"]))
        if len(after) == 1:   # a whole state, in place of the base and its deltas
            assert after != before[:1]
        else:
            assert after[:-1] == before, "the base and the deltas so far untouched: one delta more"
            assert store.json_length(after[-1]) < store.json_length(after[0])
            deltas += 1
        before = after
    assert deltas


def test_a_long_loop_keeps_its_deltas_bounded_and_loads_the_same_without_the_cache(app):
    database = app.extensions["orderflow.db"]
    runtime = app.extensions["orderflow.platform"].runtime
    with database.session() as s:
        processes.deploy(s, None, {name: (BENCH / name).read_bytes()
                                   for name in ("looping.bpmn", "bench_small_step.json")}, check_permission=False)
        s.commit()
    rounds = 2 * store.MAX_DELTAS + 5
    with database.session() as s:
        actor = s.scalar(select(User).where(User.username == "sales1"))
        instance_id = instances.start(s, actor, "bench_looping", {"limit": rounds}).id
        s.commit()
        most = 0
        for n in range(rounds):
            if n % 7 == 3:
                runtime.live.clear()   # now and then a load from base and deltas, as another worker's
            task_id = s.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                          HumanTask.status == "ready"))
            tasks.complete(s, actor, task_id, {"note": f"round {n}"})
            s.commit()
            most = max(most, s.scalar(select(func.count()).select_from(InstanceStateDelta)
                                      .where(InstanceStateDelta.instance_id == instance_id)))
        instance = s.get_one(Instance, instance_id)
        assert instance.status == "completed"
        assert 0 < most <= store.MAX_DELTAS
        data = json.loads(store.as_json(runs.read_state(s, instance)))["data"]
    assert data.get("rounds") == rounds or data == {}   # the loop counted every round (where data is kept)


def test_a_finished_order_keeps_its_state_whole_and_compact(app, api: Api):
    order = api.start_order()
    assert drive(api, order["id"])
    state = _read(app, order["id"])
    assert not state.startswith(store.DELTAS), "no deltas left behind a finished order"
    with app.extensions["orderflow.db"].session() as s:
        assert not s.scalar(select(func.count()).select_from(InstanceStateDelta)
                            .where(InstanceStateDelta.instance_id == order["id"]))
