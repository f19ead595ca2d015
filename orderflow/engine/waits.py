"""What a running instance waits for besides people: timers, messages, signals, conditions, errors,
service calls left to a background job.

SpiffWorkflow's ``waiting_events()`` hides an event-based gateway's branches inside one
"MultipleEventDefinition" with no time and no message name (so a gateway's timer was never
scheduled and its message answered 404), and does not list the events that would start an event
sub-process. ``pending`` lists each of them as a plain ``Wait``.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from orderflow.engine.events import event_subprocess_starts, event_subprocess_task, order_data, waiting_definitions
from orderflow.engine.expressions import ExpressionError
from orderflow.engine.model import Wait
from orderflow.engine.specs import ProcessDef

_KINDS = ((MessageEventDefinition, "message"), (TimerEventDefinition, "timer"), (SignalEventDefinition, "signal"),
          (ConditionalEventDefinition, "condition"), (ErrorEventDefinition, "error"),
          (EscalationEventDefinition, "escalation"))


def kind_of(definition: Any) -> str | None:
    for cls, kind in _KINDS:
        if isinstance(definition, cls):
            return kind
    return None


def due_at(task: Task, definition: EventDefinition) -> datetime | None:
    """When a waiting timer fires (an event-based gateway keeps its timer's value on the gateway)."""
    value = task.internal_data.get("event_value")
    if isinstance(definition, CycleTimerEventDefinition) and isinstance(value, dict):
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def correlation_values(workflow: BpmnWorkflow, definition: EventDefinition, data: dict[str, Any]) -> dict[str, str]:
    """Each correlation property of a message, valued from the order's data the way the message's
    retrieval expression reads it from a payload (falling back to the field named like the property)."""
    values: dict[str, str] = {}
    for prop in getattr(definition, "correlation_properties", []) or []:
        try:
            value = workflow.script_engine.environment.evaluate(prop.retrieval_expression, data)
        except ExpressionError:  # the data does not have it (yet): the field named like the property
            value = data.get(prop.name)
        if value is not None and not isinstance(value, (dict, list)):
            values[prop.name] = str(value)[:300]
    return values


def _name(definition: Any) -> str | None:
    if isinstance(definition, (ConditionalEventDefinition, TimerEventDefinition)):
        return definition.expression  # the condition; the timer's date, duration or cycle as written
    if isinstance(definition, (ErrorEventDefinition, EscalationEventDefinition)):
        return definition.code or definition.name
    return getattr(definition, "name", None)


def pending(workflow: BpmnWorkflow, data: dict[str, Any] | None = None,
            started: list[Task] | None = None) -> list[Wait]:
    """Every event the instance waits for, in a stable order (timers first by due time).
    ``started``: the STARTED tasks, when the caller walked the tree already."""
    data = order_data(workflow) if data is None else data
    waits: list[Wait] = []
    for task, definition, element_id in waiting_definitions(workflow):
        kind = kind_of(definition)
        if kind is None:
            continue
        # a start event waiting inside an event sub-process (a timer start): the sub-process it starts
        starts = task.workflow.spec.name if task.parent is not None and task.parent.task_spec.name == "Start" \
            and event_subprocess_task(task.workflow) is not None else None
        waits.append(Wait(kind, element_id, _name(definition), due_at(task, definition) if kind == "timer" else None,
                          correlation_values(workflow, definition, data) if kind == "message" else {}, starts))
    for task in workflow.get_tasks(state=TaskState.STARTED) if started is None else started:
        if hasattr(task.task_spec, "operation_name"):  # a service call deferred to a job, or behind an incident
            waits.append(Wait("service", task.task_spec.bpmn_id or task.task_spec.name, task.task_spec.operation_name,
                              task_ref=str(task.id)))
    running = {sp.spec.name for sp in workflow.subprocesses.values() if not sp.completed}
    for start, name in event_subprocess_starts(workflow):
        kind = kind_of(start.event_definition)
        if kind is None or name in running:
            continue
        waits.append(Wait(kind, start.bpmn_id or start.name, _name(start.event_definition), None,
                          correlation_values(workflow, start.event_definition, data) if kind == "message" else {},
                          starts=name))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(waits, key=lambda w: (w.kind != "timer", w.due_at or far, w.kind, w.element_id))


def next_timer_at(waits: list[Wait]) -> datetime | None:
    times = [w.due_at for w in waits if w.kind == "timer" and w.due_at is not None]
    return min(times) if times else None


def message_definition(workflow: BpmnWorkflow, name: str) -> tuple[MessageEventDefinition, str, Task | None] | None:
    """(definition, element id, task or None) of the event that would catch the message ``name``."""
    for task, definition, element_id in waiting_definitions(workflow):
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return definition, element_id, task
    for start, _ in event_subprocess_starts(workflow):
        definition = start.event_definition
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return definition, start.bpmn_id or start.name, None
    return None


def start_messages(pdef: ProcessDef) -> set[str]:
    """The messages that start a new instance of the process (its message start events)."""
    return {ts.event_definition.name for ts in getattr(pdef.spec, "bpmn_start_events", [])
            if isinstance(ts.event_definition, MessageEventDefinition)}
