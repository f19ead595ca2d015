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

A step stores a delta, not the whole state (``store_step``): the tasks whose dicts changed since the
state the database holds, the ids of tasks gone, and the workflow's own fields, against the last full
state (the base). A full state is written again once the deltas since the base add up to its size or
number ``MAX_DELTAS``, so a load reads at most about twice the state and applies a bounded number of
deltas. The database hands base and deltas back together (``compose``: one text, ``zd:`` and a JSON
list of the stored texts), which ``load``, ``as_json`` and ``json_length`` read like any state.
"""
from __future__ import annotations

import base64
import json
import zlib
from contextvars import ContextVar
from copy import deepcopy
from dataclasses import dataclass
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


def _is_kept(task: Task, dct: dict) -> bool:
    """Whether ``dct`` is the task's kept dict: a settled task's, which no later change touches."""
    kept = getattr(task, "_orderflow_dict", None)
    return kept is not None and kept[1] is dct


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
DELTAS = "zd:"
DELTA_FORMAT = "orderflow-delta-1"
#: a full state is stored again after this many deltas (or once they add up to its size)
MAX_DELTAS = 64
#: a stored state never inflates past this (the order flow's is ~40 KB): a damaged or foreign value
#: cannot make a load allocate without bound
MAX_JSON_CHARS = 64 * 1024 * 1024


class StateUnreadable(ValueError):
    """A stored state that is neither this service's compressed form nor JSON."""


def _to_dict(workflow: BpmnWorkflow, fresh: bool) -> dict:
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    token = _FRESH.set(fresh)
    try:
        return _SERIALIZER.to_dict(workflow)
    finally:
        _FRESH.reset(token)
        registry._encoder_mode = False


def _json(value: Any) -> str:
    return json.dumps(value, cls=_SERIALIZER._encoder_cls, separators=(",", ":"))


def _compress(text: str) -> str:
    raw = text.encode()
    return f"{COMPRESSED}{len(raw)}:{base64.b64encode(zlib.compress(raw, 1)).decode('ascii')}"


def dump(workflow: BpmnWorkflow, fresh: bool = False) -> str:
    """The stored form of ``workflow`` (``fresh``: no kept task dicts, every task converted anew)."""
    dct = _to_dict(workflow, fresh)
    dct["format"] = FORMAT
    return _compress(_json(dct))


@dataclass
class _Basis:
    """What the database holds of a workflow, kept on the workflow: each task as stored, compared by
    its JSON text (JSON tells 1 from True where == does not): a settled task's kept dict itself (the
    same object again means unchanged), a dict as loaded (nothing changes it), an open task's dict
    as its text (its data may still change in place); the base's size; the deltas stored after it."""
    tasks: dict[str, Any]
    base_chars: int
    seq: int = 0           # the last delta's number; 0: the base alone
    delta_chars: int = 0


@dataclass(frozen=True)
class Stored:
    text: str
    seq: int               # 0: a full state, in place of the base and its deltas; n: the base's n-th delta
    drop_deltas: bool      # a full state where deltas may be stored: they go
    chars: int             # the JSON the state amounts to, about (what a loaded workflow's size follows)


def store_step(workflow: BpmnWorkflow, whole: bool = False) -> Stored:
    """What to write for ``workflow`` after a step: a delta against what the database holds (known
    from a load through ``load_stored`` or from the last ``store_step``), else (or ``whole``: a
    finished instance's last state, kept compact) a full state."""
    basis: _Basis | None = getattr(workflow, "_orderflow_basis", None)
    dct = _to_dict(workflow, False)
    tasks = dct["tasks"]
    pairs = list(zip(workflow.tasks.values(), tasks.items(), strict=True))  # _tasks_to_dict keeps the order
    texts: dict[str, str] = {}   # open tasks' JSON, made once

    def text_of(task_id: str) -> str:
        if task_id not in texts:
            texts[task_id] = _json(tasks[task_id])
        return texts[task_id]

    def as_stored() -> dict[str, Any]:
        return {task_id: now if _is_kept(task, now) else text_of(task_id) for task, (task_id, now) in pairs}

    if basis is not None and basis.seq < MAX_DELTAS and not whole:
        was_of = basis.tasks.get
        changed = [f"{json.dumps(task_id)}:{text_of(task_id)}" for _, (task_id, now) in pairs
                   if (was := was_of(task_id)) is not now
                   and (was is None or (was if isinstance(was, str) else _json(was)) != text_of(task_id))]
        removed = [task_id for task_id in basis.tasks if task_id not in tasks]
        text = (f'{{"format":"{DELTA_FORMAT}","tasks":{{{",".join(changed)}}},"removed":{json.dumps(removed)},'
                f'"top":{_json({key: value for key, value in dct.items() if key != "tasks"})}}}')
        if basis.delta_chars + len(text) <= basis.base_chars:
            workflow._orderflow_basis = _Basis(as_stored(), basis.base_chars, basis.seq + 1,
                                               basis.delta_chars + len(text))
            return Stored(_compress(text), basis.seq + 1, False, basis.base_chars + basis.delta_chars + len(text))
    dct["format"] = FORMAT
    text = _json(dct)
    workflow._orderflow_basis = _Basis(as_stored(), len(text))
    return Stored(_compress(text), 0, basis is None or basis.seq > 0, len(text))


def compose(base: str, deltas: list[str]) -> str:
    """The state a base and the deltas stored after it (in order) make, as one text."""
    return base if not deltas else DELTAS + json.dumps([base, *deltas])


def _parts(state: str) -> list[str]:
    try:
        parts = json.loads(state[len(DELTAS):])
    except ValueError as exc:
        raise StateUnreadable(f"the stored state cannot be read: {exc}") from exc
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        raise StateUnreadable("the stored state is not a base and its deltas")
    if len(parts) > MAX_DELTAS + 1:   # never written so: a damaged or foreign value is not worked through
        raise StateUnreadable(f"the stored state has {len(parts) - 1} deltas, more than {MAX_DELTAS}")
    return parts


def _applied(state: str) -> tuple[dict, int, int]:
    """The state's JSON as a dict, its deltas applied; the base's length and the deltas'."""
    parts = _parts(state) if state.startswith(DELTAS) else [state]
    base_text = as_json(parts[0])
    dct = json.loads(base_text)
    if len(parts) > 1 and not (isinstance(dct, dict) and isinstance(dct.get("tasks"), dict)):
        raise StateUnreadable("the stored base has no tasks to apply deltas to")
    delta_chars = 0
    for part in parts[1:]:
        text = as_json(part)
        delta_chars += len(text)
        delta = json.loads(text)
        if not (isinstance(delta, dict) and delta.get("format") == DELTA_FORMAT and isinstance(delta.get("tasks"), dict)
                and isinstance(delta.get("removed"), list) and isinstance(delta.get("top"), dict)):
            raise StateUnreadable("a stored delta is not one this service wrote")
        dct["tasks"].update(delta["tasks"])
        for task_id in delta["removed"]:
            dct["tasks"].pop(task_id, None)
        dct.update(delta["top"])
    return dct, len(base_text), delta_chars


def json_length(state: str) -> int:
    """The length of the JSON ``state`` holds, without inflating it (what a loaded workflow's size follows)."""
    if state.startswith(DELTAS):
        return sum(json_length(part) for part in _parts(state))
    if state.startswith(COMPRESSED):
        length, _, _ = state[len(COMPRESSED):].partition(":")
        return int(length) if length.isdigit() else len(state)
    return len(state)


def as_json(state: str) -> str:
    """The JSON text of a stored state, compressed or not (a base and its deltas: as applied)."""
    if state.startswith(DELTAS):
        return json.dumps(_applied(state)[0], separators=(",", ":"))
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
    """The workflow a state holds (stored or made, e.g. by a migration)."""
    return _restore(_applied(state)[0], pdef)


def load_stored(state: str, pdef: ProcessDef) -> BpmnWorkflow:
    """The workflow the database holds as ``state``: its next ``store_step`` may write a delta."""
    dct, base_chars, delta_chars = _applied(state)
    tasks = dict(dct["tasks"])   # as read; restoring copies what it changes
    workflow = _restore(dct, pdef)
    seq = len(_parts(state)) - 1 if state.startswith(DELTAS) else 0
    workflow._orderflow_basis = _Basis(tasks, base_chars, seq, delta_chars)
    return workflow


def _restore(dct: dict, pdef: ProcessDef) -> BpmnWorkflow:
    dct.pop("format", None)
    dct["typename"] = "BpmnWorkflow"
    return _SERIALIZER.registry.restore(dct, pdef=pdef)
