"""Serialization with the spec stored by reference.

The stock serializer embeds the whole spec in every instance (tens of KB). Here the
instance's JSON holds only its task tree and data; the spec comes back from the
``SpecCache`` by the (key, sha256) kept on the instance row. The script engine is not
serialized either: ``load`` attaches a fresh one bound to the current request's services.
"""
from __future__ import annotations

import json
from copy import deepcopy
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from orderflow.engine.specs import ProcessDef


class _SpecByReference(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict, pdef: ProcessDef | None = None) -> BpmnWorkflow:
        assert pdef is not None, "load() passes the definition: the spec is not in the state"
        workflow = self.target_class(pdef.spec, pdef.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = deepcopy(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpecByReference
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()
FORMAT = "orderflow-1"


def dump(workflow: BpmnWorkflow) -> str:
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = _SERIALIZER.to_dict(workflow)
    finally:
        registry._encoder_mode = False
    dct["format"] = FORMAT
    return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"))


def load(state: str, pdef: ProcessDef) -> BpmnWorkflow:
    dct = json.loads(state)
    dct.pop("format", None)
    dct["typename"] = "BpmnWorkflow"
    return _SERIALIZER.registry.restore(dct, pdef=pdef)
