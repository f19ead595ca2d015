"""Deploy-time refusals for event constructs the service cannot run as BPMN means them.

Each is something SpiffWorkflow 3.2 would accept and then run wrongly (or never): refusing it at
deploy, naming the element, line and reason, is the alternative to an order that silently waits
forever. What does run is tested in tests/test_engine_events.py.
"""
from __future__ import annotations

from lxml import etree

from orderflow.core.i18n import Msg
from orderflow.engine.model import Problem
from orderflow.engine.xmlinfo import NS, local

_BPMN = NS["bpmn"]
_DEFINITIONS = ("messageEventDefinition", "timerEventDefinition", "signalEventDefinition", "errorEventDefinition",
                "escalationEventDefinition", "conditionalEventDefinition")


def _kinds(event: etree._Element) -> list[str]:
    return [local(child) for child in event if isinstance(child.tag, str) and local(child) in _DEFINITIONS]


def _problem(el: etree._Element, message: str, file: str | None) -> Problem:
    return Problem(message, el.get("id"), el.sourceline, file)


def _event_subprocess(el: etree._Element) -> bool:
    return local(el) == "subProcess" and (el.get("triggeredByEvent") or "").lower() == "true"


def _start_events(process: etree._Element, file: str | None) -> list[Problem]:
    problems = []
    for start in process.iter(f"{{{_BPMN}}}startEvent"):
        owner = start.getparent()
        kinds = _kinds(start)
        if _event_subprocess(owner):
            if owner.getparent() is not process and any(k != "timerEventDefinition" for k in kinds):
                problems.append(_problem(start, Msg(
                    "An event sub-process inside a sub-process or called process starts here only on a timer: "
                    "SpiffWorkflow 3.2 starts message, signal, error, escalation and conditional event "
                    "sub-processes of the process itself only. Move it to the process's top level."), file))
            continue
        if owner is not process:
            continue  # an embedded sub-process's start: none start events only, SpiffWorkflow checks that
        if "conditionalEventDefinition" in kinds:
            problems.append(_problem(start, Msg(
                "A process cannot start on a condition: nothing changes an order's data before it exists. "
                "Start it plainly and wait with an intermediate conditional event."), file))
        elif "signalEventDefinition" in kinds:
            problems.append(_problem(start, Msg(
                "A process cannot start on a signal: signals travel only inside one order here. "
                "Use a message start event (POST /api/v1/messages/<name> starts it)."), file))
        elif kinds and set(kinds) <= {"errorEventDefinition", "escalationEventDefinition"}:
            problems.append(_problem(start, Msg(
                "Error and escalation start events belong to event sub-processes; a process's own start "
                "event would never fire."), file))
    return problems


def _event_gateways(process: etree._Element, file: str | None) -> list[Problem]:
    problems = []
    nodes = {el.get("id"): el for el in process.iter() if isinstance(el.tag, str) and el.get("id")}
    flows = {f.get("id"): f for f in process.iter(f"{{{_BPMN}}}sequenceFlow")}
    for gateway in process.iter(f"{{{_BPMN}}}eventBasedGateway"):
        targets = []
        for out in gateway.iterfind("bpmn:outgoing", NS):
            flow = flows.get((out.text or "").strip())
            if flow is not None and flow.get("targetRef") in nodes:
                targets.append(nodes[flow.get("targetRef")])
        kinds = [k for t in targets for k in _kinds(t)]
        if "conditionalEventDefinition" in kinds:
            problems.append(_problem(gateway, Msg(
                "An event-based gateway cannot wait for a condition here: SpiffWorkflow 3.2 never fires a "
                "conditional branch of an event-based gateway. Use messages, timers or signals."), file))
        if kinds.count("timerEventDefinition") > 1:
            problems.append(_problem(gateway, Msg(
                "An event-based gateway can wait for one timer here: SpiffWorkflow 3.2 keeps one due time per "
                "gateway, so a second timer would fire at the first one's time. Keep the earliest."), file))
    return problems


def _called_event_subprocesses(process: etree._Element, file: str | None) -> list[Problem]:
    """A called process's own event sub-processes run, when it is called, as nested ones: only on a timer.
    (Checked when the called process is in the same file; the others are not visible here.)"""
    problems = []
    processes = {p.get("id"): p for p in process.getroottree().getroot().iter(f"{{{_BPMN}}}process")}
    for call in process.iter(f"{{{_BPMN}}}callActivity"):
        called = processes.get(call.get("calledElement"))
        if called is None or called is process:
            continue
        for esp in called.iterfind("bpmn:subProcess", NS):
            starts = esp.iterfind("bpmn:startEvent", NS) if _event_subprocess(esp) else []
            if any(k != "timerEventDefinition" for start in starts for k in _kinds(start)):
                problems.append(_problem(call, Msg(
                    "The called process '%(called)s' has an event sub-process ('%(subprocess)s') that "
                    "starts on a message, signal, error, escalation or condition: SpiffWorkflow 3.2 never starts "
                    "it in a called process, only on a timer. Move it into this process.",
                    called=called.get("id"), subprocess=esp.get("id")), file))
                break
    return problems


def _unthrown_signals(process: etree._Element, file: str | None) -> list[Problem]:
    """A signal caught here that nothing in the file throws can never come: signals stay in one order."""
    root = process.getroottree().getroot()
    thrown = {d.get("signalRef") for tag in ("intermediateThrowEvent", "endEvent")
              for event in root.iter(f"{{{_BPMN}}}{tag}") for d in event.iterfind("bpmn:signalEventDefinition", NS)}
    problems = []
    for tag in ("intermediateCatchEvent", "boundaryEvent", "startEvent"):
        for event in process.iter(f"{{{_BPMN}}}{tag}"):
            for definition in event.iterfind("bpmn:signalEventDefinition", NS):
                if definition.get("signalRef") not in thrown:
                    problems.append(Problem(Msg(
                        "The signal '%(signal)s' is caught here but nothing in this file throws "
                        "it, and signals do not travel between orders: this event will never fire.",
                        signal=definition.get("signalRef")),
                        event.get("id"), event.sourceline, file, "warning"))
    return problems


def check(process: etree._Element, file: str | None) -> list[Problem]:
    """Problems with the events of one process element (warnings included)."""
    return (_start_events(process, file) + _event_gateways(process, file) + _called_event_subprocesses(process, file)
            + _unthrown_signals(process, file))
