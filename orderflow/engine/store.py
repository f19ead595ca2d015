"""Serialization with the spec stored by reference.

The stock serializer embeds the whole spec in every instance (tens of KB). Here the
instance's JSON holds only its task tree and data; the spec comes back from the
``SpecCache`` by the (key, sha256) kept on the instance row. The script engine is not
serialized either: ``load`` attaches a fresh one bound to the current request's services.

Stored compressed: ``z1:<length of the JSON>:`` and the JSON deflated (zlib, level 1), in base64 so
it stays text in the same column. A finished order's 41 KB of JSON (task ids, parents, children and
data deltas: SpiffWorkflow 3 already keeps each task's data as a delta, so there are no repeated
data dicts left to share) become 11 KB for ~0.3 ms a step, a quarter of what every step reads, writes
and logs. States stored as plain JSON (before) load as they are.
"""
from __future__ import annotations

import base64
import json
import zlib
from contextvars import ContextVar
from copy import deepcopy
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from orderflow.engine.specs import ProcessDef

_FRESH: ContextVar[bool] = ContextVar("fresh_dump", default=False)


class _KeptTaskConverter(TaskConverter):
    """A completed task under a completed parent serializes alike at every later step (its data, its
    delta against the parent's, its children, its state no longer change): its dict is made once
    and kept on the task, so a step's dump converts only the tasks still open, not the whole
    history. ``dump(workflow, fresh=True)`` makes every dict anew: the suite's cache check compares
    against it, so a kept dict that went stale would show."""

    def to_dict(self, task: Task) -> dict:
        key = _settled_key(task)
        if key is None or _FRESH.get():
            return super().to_dict(task)
        kept = getattr(task, "_orderflow_dict", None)
        if kept is not None and kept[0] == key:
            return kept[1]
        dct = super().to_dict(task)
        task._orderflow_dict = (key, dct)
        return dct


def _settled_key(task: Task) -> tuple | None:
    """What a settled task's kept dict is valid for (None: the task is not settled). A version
    migration re-points finished tasks at the new version's specs: part of the key."""
    parent = task.parent
    if task.state != TaskState.COMPLETED or (parent is not None and parent.state != TaskState.COMPLETED):
        return None
    return task.last_state_change, len(task._children), task.triggered, task.task_spec.name


def _tasks_to_dict(registry: Any, tasks: dict) -> dict:
    """``mapping_to_dict(workflow.tasks)``, a kept dict taken as it is: the registry's dispatch per
    task, which grows with the history, is paid only for the tasks still open."""
    convert, fresh, out = registry.convert, _FRESH.get(), {}
    for task in tasks.values():
        kept = None if fresh else getattr(task, "_orderflow_dict", None)
        dct = kept[1] if kept is not None and kept[0] == _settled_key(task) else convert(task)
        out[dct["id"]] = dct
    return out


class _SpecByReference(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = {  # WorkflowConverter.to_dict, with the tasks converted as _tasks_to_dict does
            "data": self.registry.convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": _tasks_to_dict(self.registry, workflow.tasks),
            "root": str(workflow.task_tree.id),
        }
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict, pdef: ProcessDef | None = None) -> BpmnWorkflow:
        assert pdef is not None, "load() passes the definition: the spec is not in the state"
        workflow = self.target_class(pdef.spec, pdef.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = deepcopy(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpecByReference
    config[Task] = _KeptTaskConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()
FORMAT = "orderflow-1"


COMPRESSED = "z1:"
#: a stored state never inflates past this (the order flow's is ~40 KB): a damaged or foreign value
#: cannot make a load allocate without bound
MAX_JSON_CHARS = 64 * 1024 * 1024


class StateUnreadable(ValueError):
    """A stored state that is neither this service's compressed form nor JSON."""


def dump(workflow: BpmnWorkflow, fresh: bool = False) -> str:
    """The stored form of ``workflow`` (``fresh``: no kept task dicts, every task converted anew)."""
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    token = _FRESH.set(fresh)
    try:
        dct = _SERIALIZER.to_dict(workflow)
    finally:
        _FRESH.reset(token)
        registry._encoder_mode = False
    dct["format"] = FORMAT
    text = json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":")).encode()
    return f"{COMPRESSED}{len(text)}:{base64.b64encode(zlib.compress(text, 1)).decode('ascii')}"


def json_length(state: str) -> int:
    """The length of the JSON ``state`` holds, without inflating it (what a loaded workflow's size follows)."""
    if state.startswith(COMPRESSED):
        length, _, _ = state[len(COMPRESSED):].partition(":")
        return int(length) if length.isdigit() else len(state)
    return len(state)


def as_json(state: str) -> str:
    """The JSON text of a stored state, compressed or not."""
    if not state.startswith(COMPRESSED):
        return state
    length, _, body = state[len(COMPRESSED):].partition(":")
    try:
        inflate = zlib.decompressobj()
        text = inflate.decompress(base64.b64decode(body, validate=True), MAX_JSON_CHARS)
        if inflate.unconsumed_tail or not inflate.eof or (length.isdigit() and int(length) != len(text)):
            raise StateUnreadable("the stored state is cut short, damaged or over its bound")
        return text.decode()
    except (ValueError, zlib.error) as exc:
        raise StateUnreadable(f"the stored state cannot be read: {exc}") from exc


def load(state: str, pdef: ProcessDef) -> BpmnWorkflow:
    dct = json.loads(as_json(state))
    dct.pop("format", None)
    dct["typename"] = "BpmnWorkflow"
    return _SERIALIZER.registry.restore(dct, pdef=pdef)
