"""Data inputs and outputs: what the engine can feed, refused or made explicit at deploy.

SpiffWorkflow 3.2 copies a data object into a task's data by the object's id and reads a
task's ``ioSpecification`` data inputs from the data by *their* ids. It ignores the rest of
BPMN's data mapping: ``<transformation>`` (XSLT/XPath), ``<assignment>`` from/to, and an
association onto a named data input or from a named data output. A diagram that relies on
them would run with the wrong data (or stop on "Missing data input"), so they are refused
here, naming the element. A process's own data inputs become required fields of a
generated start form, so a start without them is a 422 naming the field, not a stop later.
"""
from __future__ import annotations

from lxml import etree

from orderflow.core.i18n import Msg
from orderflow.engine.model import Problem
from orderflow.engine.xmlinfo import NS, local

_B = NS["bpmn"]
_XSD_TYPES = {"string": "string", "int": "integer", "integer": "integer", "long": "integer", "short": "integer",
              "decimal": "number", "double": "number", "float": "number", "boolean": "boolean",
              "date": "string", "dateTime": "string"}


def rewrite(root: etree._Element, file: str | None) -> tuple[list[Problem], dict[str, dict]]:
    """Problems with data associations, and start forms generated from process data inputs."""
    problems: list[Problem] = []
    forms: dict[str, dict] = {}
    for assoc in root.iter(f"{{{_B}}}dataInputAssociation", f"{{{_B}}}dataOutputAssociation"):
        problems += _association(assoc, file)
    for process in root.iter(f"{{{_B}}}process"):
        problems += _task_inputs(process, file)
        form = _start_form(root, process)
        if form is not None:
            forms[form[0]] = form[1]
    return problems, forms


def _owner(el: etree._Element) -> etree._Element:
    parent = el.getparent()
    return parent if parent is not None else el


def _own_io(task: etree._Element, tag: str) -> set[str]:
    """The element's data inputs/outputs: in its ioSpecification, or (events) as direct children."""
    found = task.findall(f"bpmn:ioSpecification/bpmn:{tag}", NS) + task.findall(f"bpmn:{tag}", NS)
    return {el.get("id") for el in found if el.get("id")}


def _data_refs(root: etree._Element) -> set[str]:
    return {el.get("id") for el in root.iter(f"{{{_B}}}dataObjectReference", f"{{{_B}}}dataStoreReference")
            if el.get("id")}


def _association(assoc: etree._Element, file: str | None) -> list[Problem]:
    task = _owner(assoc)
    where = (task.get("id"), assoc.sourceline, file)
    kind = "input" if local(assoc) == "dataInputAssociation" else "output"
    if assoc.find("bpmn:transformation", NS) is not None:
        return [Problem(Msg(
            "A data input association with a <transformation> (XSLT, XPath or another expression language) is not "
            "supported: the engine copies data objects by name and would run this step with the untransformed data. "
            "Compute the value in a script task instead.") if kind == "input" else Msg(
            "A data output association with a <transformation> (XSLT, XPath or another expression language) is not "
            "supported: the engine copies data objects by name and would run this step with the untransformed data. "
            "Compute the value in a script task instead."), *where)]
    if assoc.find("bpmn:assignment", NS) is not None:
        return [Problem(Msg(
            "A data input association with an <assignment> (from/to) is not supported: the engine would ignore it. "
            "Assign the value in a script task (name = expression) instead.") if kind == "input" else Msg(
            "A data output association with an <assignment> (from/to) is not supported: the engine would ignore it. "
            "Assign the value in a script task (name = expression) instead."), *where)]
    source = (assoc.findtext("bpmn:sourceRef", "", NS) or "").strip()
    target = (assoc.findtext("bpmn:targetRef", "", NS) or "").strip()
    outside = source if kind == "input" else target
    if outside and outside not in _data_refs(assoc.getroottree().getroot()):
        return [Problem(Msg(
            "The data input association reads '%(ref)s', which is not a data object or data store of this diagram "
            "(process properties and data inputs cannot be read or written this way): connect it to a data object.",
            ref=outside) if kind == "input" else Msg(
            "The data output association writes '%(ref)s', which is not a data object or data store of this diagram "
            "(process properties and data inputs cannot be read or written this way): connect it to a data object.",
            ref=outside), *where)]
    if kind == "input":
        if target in _own_io(task, "dataInput") and target != _object_id(assoc, source):
            return [Problem(Msg("The data input '%(target)s' is fed from '%(source)s', but the engine does not map "
                                "associations onto data inputs: it reads '%(target)s' from the order's data by that "
                                "name. Name the data input like the data it needs, or remove the ioSpecification.",
                                target=target, source=source), *where)]
    else:
        if source in _own_io(task, "dataOutput") and source != _object_id(assoc, target):
            return [Problem(Msg("The data output '%(source)s' is mapped onto '%(target)s', but the engine does not "
                                "map data outputs onto data objects: it copies the order's data named like the data "
                                "object. Name the data output like the data object, or drop the mapping.",
                                source=source, target=target), *where)]
    return []


def _object_id(assoc: etree._Element, ref: str) -> str | None:
    """The data object a data object reference stands for (the name the engine copies by)."""
    for el in assoc.getroottree().getroot().iter(f"{{{_B}}}dataObjectReference"):
        if el.get("id") == ref:
            return el.get("dataObjectRef")
    return None


def _task_inputs(process: etree._Element, file: str | None) -> list[Problem]:
    """A task's data inputs come from the order's data by id: say so where the order could lack them."""
    problems = []
    for spec in process.iter(f"{{{_B}}}ioSpecification"):
        task = spec.getparent()
        if task is process or task.find("bpmn:multiInstanceLoopCharacteristics", NS) is not None:
            continue
        names = sorted(_own_io(task, "dataInput"))
        if names:
            problems.append(Problem(Msg(
                "This step needs %(names)s in the order's data when it starts (its data "
                "inputs are read by id); an order without them stops here with a message naming the input.",
                names=", ".join(repr(n) for n in names)),
                task.get("id"), task.sourceline, file, "warning"))
    return problems


def _start_form(root: etree._Element, process: etree._Element) -> tuple[str, dict] | None:
    """A start form asking for the process's data inputs, when its start event has no form."""
    inputs = process.findall("bpmn:ioSpecification/bpmn:dataInput", NS)
    starts = [s for s in process.iterfind("bpmn:startEvent", NS)
              if not any(local(c).endswith("EventDefinition") for c in s)]
    if not inputs or not starts or not process.get("id"):
        return None
    start = starts[0]
    if start.find("bpmn:extensionElements/spiff:properties/spiff:property[@name='formJsonSchemaFilename']", NS) \
            is not None or start.get(f"{{{NS['camunda']}}}formKey"):
        return None
    types = {d.get("id"): (d.get("structureRef") or "").rsplit(":", 1)[-1]
             for d in root.iter(f"{{{_B}}}itemDefinition")}
    properties = {}
    for data_input in inputs:
        prop: dict = {"title": data_input.get("name") or data_input.get("id")}
        kind = _XSD_TYPES.get(types.get(data_input.get("itemSubjectRef"), ""))
        if kind:
            prop["type"] = kind
        properties[data_input.get("id")] = prop
    key = f"{process.get('id')}_inputs"
    ext = start.find("bpmn:extensionElements", NS)
    if ext is None:
        ext = etree.Element(f"{{{_B}}}extensionElements")
        start.insert(0, ext)
    props = ext.find("spiff:properties", NS)
    if props is None:
        props = etree.SubElement(ext, f"{{{NS['spiff']}}}properties")
    etree.SubElement(props, f"{{{NS['spiff']}}}property", name="formJsonSchemaFilename", value=f"{key}.json")
    return key, {"type": "object", "title": process.get("name") or process.get("id"),
                 "properties": properties, "required": sorted(properties)}


def check_start_form(process: etree._Element, start_form: dict | None, start_id: str | None,
                     file: str | None) -> list[Problem]:
    """A start form the owner wrote must ask for the process's data inputs, or starts lack them."""
    inputs = [d.get("id") for d in process.iterfind("bpmn:ioSpecification/bpmn:dataInput", NS) if d.get("id")]
    if not inputs or not isinstance(start_form, dict):
        return []
    required = set(start_form.get("required") or [])
    missing = [name for name in inputs if name not in required]
    if not missing:
        return []
    start = next((el for el in process.iter(f"{{{_B}}}startEvent") if el.get("id") == start_id), process)
    return [Problem(Msg("The start form does not require the process's data input(s) %(names)s: "
                        "an order started without them stops at the first step that reads them. Add them to the "
                        "form's required fields.", names=", ".join(map(repr, missing))),
                    start.get("id"), start.sourceline, file, "warning")]
