"""How the engine state is stored: compressed JSON (``orderflow/engine/store.py``), a quarter of the
plain JSON; states stored as plain JSON before still load, and the next step stores them compressed."""
from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from orderflow.core.models import Instance
from orderflow.engine import store
from orderflow.workflow import runs
from tests.support.helpers import Api
from tests.support.looping import looping, one_round

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _state(app, instance_id: int) -> str:
    with app.extensions["orderflow.db"].session() as s:
        return runs.read_state(s, s.get_one(Instance, instance_id))


def test_a_stored_state_is_compressed_json_of_the_service_format(api: Api, app):
    order = api.start_order()
    api.drive_to(order["id"], "confirm_sample")
    state = _state(app, order["id"])
    parts = json.loads(state[len(store.DELTAS):]) if state.startswith(store.DELTAS) else [state]
    assert all(part.startswith(store.COMPRESSED) for part in parts)   # the base and each step's delta
    base = store.as_json(parts[0])
    assert json.loads(base)["format"] == store.FORMAT
    assert store.json_length(parts[0]) == len(base.encode())
    assert len(parts[0]) * 3 < len(base)
    assert json.loads(store.as_json(state))["format"] == store.FORMAT


def test_a_state_stored_as_plain_json_loads_and_is_stored_compressed_after_the_next_step(api: Api, app):
    order = api.start_order()
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        instance = s.get(Instance, order["id"])
        runs.write_state(s, instance, store.as_json(runs.read_state(s, instance)))   # as before compression
        s.commit()
    task = api.task(order["id"], "check_stock")
    assert api.complete("warehouse1", task["id"], "sufficient").status_code == 200
    state = _state(app, order["id"])
    assert state.startswith((store.COMPRESSED, store.DELTAS)) and not state.startswith('{"')
    assert json.loads(store.as_json(state))["tasks"]


def _compressed(text: bytes, length: int | None = None) -> str:
    return f"{store.COMPRESSED}{len(text) if length is None else length}:{base64.b64encode(zlib.compress(text)).decode()}"


@pytest.mark.parametrize("damage", ["cut short", "not base64", "wrong length", "over the bound"])
def test_a_damaged_state_is_refused_by_name_without_inflating_past_the_bound(monkeypatch, damage):
    monkeypatch.setattr(store, "MAX_JSON_CHARS", 1000)
    good = json.dumps({"tasks": {}, "pad": "x" * 500}).encode()
    state = {
        "cut short": _compressed(good)[:-12],
        "not base64": f"{store.COMPRESSED}{len(good)}:***",
        "wrong length": _compressed(good, len(good) + 1),
        "over the bound": _compressed(b"[" + b"0," * 100_000 + b"0]"),
    }[damage]
    with pytest.raises(store.StateUnreadable):
        store.as_json(state)
    assert store.as_json(_compressed(good)) == good.decode()


def _looping(rounds: int):
    workflow = looping()
    return workflow, lambda: [one_round(workflow) for _ in range(rounds)]


def test_a_dump_converts_only_the_tasks_still_open_and_equals_a_fresh_one(monkeypatch):
    """store.py keeps the dict of a completed task under a completed parent: the next dump converts
    the open tasks alone, and what it writes is exactly what converting every task gives."""
    workflow, more = _looping(5)
    more()
    assert store.dump(workflow) == store.dump(workflow, fresh=True)
    converted = []
    real = TaskConverter.to_dict
    monkeypatch.setattr(TaskConverter, "to_dict", lambda self, task: converted.append(task) or real(self, task))
    more()
    state = store.dump(workflow)
    finished_before = [t for t in workflow.get_tasks() if t.state == TaskState.COMPLETED
                       and t.parent is not None and t.parent.state == TaskState.COMPLETED]
    assert len(converted) < len(workflow.tasks) - len(finished_before) // 2, "the history was converted again"
    monkeypatch.undo()
    assert state == store.dump(workflow, fresh=True)


def test_a_finished_task_pointed_at_another_spec_is_converted_anew():
    """A version migration re-points finished history at the new version's specs (or a placeholder):
    the kept dict, made under the old spec, must not be written."""
    workflow, more = _looping(3)
    more()
    store.dump(workflow)
    finished = next(t for t in workflow.get_tasks() if t.state == TaskState.COMPLETED
                    and t.task_spec.name == "work" and t.parent is not None and t.parent.state == TaskState.COMPLETED)
    finished.task_spec = workflow.spec.task_specs["Start"]
    assert store.dump(workflow) == store.dump(workflow, fresh=True)
    assert '"task_spec":"Start"' in store.as_json(store.dump(workflow))


def test_the_workflow_dict_is_spiffworkflows_own_with_the_tasks_taken_as_kept():
    """store.py writes the workflow's own fields as SpiffWorkflow's WorkflowConverter does (it only
    skips the per-task dispatch for kept dicts): a SpiffWorkflow upgrade that adds or changes a
    field shows here."""
    workflow, more = _looping(3)
    more()
    store.dump(workflow)  # some dicts kept
    more()
    registry = store._SERIALIZER.registry
    converter = registry.convert_to_dict[registry.typenames[BpmnWorkflow]].args[1].__self__
    stock = WorkflowConverter.to_dict(converter, workflow)
    ours = converter.to_dict(workflow)
    assert {key: ours[key] for key in stock} == stock
    assert set(ours) - set(stock) == {"subprocesses", "bpmn_events"}
