"""Camunda's multi-instance over a collection, in the form SpiffWorkflow 3.2 reads.

Camunda Modeler writes ``camunda:collection="items" camunda:elementVariable="item"`` on
``multiInstanceLoopCharacteristics``; SpiffWorkflow reads only the standard ``loopDataInputRef`` and
``inputDataItem`` (and refuses the task: "must specify a cardinality or a loop input"). The
rewrite adds them; a collection that is not a plain data field is refused with the reason.
``adopt`` keeps the element variable local to its instance (see ``_merge_child_keeping_item_local``).
"""
from __future__ import annotations

from types import MethodType

from lxml import etree
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.task import Task

from orderflow.core.i18n import Msg
from orderflow.engine.model import Problem
from orderflow.engine.xmlinfo import NS

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def _is_name(text: str) -> bool:
    """``[A-Za-z_]\\w*``: a plain data field name."""
    return bool(text) and (text[0] == "_" or (text[0].isascii() and text[0].isalpha())) \
        and all(ch == "_" or ch.isalnum() for ch in text)


def _field(collection: str) -> str | None:
    """The data field of ``items`` or ``${items}``, or None (read without a backtracking regex)."""
    value = collection.strip()
    if value.startswith("${"):
        value = value[2:].lstrip()
    if value.endswith("}"):
        value = value[:-1].rstrip()
    return value if _is_name(value) else None


def rewrite_collection(el: etree._Element, file: str | None) -> list[Problem]:
    """``el`` is a multiInstanceLoopCharacteristics element; rewrite it in place."""
    collection = el.get(f"{{{CAMUNDA}}}collection")
    if collection is None:
        return []
    owner = el.getparent()
    owner_id = owner.get("id") if owner is not None else None
    if el.find("bpmn:loopCardinality", NS) is not None or el.find("bpmn:loopDataInputRef", NS) is not None:
        return [Problem(Msg("This multi-instance names both camunda:collection and a cardinality or loop input; "
                            "keep one of them."), owner_id, el.sourceline, file)]
    field = _field(collection)
    if field is None or (collection.strip().startswith("${") != collection.strip().endswith("}")):
        return [Problem(Msg("camunda:collection=\"%(collection)s\" must name a data field holding a list (e.g. "
                            "items or ${items}); expressions and method calls cannot run here.",
                            collection=collection), owner_id, el.sourceline, file)]
    ref = etree.Element(f"{{{NS['bpmn']}}}loopDataInputRef")
    ref.text = field
    el.insert(0, ref)
    variable = el.get(f"{{{CAMUNDA}}}elementVariable")
    if variable:
        if not _is_name(variable):
            return [Problem(Msg("camunda:elementVariable=\"%(variable)s\" must be a plain name (e.g. item).",
                                variable=variable), owner_id, el.sourceline, file)]
        item = etree.Element(f"{{{NS['bpmn']}}}inputDataItem", id=variable, name=variable)
        ref.addnext(item)
    return []


def _merge_child_keeping_item_local(spec: MultiInstanceTask, workflow: BpmnBaseWorkflow, child: Task) -> None:
    # without an output collection 3.2 merges every child's data into the task, element variable
    # included, and then refuses the next child ("input item already exists"): a sequential
    # multi-instance stopped after its first item. The element variable is the instance's own
    # (as in Camunda), so it is not merged.
    if spec.input_item is not None and spec.data_output is None:
        child.data.pop(spec.input_item.bpmn_id, None)
    type(spec).merge_child(spec, workflow, child)


def adopt(spec: BpmnProcessSpec) -> None:
    """Patch the multi-instance tasks of a parsed spec (on the objects: serializers keep working)."""
    for task_spec in spec.task_specs.values():
        if hasattr(task_spec, "merge_child") and hasattr(task_spec, "input_item") \
                and "merge_child" not in vars(task_spec):
            task_spec.merge_child = MethodType(_merge_child_keeping_item_local, task_spec)
