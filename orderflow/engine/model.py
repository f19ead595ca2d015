"""Plain data the engine hands to the rest of the service (no SpiffWorkflow types)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One reason a diagram cannot be deployed, pointing at the element and line."""

    message: str
    element_id: str | None = None
    line: int | None = None
    file: str | None = None
    severity: str = "error"      # "error" stops a deploy; "warning" is shown and deploys

    def as_dict(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "line": self.line, "message": self.message, "file": self.file,
                "severity": self.severity}


@dataclass(frozen=True)
class ElementInfo:
    """What the service needs to know about one BPMN element, read from the XML."""

    element_id: str
    name: str
    kind: str                    # userTask, serviceTask, startEvent, ...
    line: int | None = None
    group: str | None = None     # lane id/name or candidateGroups
    groups: tuple[str, ...] = ()  # further candidate groups: their members may work on it too
    group_from: str | None = None  # where ``group`` was read: "candidateGroups", "lane name" or "lane id"
    form_key: str | None = None
    foreign_form: str | None = None  # a Camunda HTML / Camunda-Forms form key the service cannot show
    sla: str | None = None       # ISO-8601 duration from a boundary timer or 'sla' property
    sla_timer: bool = False      # a boundary timer sits on the task: the diagram draws its own escalation path
    signature: bool = False      # re-enter the password to complete
    signature_meaning: str | None = None          # what signing means ('signatureMeaning')
    signature_requested_by: tuple[str, ...] = ()  # steps whose completer may not sign ('signatureRequestedBy')
    requires_signature_of: str | None = None      # a signature step that must hold ('requiresSignatureOf')
    handler: str | None = None   # service tasks
    asynchronous: bool = False   # run the handler as a background job after the step commits
    retry: str | None = None     # R3/PT10S or PT10S,PT1M,PT10M
    timer: str | None = None     # the timer's date, duration or cycle, for timer events
    assignee: str | None = None  # a user who gets the task directly (camunda:assignee)
    customer: bool = False       # the customer's own step: a ``customer`` lane or property, done through a link
    related_order: str | None = None  # start events: the order the data's order_no must name ('relatedOrder')


@dataclass
class ReadyTask:
    """A user task waiting for a person."""

    task_uuid: str
    element_id: str
    name: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Wait:
    """Something a running instance waits for that is not a person: a timer, message, signal, condition."""

    kind: str                    # timer, message, signal, condition, error, escalation, service
    element_id: str              # the catching event (an event-based gateway's branch, or a start event)
    name: str | None = None      # message or signal name, error/escalation code, the condition, the handler
    due_at: Any = None           # timers: when it fires; service calls: the next attempt (UTC-aware datetime)
    correlation: dict[str, str] = field(default_factory=dict)  # messages: property id -> the order's value
    starts: str | None = None    # the event sub-process this event would start
    task_ref: str | None = field(default=None, repr=False)  # service calls: the engine task (finds its job)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "element_id": self.element_id, "name": self.name,
                "due_at": self.due_at.isoformat() if self.due_at is not None else None,
                "correlation": dict(self.correlation), "starts": self.starts}


@dataclass
class Snapshot:
    """The state of an instance after an engine run, as the service stores it."""

    ready: list[ReadyTask]
    completed: bool
    data: dict[str, Any]
    next_timer_at: Any = None
    finished_elements: list[str] = field(default_factory=list)
    waiting_messages: list[str] = field(default_factory=list)
    steps: int = 0
    waits: list[Wait] = field(default_factory=list)
