"""The suite checks every snapshot's one-walk answers (``orderflow/engine/tree_walk.py``) against
SpiffWorkflow's own filtered walks, so each diagram any test runs is a differential case."""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskIterator, TaskState

from orderflow.engine import tree_walk

_real_walk = tree_walk.walk


def reference(workflow) -> tree_walk.Walk:
    return tree_walk.Walk(ready=workflow.get_tasks(state=TaskState.READY),
                          open=workflow.get_tasks(state=TaskState.READY | TaskState.WAITING),
                          started=workflow.get_tasks(state=TaskState.STARTED),
                          completed=workflow.get_tasks(state=TaskState.COMPLETED),
                          # Workflow.is_completed()'s own walk, without its remembering
                          finished=next(TaskIterator(workflow.task_tree, state=TaskState.NOT_FINISHED_MASK),
                                        None) is None)


def differences(found: tree_walk.Walk, expected: tree_walk.Walk) -> list[str]:
    return [name for name in ("ready", "open", "started", "completed")
            if [t.id for t in getattr(found, name)] != [t.id for t in getattr(expected, name)]] + (
        ["finished"] if found.finished != expected.finished else [])


def checked_walk(workflow) -> tree_walk.Walk:
    found = _real_walk(workflow)
    wrong = differences(found, reference(workflow))
    assert not wrong, f"tree_walk disagrees with SpiffWorkflow's walks on {wrong}"
    return found
