"""Moving a running workflow onto another version of its process.

Built on SpiffWorkflow's ``SpecDiff``/``WorkflowDiff``/``migrate_workflow``, with what the library
leaves to its caller (see DESIGN.md for the serializer this has to satisfy):

- ``migrate_workflow`` re-points tasks whose element still exists and re-plans READY and WAITING
  branches; STARTED tasks (a service call in progress) keep their old predicted path, so they are
  re-planned here too.
- Finished tasks on elements the new version removed keep their old spec, which the spec-by-reference
  store cannot read back. Such history is only the engine's: people read it from the task rows
  and the audit trail, and the new diagram has no element to colour. They are re-pointed to the
  new spec's internal ``Start`` (no element id, so no-one sees it).
- Resetting a WAITING timer forgets when it started; an unchanged timer gets its due time back, a
  changed duration keeps its start and takes the new length.
- A moved workflow must read back with the new definition, or it is refused.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeAlias
from uuid import UUID

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit, _EndJoin
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow, BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from orderflow.core.i18n import Msg
from orderflow.engine import store
from orderflow.engine.clock import engine_clock
from orderflow.engine.model import ElementInfo
from orderflow.engine.scripting import SafeScriptEngine
from orderflow.engine.specs import ProcessDef
from orderflow.engine.version_diff import REGISTRY, diff_definitions, without_name

__all__ = ["Migration", "MigrationRefused", "current_steps", "diff_definitions", "migrate", "plan_migration"]

# a task still to be dealt with: it must stand on an element the new version has
LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
# per (sub-)workflow: its diff and the new spec; (finished sub-process, None, None) lets it go
Moves: TypeAlias = list[tuple[BpmnBaseWorkflow, WorkflowDiff | None, BpmnProcessSpec | None]]


def _label(spec: BpmnTaskSpec, elements: dict[str, ElementInfo]) -> str:
    """A step as people know it: the element's name (internal specs name their element first)."""
    element_id = spec.bpmn_id or spec.name.split(".")[0]
    info = elements.get(element_id)
    return info.name if info else (spec.bpmn_name or element_id)


def current_steps(pdef: ProcessDef, workflow: BpmnWorkflow) -> list[str]:
    """Where the workflow stands: its live steps (user tasks, service calls, events it waits for)."""
    steps = []
    for task in workflow.get_tasks(state=LIVE):
        spec = task.task_spec
        if spec.bpmn_id and not isinstance(spec, (BoundaryEvent, Join)) and _label(spec, pdef.elements) not in steps:
            steps.append(_label(spec, pdef.elements))
    return steps


class Migration:
    """Moves workflows of ``old`` onto ``new``; the spec comparison is made once for a whole batch."""

    def __init__(self, old: ProcessDef, new: ProcessDef, clock: Callable | None = None):
        self.old, self.new, self.clock = old, new, clock
        self.top = SpecDiff(REGISTRY, old.spec, new.spec)
        self._sub: dict[str, SpecDiff] = {}

    def _sub_diff(self, name: str) -> SpecDiff:
        if name not in self._sub:
            self._sub[name] = SpecDiff(REGISTRY, self.old.subprocess_specs[name], self.new.subprocess_specs[name])
        return self._sub[name]

    def plan(self, state: str | BpmnWorkflow) -> tuple[bool, list[Msg], BpmnWorkflow | None]:
        """Try the move on ``state`` (the stored text, or a workflow loaded from it with the service's
        script engine attached, which timers need; it is changed in place).

        Returns (True, notes on what changes for the order, the moved workflow) or
        (False, the reasons it cannot move, None).
        """
        try:
            if isinstance(state, str):  # never SpiffWorkflow's default engine: it evals with builtins
                workflow = store.load(state, self.old)
                workflow.script_engine = SafeScriptEngine({})
            else:
                workflow = state
        except Exception as exc:  # a state this version cannot read is reported, not raised
            return False, [Msg("The order's stored state could not be read: %(error)s", error=str(exc))], None
        diffs: Moves = [(workflow, WorkflowDiff(workflow, self.top), self.new.spec)]
        reasons = self._check(workflow, diffs[0][1], self.top)
        for sp_id, sp in list(workflow.subprocesses.items()):
            reasons += self._check_subprocess(workflow, sp_id, sp, diffs)
        if reasons:
            return False, _unique(reasons), None
        notes = self._notes(workflow, diffs)
        try:
            with engine_clock(self.clock or _now):
                notes += self._apply(workflow, diffs)
        except Exception as exc:  # the library's own limits surface as a refusal, never a half move
            error = f"{type(exc).__name__}: {exc}"
            return False, [Msg("The move failed inside the engine: %(error)s", error=error)], None
        leftovers = self._verify(workflow)
        if leftovers:
            return False, leftovers, None
        try:
            store.load(store.dump(workflow), self.new)
        except Exception as exc:
            return False, [Msg("The moved order could not be read back: %(error)s", error=str(exc))], None
        return True, _unique(notes), workflow

    def _check(self, wf: BpmnBaseWorkflow, wdiff: WorkflowDiff, sdiff: SpecDiff) -> list[Msg]:
        elements = self.old.elements
        reasons = []
        for task in wdiff.removed:
            if not task.has_state(LIVE) or isinstance(task.task_spec, BoundaryEventSplit):
                continue
            if isinstance(task.task_spec, BoundaryEvent):  # named after its split: '<step>.BoundaryEventSplit'
                reasons.append(Msg("The new version removes the time limit or event attached to '%(step)s' "
                                   "while the order waits there; finish that step first.",
                                   step=_label(task.parent.task_spec, elements)))
            else:
                reasons.append(Msg("It waits at '%(step)s', which the new version does not have.",
                                   step=_label(task.task_spec, elements)))
        for task in wf.get_tasks(state=LIVE, skip_subprocesses=True):
            new_spec = sdiff.alignment.get(task.task_spec)
            if new_spec is None or task.parent is None:
                continue
            parent_new = sdiff.alignment.get(task.parent.task_spec)
            split_inputs = [s for s in new_spec.inputs if isinstance(s, BoundaryEventSplit)]
            if isinstance(task.parent.task_spec, BoundaryEventSplit) and parent_new not in new_spec.inputs:
                reasons.append(Msg("The new version removes the time limit or event attached to '%(step)s' "
                                   "while the order waits there; finish that step first.",
                                   step=_label(task.task_spec, elements)))
            elif split_inputs and parent_new not in split_inputs:
                reasons.append(Msg("The new version attaches a time limit or event to '%(step)s' while the order "
                                   "waits there; finish that step first.", step=_label(task.task_spec, elements)))
            elif isinstance(task.task_spec, Join) and not isinstance(task.task_spec, (_EndJoin, BoundaryEventJoin)) \
                    and {s.name for s in new_spec.inputs} - _aligned_names(task.task_spec.inputs, sdiff):
                # a merge would wait for a branch this order never started
                reasons.append(Msg("'%(step)s' waits for more branches in the new version than this order has "
                                   "started.", step=_label(task.task_spec, elements)))
        return reasons + self._check_splits(wf, sdiff)

    def _check_splits(self, wf: BpmnBaseWorkflow, sdiff: SpecDiff) -> list[Msg]:
        """A parallel split this order already passed that fans out to more branches in the new
        version: its merge would wait forever for a branch that never started."""
        reasons = []
        live = wf.get_tasks(state=LIVE, skip_subprocesses=True)
        for task in wf.get_tasks(state=TaskState.COMPLETED, skip_subprocesses=True):
            new_spec = sdiff.alignment.get(task.task_spec)
            if not isinstance(task.task_spec, ParallelGateway) or new_spec is None:
                continue
            taken = {sdiff.alignment[c.task_spec].name for c in task.children if sdiff.alignment.get(c.task_spec)}
            if {s.name for s in new_spec.outputs} - taken and any(_inside(t, task) for t in live):
                reasons.append(Msg("'%(step)s' starts more parallel branches in the new version than this order "
                                   "started; move it after those branches have joined.",
                                   step=_label(task.task_spec, self.old.elements)))
        return reasons

    def _check_subprocess(self, workflow: BpmnWorkflow, sp_id: UUID, sp: BpmnSubWorkflow, diffs: Moves) -> list[Msg]:
        parent = workflow.get_task_from_id(sp_id)
        step = _label(parent.task_spec, self.old.elements) if parent is not None else sp.spec.name
        known = sp.spec.name in self.new.subprocess_specs
        same_call = known and getattr(self._aligned_spec(parent), "spec", None) == sp.spec.name
        if sp.is_completed() and not same_call:
            diffs.append((sp, None, None))  # finished, its data is with its parent: let it go
            return []
        if not known:
            return [Msg("It is inside '%(step)s', whose process '%(name)s' the new version does not have.",
                        step=step, name=sp.spec.name)]
        if not same_call:
            return [Msg("'%(step)s' calls a different process in the new version while the order is inside it.",
                        step=step)]
        sdiff = self._sub_diff(sp.spec.name)
        wdiff = WorkflowDiff(sp, sdiff)
        diffs.append((sp, wdiff, self.new.subprocess_specs[sp.spec.name]))
        return self._check(sp, wdiff, sdiff)

    def _aligned_spec(self, task: Task | None) -> BpmnTaskSpec | None:
        if task is None:
            return None
        if task.workflow is task.workflow.top_workflow:
            return self.top.alignment.get(task.task_spec)
        name = task.workflow.spec.name
        return self._sub_diff(name).alignment.get(task.task_spec) if name in self.new.subprocess_specs else None

    def _notes(self, workflow: BpmnWorkflow, diffs: Moves) -> list[Msg]:
        notes = []
        for _wf, wdiff, _spec in diffs:
            for task, new_spec in (wdiff.alignment.items() if wdiff else ()):
                if task.has_state(LIVE) and new_spec is not None and task.task_spec.bpmn_id \
                        and new_spec.bpmn_id and new_spec.bpmn_id != task.task_spec.bpmn_id:
                    notes.append(Msg("The open step '%(old)s' continues as '%(new)s'.",
                                     old=_label(task.task_spec, self.old.elements),
                                     new=_label(new_spec, self.new.elements)))
        return notes

    def _apply(self, workflow: BpmnWorkflow, diffs: Moves) -> list[Msg]:
        waiting = {t.id: (copy.deepcopy(t.internal_data), t.task_spec)
                   for t in workflow.get_tasks(state=TaskState.WAITING) if hasattr(t.task_spec, "event_definition")}
        for wf, wdiff, spec in diffs:
            if wdiff is None:
                del workflow.subprocesses[wf.parent_task_id]
                continue
            started = list(wf.get_tasks(state=TaskState.STARTED, skip_subprocesses=True))
            migrate_workflow(wdiff, wf, spec)
            for task in started:  # re-plan what follows a step still in progress
                task._drop_children()
                task.task_spec._predict_hook(task)
                for child in task.children:
                    child.task_spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
            if wf is workflow:
                workflow.subprocess_specs = self.new.subprocess_specs
        return self._restore_timers(workflow, waiting)

    def _restore_timers(self, workflow: BpmnWorkflow,
                        waiting: dict[UUID, tuple[dict[str, Any], BpmnTaskSpec]]) -> list[Msg]:
        notes = []
        for task_id, (data, old_spec) in waiting.items():
            task = workflow.tasks.get(task_id) or _find(workflow, task_id)
            if task is None or task.state != TaskState.WAITING:
                continue
            before, after = old_spec.event_definition, task.task_spec.event_definition
            if _same_event(before, after):
                task.internal_data = data
            elif not _shift_timer(task, data, before, after):
                notes.append(Msg("The timer at '%(step)s' changed and starts again from now.",
                                 step=_label(task.task_spec, self.new.elements)))
        return notes

    def _verify(self, workflow: BpmnWorkflow) -> list[Msg]:
        """Every task must stand on a spec of the new version: finished history is re-pointed,
        anything still to run that was not re-planned refuses the move."""
        problems = []
        for wf in [workflow, *workflow.subprocesses.values()]:
            placeholder = wf.spec.task_specs["Start"]
            for task in wf.tasks.values():
                if wf.spec.task_specs.get(task.task_spec.name) is task.task_spec:
                    continue
                if task.has_state(TaskState.FINISHED_MASK):
                    task.task_spec = placeholder
                else:
                    problems.append(Msg("'%(step)s' could not be re-planned on the new version.",
                                        step=_label(task.task_spec, self.old.elements)))
        return _unique(problems)


def _inside(task: Task, split: Task) -> bool:
    """Is ``task`` on a branch of ``split`` that has not been merged by a parallel join yet?"""
    node = task.parent
    while node is not None and node is not split:
        if isinstance(node.task_spec, ParallelGateway) and len(node.task_spec.inputs) > 1:
            return False
        node = node.parent
    return node is split


def _aligned_names(specs: Iterable[BpmnTaskSpec], sdiff: SpecDiff) -> set[str]:
    return {sdiff.alignment[s].name for s in specs if sdiff.alignment.get(s) is not None}


def _find(workflow: BpmnWorkflow, task_id: UUID) -> Task | None:
    for sp in workflow.subprocesses.values():
        if task_id in sp.tasks:
            return sp.tasks[task_id]
    return None


def _same_event(before: EventDefinition, after: EventDefinition) -> bool:
    return type(before) is type(after) and \
        without_name(REGISTRY.convert(before)) == without_name(REGISTRY.convert(after))


def _shift_timer(task: Task, data: dict, before: EventDefinition, after: EventDefinition) -> bool:
    """A duration timer whose length changed: same start, new length. False when it cannot be known."""
    if not (isinstance(before, DurationTimerEventDefinition) and isinstance(after, DurationTimerEventDefinition)) \
            or not data.get("event_value") or data.get("event_fired"):
        return False
    try:
        engine = task.workflow.script_engine
        due = TimerEventDefinition.get_datetime(data["event_value"])
        old_length = TimerEventDefinition.parse_iso_duration(engine.evaluate(task, before.expression))
        new_length = TimerEventDefinition.parse_iso_duration(engine.evaluate(task, after.expression))
        start = due - TimerEventDefinition.get_timedelta_from_end(old_length, due)
        moved = start + TimerEventDefinition.get_timedelta_from_start(new_length, start)
    except Exception:
        return False
    task.internal_data = {**data, "event_value": moved.isoformat()}
    return True


def _unique(messages: list[Msg]) -> list[Msg]:
    seen, result = set(), []
    for message in messages:
        if str(message) not in seen:
            seen.add(str(message))
            result.append(message)
    return result


def _now() -> datetime:
    return datetime.now(UTC)


def plan_migration(old: ProcessDef, new: ProcessDef, state: str | BpmnWorkflow,
                   clock: Callable | None = None) -> tuple[bool, list[Msg], BpmnWorkflow | None]:
    """One workflow: can it move from ``old`` to ``new``? See ``Migration.plan``."""
    return Migration(old, new, clock).plan(state)


class MigrationRefused(ValueError):
    def __init__(self, reasons: list[Msg]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def migrate(old: ProcessDef, new: ProcessDef, state: str | BpmnWorkflow, clock: Callable | None = None) -> str:
    """The workflow's state moved onto ``new``; raises ``MigrationRefused`` with the reasons."""
    ok, reasons, workflow = plan_migration(old, new, state, clock)
    if not ok:
        raise MigrationRefused(reasons)
    return store.dump(workflow)
