"""One walk over the task tree answers what five of SpiffWorkflow's walks did (issue 16), in the same
order and with the same reach. The whole suite compares them at every snapshot (tests/conftest.py);
here the cases where a careless single walk would differ, on the bare engine."""
from __future__ import annotations

from pathlib import Path

from SpiffWorkflow.util.task import TaskState

from orderflow.engine import tree_walk
from tests.support.differential import Scenario, bare_workflow, load_files
from tests.support.walk_check import _real_walk, differences, reference

PROBES = Path(__file__).resolve().parent / "probes"


def _bare(name: str, *files: str, **start):
    workflow = bare_workflow(Scenario(name, load_files(PROBES, f"{name}.bpmn", *files), name, start_data=start))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(start)
    workflow.do_engine_steps()
    return workflow


def _complete(workflow, element: str, data: dict) -> None:
    task = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == element)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def test_a_running_multi_instance_is_not_finished_although_an_instance_is():
    workflow = _bare("mi_sequential", "probe_values.json")
    _complete(workflow, "count_each", {"amount": 2})
    found = _real_walk(workflow)
    assert differences(found, reference(workflow)) == []
    naive = [t for t in workflow.get_tasks(state=TaskState.DEFINITE_MASK | TaskState.COMPLETED)
             if t.state == TaskState.COMPLETED]
    under_running = [t for t in naive if t.parent is not None and t.parent.state == TaskState.STARTED]
    assert under_running, "the case needs a finished instance under the running multi-instance"
    assert not any(t in found.completed for t in under_running), "a plain walk of definite tasks would count it"
    assert [t.task_spec.bpmn_id for t in found.ready] == ["count_each"]


def test_a_call_activity_and_a_sub_process_are_walked_into_in_tree_order():
    for name, files in (("call_activity", ("probe_called.bpmn", "probe_values.json")), ("subprocess", ())):
        workflow = _bare(name, *files)
        assert workflow.subprocesses, name
        found = _real_walk(workflow)
        assert differences(found, reference(workflow)) == [], name
        assert found.ready or found.open, name


def test_the_suite_checks_every_snapshot():
    assert tree_walk.walk is not _real_walk
