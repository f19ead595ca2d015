"""References between elements, checked before SpiffWorkflow parses the file.

The parser crashes on an event naming a message, error, signal or escalation the file does
not define (a TypeError inside its own error path), says "we found two items" for a flow to
nowhere, and silently ignores a boundary event attached to nothing or duplicate ids. Each
is reported here with the element, its line and what to fix.
"""
from __future__ import annotations

from collections import defaultdict

from lxml import etree

from orderflow.engine.model import Problem
from orderflow.engine.xmlinfo import NS, local

_B = NS["bpmn"]
_EVENT_REFS = {  # event definition -> (attribute, definition tag, word)
    "messageEventDefinition": ("messageRef", "message", "message"),
    "errorEventDefinition": ("errorRef", "error", "error"),
    "signalEventDefinition": ("signalRef", "signal", "signal"),
    "escalationEventDefinition": ("escalationRef", "escalation", "escalation"),
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
    return [Problem(f"{len(els)} elements have the id '{element_id}' (lines "
                    f"{', '.join(str(e.sourceline) for e in els)}): every id must be unique.",
                    element_id, els[1].sourceline, file)
            for element_id, els in seen.items() if len(els) > 1]


def _owner(el: etree._Element) -> etree._Element:
    parent = el.getparent()
    return parent if parent is not None else el


def _event_refs(process: etree._Element, defined: dict[str, set], file: str | None) -> list[Problem]:
    problems = []
    for definition, (attr, tag, word) in _EVENT_REFS.items():
        for el in process.iter(f"{{{_B}}}{definition}"):
            ref = el.get(attr)
            if ref and ref not in defined[tag]:
                event = _owner(el)
                problems.append(Problem(
                    f"This event names the {word} '{ref}', which the file does not define: add a "
                    f"<bpmn:{tag} id=\"{ref}\"> (the modeler's {word} field) or pick an existing one.",
                    event.get("id"), event.sourceline, file))
    return problems


def _flows(process: etree._Element, file: str | None) -> list[Problem]:
    problems = []
    nodes = {el.get("id") for el in process.iter() if isinstance(el.tag, str) and el.get("id")
             and etree.QName(el).namespace == _B and local(el) not in _NOT_NODES}
    for flow in process.iter(f"{{{_B}}}sequenceFlow"):
        for attr, word in (("sourceRef", "starts at"), ("targetRef", "leads to")):
            ref = flow.get(attr)
            if ref and ref not in nodes:
                problems.append(Problem(f"The sequence flow {word} '{ref}', which is not an element of this "
                                        "process: connect both of its ends.", flow.get("id"), flow.sourceline, file))
            elif not ref:  # the engine follows the elements' incoming/outgoing lists; the modeler would not
                problems.append(Problem(f"The sequence flow {word} no element ({attr} is missing): reconnect it in "
                                        "the modeler.", flow.get("id"), flow.sourceline, file, "warning"))
    for boundary in process.iter(f"{{{_B}}}boundaryEvent"):
        ref = boundary.get("attachedToRef")
        if not ref or ref not in nodes:
            problems.append(Problem(f"This boundary event is attached to '{ref or ''}', which is not an activity of "
                                    "this process: attach it to a task or sub-process.",
                                    boundary.get("id"), boundary.sourceline, file))
    for ref in process.iterfind("bpmn:laneSet//bpmn:lane/bpmn:flowNodeRef", NS):
        if (ref.text or "").strip() and ref.text.strip() not in nodes:
            lane = ref.getparent()
            problems.append(Problem(f"The lane lists '{ref.text.strip()}', which is not an element of this process.",
                                    lane.get("id"), ref.sourceline, file, "warning"))
    return problems
