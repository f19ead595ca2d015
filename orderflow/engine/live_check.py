"""The check behind the live-workflow cache, run on every hit when ``verify_cache`` is on (the test
suite turns it on, so every test that runs two steps in one process checks the cache).

A kept workflow may stand in for its stored state only if nothing could tell them apart: it dumps to
exactly that state, and its data holds nothing JSON would not give back alike — no tuple (it comes
back a list) and no list or record reachable twice in one task's data (after a reload they are two
independent copies, in memory one: a change to one would show in the other)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from orderflow.engine import store
from orderflow.engine.specs import ProcessDef


class LiveWorkflowDiffers(AssertionError):
    """A kept workflow is not what its stored state would load as: a bug in the service, never input."""


def require_same(workflow: BpmnWorkflow, state: str, pdef: ProcessDef) -> None:
    dumped = store.dump(workflow, fresh=True)   # not the kept task dicts: they are part of what is checked
    # the state as stored by the service is its own dump; one written otherwise (by hand, by an
    # older release) is compared as the service would load and store it
    if dumped != state and dumped != store.dump(store.load(state, pdef)):
        raise LiveWorkflowDiffers("a kept workflow changed after it was stored")
    for owner, data in _data_of(workflow):
        where = _unlike_json(data)
        if where is not None:
            raise LiveWorkflowDiffers(f"{owner}: {where} would not load back alike")


def _data_of(workflow: BpmnWorkflow) -> Iterator[tuple[str, Any]]:
    yield "the workflow's data", workflow.data
    for sub in [workflow, *workflow.subprocesses.values()]:
        for task in sub.tasks.values():
            yield f"the data of task {task.task_spec.name}", task.data


def _unlike_json(data: Any) -> str | None:
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, tuple):
            return f"the tuple at '{path}'"
        if not isinstance(item, (dict, list)):
            continue
        if id(item) in seen:
            return f"the shared container at '{path}'"
        seen.add(id(item))
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        stack.extend((value, f"{path}.{key}" if path else str(key)) for key, value in pairs)
    return None
