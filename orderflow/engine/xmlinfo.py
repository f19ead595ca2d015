"""Facts about BPMN elements read straight from the XML (groups, forms, time limits).

SpiffWorkflow gives a task's lane *name* and drops line numbers; the service needs the
group id, the form key, the time limit and the source line, so it reads them here once
per deploy.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from orderflow.engine.model import ElementInfo
from orderflow.engine.xmlsafe import parse_xml

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiff": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
CUSTOMER_LANE = "customer"
_GROUP_ID = re.compile(r"^[a-z][a-z0-9_]*$")
FLOW_NODES = {
    "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
    "businessRuleTask", "task", "callActivity", "subProcess", "transaction",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "complexGateway",
}


def local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def line_of(root: etree._Element, element_id: str) -> int | None:
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") == element_id:
            return el.sourceline
    return None


def properties(el: etree._Element) -> dict[str, str]:
    """Spiff ``<spiffworkflow:property>`` and Camunda ``<camunda:property>`` values."""
    props: dict[str, str] = {}
    for prop in el.iterfind("bpmn:extensionElements/spiff:properties/spiff:property", NS):
        props[prop.get("name", "")] = prop.get("value", "")
    for prop in el.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS):
        props.setdefault(prop.get("name", ""), prop.get("value", ""))
    return props


def _lane_groups(process: etree._Element) -> dict[str, tuple[str, str]]:
    """Flow node id -> (group, how the lane named it: "lane name" or "lane id")."""
    groups: dict[str, tuple[str, str]] = {}
    for lane in process.iter(f"{{{NS['bpmn']}}}lane"):
        name = (lane.get("name") or "").strip()
        group = (name, "lane name") if _GROUP_ID.match(name) else (lane.get("id", ""), "lane id")
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            groups.setdefault((ref.text or "").strip(), group)
    return groups


# Camunda's HTML and Camunda-Forms keys (embedded:app:forms/x.html, camunda-forms:deployment:x.form,
# app:x.html): forms for Camunda's Tasklist, not JSON Schemas; such a task gets a plain completion form
_FOREIGN_FORM = re.compile(r"^[a-z][a-z0-9+-]*:|\.(x?html?|form|jsf|jsp)$", re.I)


def _foreign_form(el: etree._Element, props: dict[str, str]) -> str | None:
    if props.get("formJsonSchemaFilename"):
        return None
    key = (el.get(f"{{{NS['camunda']}}}formKey") or "").strip()
    if key and _FOREIGN_FORM.search(key):
        return key
    return (el.get(f"{{{NS['camunda']}}}formRef") or "").strip() or None


def _form_key(el: etree._Element, props: dict[str, str]) -> str | None:
    name = props.get("formJsonSchemaFilename") or el.get(f"{{{NS['camunda']}}}formKey")
    if not name or _foreign_form(el, props):
        return None
    name = name.strip().rsplit("/", 1)[-1]
    return name[:-5] if name.endswith(".json") else name


def _timer_slas(process: etree._Element) -> dict[str, str]:
    slas: dict[str, str] = {}
    for boundary in process.iter(f"{{{NS['bpmn']}}}boundaryEvent"):
        duration = boundary.find("bpmn:timerEventDefinition/bpmn:timeDuration", NS)
        if duration is not None and duration.text and boundary.get("attachedToRef"):
            slas.setdefault(boundary.get("attachedToRef"), duration.text.strip().strip("'\""))
    return slas


def message_keys(root: etree._Element) -> dict[str, list[str]]:
    """Message name -> the correlation property ids that identify its receiver (e.g. order_no)."""
    names = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{{{NS['bpmn']}}}message")}
    keys: dict[str, list[str]] = {name: [] for name in names.values()}
    for prop in root.iter(f"{{{NS['bpmn']}}}correlationProperty"):
        for expr in prop.iterfind("bpmn:correlationPropertyRetrievalExpression", NS):
            name = names.get(expr.get("messageRef"))
            if name is not None and prop.get("id") not in keys[name]:
                keys[name].append(prop.get("id"))
    return keys


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes"}


def _literal(value: str | None) -> str | None:
    """A plain value, or None for a JUEL ``${…}`` that only Camunda's engine could compute."""
    if not value or not value.strip() or value.strip().startswith(("${", "#{")):
        return None
    return value.strip()


def _timer_text(el: etree._Element) -> str | None:
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        found = el.find(f"bpmn:timerEventDefinition/bpmn:{tag}", NS)
        if found is not None and found.text:
            return found.text.strip()
    return None


def _camunda_retry(el: etree._Element) -> str | None:
    cycle = el.find("bpmn:extensionElements/camunda:failedJobRetryTimeCycle", NS)
    return cycle.text.strip() if cycle is not None and cycle.text else None


def describe_elements(process: etree._Element) -> dict[str, ElementInfo]:
    lanes = _lane_groups(process)
    slas = _timer_slas(process)
    elements: dict[str, ElementInfo] = {}
    for el in process.iter():
        kind = local(el)
        if kind not in FLOW_NODES or not el.get("id"):
            continue
        element_id = el.get("id")
        props = properties(el)
        candidate = _literal(props.get("candidateGroups") or el.get(f"{{{NS['camunda']}}}candidateGroups"))
        # every candidate group counts (see, claim, complete); the first is the task's home group
        groups = tuple(dict.fromkeys(g.strip() for g in candidate.split(",") if g.strip())) if candidate else ()
        group, group_from = (groups[0], "candidateGroups") if groups else lanes.get(element_id, (None, None))
        # a task in a ``customer`` lane is the customer's; staff who act for them come from a property
        customer = group == CUSTOMER_LANE or _flag(props.get("customer"))
        if group == CUSTOMER_LANE:
            group = _literal(props.get("onBehalfGroup"))
        operator = el.find("bpmn:extensionElements/spiff:serviceTaskOperator", NS)
        handler = operator.get("id") if operator is not None else el.get(f"{{{NS['camunda']}}}topic")
        elements[element_id] = ElementInfo(
            element_id=element_id,
            name=(el.get("name") or element_id).strip(),
            kind=kind,
            line=el.sourceline,
            group=group,
            groups=groups[1:] if group != CUSTOMER_LANE else (),
            group_from=group_from if group else None,
            form_key=_form_key(el, props),
            foreign_form=_foreign_form(el, props),
            sla=props.get("sla") or slas.get(element_id) or _literal(el.get(f"{{{NS['camunda']}}}dueDate")),
            sla_timer=element_id in slas,
            signature=_flag(props.get("signature")),
            signature_meaning=(props.get("signatureMeaning") or "").strip() or None,
            signature_requested_by=tuple(s.strip() for s in props.get("signatureRequestedBy", "").split(",")
                                         if s.strip()),
            requires_signature_of=(props.get("requiresSignatureOf") or "").strip() or None,
            handler=handler,
            asynchronous=(props.get("async", "").lower() in {"true", "1", "yes"}
                          or el.get(f"{{{NS['camunda']}}}asyncBefore") == "true"
                          or el.get(f"{{{NS['camunda']}}}async") == "true"),
            retry=props.get("retry") or _camunda_retry(el),
            timer=_timer_text(el),
            assignee=_literal(props.get("assignee") or el.get(f"{{{NS['camunda']}}}assignee")),
            customer=customer and kind == "userTask",
            related_order=(props.get("relatedOrder") or "").strip() or None,
        )
    return elements


def process_element(sources: Mapping[str, str], process_key: str) -> etree._Element | None:
    """The <bpmn:process> with id ``process_key`` in these files (no compiling: a draft's diagram may
    not compile yet); None when no file that parses has it."""
    for text in sources.values():
        try:
            root = parse_xml(text)
        except ValueError:
            continue
        for process in root.iter(f"{{{NS['bpmn']}}}process"):
            if process.get("id") == process_key:
                return process
    return None


def form_keys_of(text: str, process_key: str) -> set[str]:
    """The forms the steps of process ``process_key`` in this diagram name. A diagram that does not
    parse names none."""
    process = process_element({"": text}, process_key)
    return {info.form_key for info in describe_elements(process).values() if info.form_key} if process is not None \
        else set()
