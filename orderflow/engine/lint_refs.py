"""References between elements, checked before SpiffWorkflow parses the file.

The parser crashes on an event naming a message, error, signal or escalation the file does
not define (a TypeError inside its own error path), says "we found two items" for a flow to
nowhere, and silently ignores a boundary event attached to nothing or duplicate ids. Each
is reported here with the element, its line and what to fix.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from lxml import etree

from orderflow.core.i18n import Msg
from orderflow.engine.model import Problem
from orderflow.engine.xmlinfo import NS, local

_B = NS["bpmn"]
_EVENT_REFS: dict[str, tuple[str, str, Callable[[str], Msg]]] = {  # event definition -> (attribute, tag, message)
    "messageEventDefinition": ("messageRef", "message", lambda ref: Msg(
        "This event names the message '%(ref)s', which the file does not define: add a "
        "<bpmn:message id=\"%(ref)s\"> (the modeler's message field) or pick an existing one.", ref=ref)),
    "errorEventDefinition": ("errorRef", "error", lambda ref: Msg(
        "This event names the error '%(ref)s', which the file does not define: add a "
        "<bpmn:error id=\"%(ref)s\"> (the modeler's error field) or pick an existing one.", ref=ref)),
    "signalEventDefinition": ("signalRef", "signal", lambda ref: Msg(
        "This event names the signal '%(ref)s', which the file does not define: add a "
        "<bpmn:signal id=\"%(ref)s\"> (the modeler's signal field) or pick an existing one.", ref=ref)),
    "escalationEventDefinition": ("escalationRef", "escalation", lambda ref: Msg(
        "This event names the escalation '%(ref)s', which the file does not define: add a "
        "<bpmn:escalation id=\"%(ref)s\"> (the modeler's escalation field) or pick an existing one.", ref=ref)),
}
_NOT_NODES = {"sequenceFlow", "messageFlow", "association", "dataObject", "dataObjectReference",
              "dataStoreReference", "textAnnotation", "lane", "laneSet", "ioSpecification", "dataInput",
              "dataOutput", "inputSet", "outputSet", "property", "group", "category", "categoryValue"}


def check(root: etree._Element, file: str | None) -> list[Problem]:
    problems = _duplicate_ids(root, file)
    defined = {tag: {el.get("id") for el in root.iter(f"{{{_B}}}{tag}")} for _, tag, _ in _EVENT_REFS.values()}
    for process in root.iter(f"{{{_B}}}process"):
        problems += _event_refs(process, defined, file)
        problems += _flows(process, file)
    return problems


def _duplicate_ids(root: etree._Element, file: str | None) -> list[Problem]:
    seen: dict[str, list[etree._Element]] = defaultdict(list)
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") and etree.QName(el).namespace == _B:
            seen[el.get("id")].append(el)
    return [Problem(Msg("%(count)s elements have the id '%(id)s' (lines %(lines)s): every id must be unique.",
                        count=len(els), id=element_id, lines=", ".join(str(e.sourceline) for e in els)),
                    element_id, els[1].sourceline, file)
            for element_id, els in seen.items() if len(els) > 1]


def _owner(el: etree._Element) -> etree._Element:
    parent = el.getparent()
    return parent if parent is not None else el


def _event_refs(process: etree._Element, defined: dict[str, set], file: str | None) -> list[Problem]:
    problems = []
    for definition, (attr, tag, undefined) in _EVENT_REFS.items():
        for el in process.iter(f"{{{_B}}}{definition}"):
            ref = el.get(attr)
            if ref and ref not in defined[tag]:
                event = _owner(el)
                problems.append(Problem(undefined(ref), event.get("id"), event.sourceline, file))
    return problems


def _flows(process: etree._Element, file: str | None) -> list[Problem]:
    problems = []
    nodes = {el.get("id") for el in process.iter() if isinstance(el.tag, str) and el.get("id")
             and etree.QName(el).namespace == _B and local(el) not in _NOT_NODES}
    for flow in process.iter(f"{{{_B}}}sequenceFlow"):
        for attr in ("sourceRef", "targetRef"):
            ref = flow.get(attr)
            if ref and ref not in nodes:
                message = Msg("The sequence flow starts at '%(ref)s', which is not an element of this process: "
                              "connect both of its ends.", ref=ref) if attr == "sourceRef" else \
                    Msg("The sequence flow leads to '%(ref)s', which is not an element of this process: "
                        "connect both of its ends.", ref=ref)
                problems.append(Problem(message, flow.get("id"), flow.sourceline, file))
            elif not ref:  # the engine follows the elements' incoming/outgoing lists; the modeler would not
                message = Msg("The sequence flow starts at no element (sourceRef is missing): reconnect it in "
                              "the modeler.") if attr == "sourceRef" else \
                    Msg("The sequence flow leads to no element (targetRef is missing): reconnect it in the modeler.")
                problems.append(Problem(message, flow.get("id"), flow.sourceline, file, "warning"))
    for boundary in process.iter(f"{{{_B}}}boundaryEvent"):
        ref = boundary.get("attachedToRef")
        if not ref or ref not in nodes:
            problems.append(Problem(Msg("This boundary event is attached to '%(ref)s', which is not an activity of "
                                        "this process: attach it to a task or sub-process.", ref=ref or ""),
                                    boundary.get("id"), boundary.sourceline, file))
    for ref in process.iterfind("bpmn:laneSet//bpmn:lane/bpmn:flowNodeRef", NS):
        if (ref.text or "").strip() and ref.text.strip() not in nodes:
            lane = ref.getparent()
            problems.append(Problem(Msg("The lane lists '%(ref)s', which is not an element of this process.",
                                        ref=ref.text.strip()), lane.get("id"), ref.sourceline, file, "warning"))
    return problems
