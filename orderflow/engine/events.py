"""Events SpiffWorkflow 3.2 gets wrong or leaves to its host; each fix is tested against stock
behaviour in tests/test_engine_events.py.

- Error and escalation start events of event sub-processes: the 3.2 start-event parser reads only
  message, signal, timer and conditional definitions, so these become *none* start events and their
  sub-process runs as soon as the instance starts. ``StartEventParser`` reads them too.
- Signal end events: the 3.2 end-event parser reads no signal definition, so a signal end event
  ends quietly and throws nothing. ``EndEventParser`` reads it.
- Interrupting event sub-processes: 3.2 ignores ``isInterrupting`` and runs every event sub-process
  beside the process. An interrupting start event's completion cancels the rest of the process.
  Every event sub-process starts with the order's data as it is then (3.2: as it was at the start).
- Triggered event sub-processes: 3.2's ``trigger_wf`` connects the sub-process to the process's
  start *in the shared spec*, so after one instance ran it, every later instance of the (cached)
  spec waits for it forever and never completes. Our ``trigger_wf`` adds the task without
  changing the spec; ``adopt`` makes the one spec change (sub-process -> end) once, at parse time.
- A process whose flow has ended still waited for the timers of its event sub-processes (3.2
  starts them with the process) and never completed; ``close_event_subprocesses`` cancels the
  ones that have not started once the process's own flow is done.
- Conditional events: 3.2 evaluates a condition once, when its event starts waiting, over that
  task's own (stale) data. Our ``has_fired`` evaluates over the order's data (and the branch goes on
  with it), a name not in the data yet counts as false, and ``fire_conditions`` re-checks waiting
  conditions after every run.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from types import MethodType
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser, SpiffStartEventParser
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from orderflow.engine.expressions import ExpressionError

MAX_CONDITION_ROUNDS = 50  # conditions that keep making each other true are a loop, bounded here


def order_data(workflow: BpmnWorkflow, open_tasks: list[Task] | None = None) -> dict[str, Any]:
    """The order's data as people think of it: the latest task's data plus every open branch
    (``open_tasks``: the READY and WAITING tasks in tree order, when the caller walked the tree already)."""
    data: dict[str, Any] = {}
    if workflow.last_task is not None:
        data.update(workflow.last_task.data)
    if open_tasks is None:
        open_tasks = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
    for task in open_tasks:
        for key, value in task.data.items():
            data.setdefault(key, value)
    root = workflow.task_tree
    for child in root.children if root is not None else []:
        if child.id in workflow.subprocesses and child.state == TaskState.COMPLETED:
            for key, value in child.data.items():  # what a finished event sub-process set
                data.setdefault(key, value)
    return data


class StartEventParser(SpiffStartEventParser):
    def create_task(self) -> BpmnTaskSpec:
        definition = self.get_event_definition([MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH,
                                                CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH])
        task = self._create_task(definition)
        if not isinstance(definition, NoneEventDefinition):
            # patched on the instance, not by subclassing: the stock serializers must still know the class
            task.interrupting = self.node.get("isInterrupting", "true") != "false"
            task._on_complete_hook = MethodType(_event_start_completed, task)
        self.spec.start.connect(task)
        return task


class EndEventParser(SpiffEndEventParser):
    def create_task(self) -> BpmnTaskSpec:
        definition = self.get_event_definition([MESSAGE_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH,
                                                ESCALATION_EVENT_XPATH, TERMINATION_EVENT_XPATH, SIGNAL_EVENT_XPATH])
        task = self._create_task(definition)
        task.connect(self.spec.end)
        return task


def _event_start_completed(spec: BpmnTaskSpec, my_task: Task) -> None:
    esp = event_subprocess_task(my_task.workflow)
    if esp is not None:  # an event sub-process sees the order's data as it is now (3.2: as it was at start)
        payload = my_task.internal_data.get(getattr(spec.event_definition, "name", None))
        my_task.data = {**my_task.data, **order_data(my_task.workflow.top_workflow),
                        **(payload if isinstance(payload, dict) else {})}
    type(spec)._on_complete_hook(spec, my_task)
    if esp is not None and spec.interrupting:
        for sibling in list(esp.parent.children):  # everything else the process does
            if sibling is not esp:
                sibling.cancel()


def event_subprocess_task(subprocess: BpmnBaseWorkflow) -> Task | None:
    """The event sub-process task that ``subprocess`` runs, or None (a process, a plain sub-process)."""
    parent_id = getattr(subprocess, "parent_task_id", None)
    outer = getattr(subprocess, "parent_workflow", None)
    if parent_id is None or outer is None:
        return None
    esp = outer.get_task_from_id(parent_id)
    # 3.2 hangs event sub-processes straight under the process's root task (a plain sub-process
    # always follows some start event), and gives them the plain sub-process class
    if esp is None or esp.parent is None or esp.parent is not outer.task_tree:
        return None
    return esp


def close_event_subprocesses(workflow: BpmnWorkflow, bound: Callable[[Task], None]) -> None:
    """The process's own flow has ended: event sub-processes that have not started never will."""
    root = workflow.task_tree
    if root is None or not any(c.id in workflow.subprocesses and not c.has_state(TaskState.FINISHED_MASK)
                               for c in root.children):
        return  # cheap first: no event sub-process is open (most processes have none)
    if workflow.is_completed():
        return
    ends = {f"{workflow.spec.name}.EndJoin", "End"}  # these wait for the event sub-processes too
    open_states = TaskState.FUTURE | TaskState.WAITING | TaskState.READY | TaskState.STARTED
    for child in root.children:
        if child.id in workflow.subprocesses:
            continue  # an event sub-process
        if any(t.has_state(open_states) and t.task_spec.name not in ends for t in child):
            return
    for child in list(root.children):
        sub = workflow.subprocesses.get(child.id)
        if sub is None or child.has_state(TaskState.FINISHED_MASK):
            continue
        start = sub.get_next_task(spec_name="Start")
        if start is not None and any(c.state == TaskState.WAITING for c in start.children):
            child.cancel()
    for join in workflow.get_tasks(state=TaskState.WAITING, spec_name=f"{workflow.spec.name}.EndJoin"):
        join.task_spec._update(join)  # it waited for the sub-processes just cancelled
    workflow.do_engine_steps(did_complete_task=bound)


def _condition_has_fired(definition: ConditionalEventDefinition, my_task: Task) -> bool:
    fired = _holds(my_task.workflow, definition.expression, my_task.data)
    if fired:  # the branch goes on with the data that made it true, not the data it waited with
        my_task.set_data(**order_data(my_task.workflow.top_workflow))
    my_task._set_internal_data(has_fired=fired)
    return fired


def _trigger_wf(start: BpmnStartTask, my_task: Task, spec_name: str) -> UUID:
    child = my_task._add_child(start._wf_spec.task_specs.get(spec_name), TaskState.FUTURE)
    child.triggered = True
    child.task_spec._update(child)
    return child.id


def adopt(spec: BpmnProcessSpec) -> None:
    """Fix a parsed spec (once, before any instance). Methods are patched on the spec's objects,
    not by swapping classes, so every stock serializer and diff still knows them."""
    if isinstance(spec.start, BpmnStartTask) and "trigger_wf" not in vars(spec.start):
        spec.start.trigger_wf = MethodType(_trigger_wf, spec.start)
        for name in spec.start.trigger_specs:
            esp = spec.task_specs[name]
            if spec.end not in esp.outputs:
                esp.connect(spec.end)
            if spec.start not in esp.inputs:  # its input, without being one of the start's outputs
                esp._connect_notify(spec.start)
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        for item in [definition, *getattr(definition, "event_definitions", [])]:
            if isinstance(item, ConditionalEventDefinition) and "has_fired" not in vars(item):
                item.has_fired = MethodType(_condition_has_fired, item)


def _start_conditional_subprocesses(workflow: BpmnWorkflow) -> bool:
    """Start the event sub-processes whose conditional start the data now makes true (3.2 only starts
    event sub-processes on thrown events, and conditions are never thrown). Each starts once per order."""
    conditional = [(start, name) for start, name in event_subprocess_starts(workflow)
                   if isinstance(start.event_definition, ConditionalEventDefinition)]
    if not conditional or workflow.is_completed():
        return False
    started = {sp.spec.name for sp in workflow.subprocesses.values()}
    fired = False
    for start, name in conditional:
        definition = start.event_definition
        if name not in started and _holds(workflow, definition.expression, {}):
            workflow.spec.start.trigger_wf(workflow.task_tree, name)
            started.add(name)
            fired = True
    return fired


def _holds(workflow: BpmnBaseWorkflow, expression: str, data: dict[str, Any]) -> bool:
    context = {**data, **order_data(workflow.top_workflow), **workflow.data_objects}
    try:
        return bool(workflow.script_engine.environment.evaluate(expression, context))
    except ExpressionError as exc:
        if "not in the order data yet" not in exc.message:
            raise
        return False


def fire_conditions(workflow: BpmnWorkflow, bound: Callable[[Task], None]) -> int:
    """Let every waiting conditional event whose condition the data now makes true fire; the steps run."""
    steps = 0
    for _ in range(MAX_CONDITION_ROUNDS):
        waiting = [t for t in list(workflow.event_manager.tasks.values())
                   if isinstance(_definition(t), ConditionalEventDefinition) and t.state == TaskState.WAITING]
        fired = _start_conditional_subprocesses(workflow)
        for task in waiting:
            task.task_spec._update(task)
            fired = fired or task.state != TaskState.WAITING

        def counted(task: Task) -> None:
            nonlocal steps
            steps += 1
            bound(task)
        if not fired:
            return steps
        workflow.do_engine_steps(did_complete_task=counted)
    return steps


def _definition(task: Task) -> EventDefinition | None:
    return getattr(task.task_spec, "event_definition", None)


def waiting_definitions(workflow: BpmnWorkflow) -> Iterator[tuple[Task, EventDefinition, str]]:
    """(task, event definition, element id) for each event the instance waits for; an event-based
    gateway's branches one by one, named by the catch event of the branch."""
    for task in list(workflow.event_manager.tasks.values()):
        definition = _definition(task)
        if isinstance(definition, MultipleEventDefinition):
            outputs = task.task_spec.outputs
            for index, item in enumerate(definition.event_definitions):
                spec = outputs[index] if index < len(outputs) else task.task_spec
                yield task, item, spec.bpmn_id or spec.name
        elif definition is not None:
            yield task, definition, task.task_spec.bpmn_id or task.task_spec.name


def event_subprocess_starts(workflow: BpmnWorkflow) -> Iterator[tuple[BpmnTaskSpec, str]]:
    """(start event spec, event sub-process id) for the event sub-processes an event would start."""
    for name in getattr(workflow.spec.start, "trigger_specs", []):
        sp_spec = workflow.subprocess_specs.get(name)
        if sp_spec is None:
            continue
        for start in sp_spec.bpmn_start_events:
            yield start, name
