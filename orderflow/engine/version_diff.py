"""What changed between two versions of a process: elements, groups, flows and sub-processes.

ElementInfo (read from the XML) gives the attributes people know (name, group, form, time limit...);
SpiffWorkflow's ``SpecDiff`` adds what only the engine sees (scripts, parameters, messages) and
matches an element whose id changed but whose place in the flow did not.
"""
from __future__ import annotations

import copy
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from orderflow.engine.model import ElementInfo
from orderflow.engine.service_tasks import DeferrableServiceTask
from orderflow.engine.specs import ProcessDef
from orderflow.engine.xmlinfo import NS, process_element

# ElementInfo attributes compared between versions (the group is reported as a move)
_ATTRIBUTES = (("name", "name"), ("kind", "kind"), ("form", "form_key"), ("sla", "sla"), ("handler", "handler"),
               ("timer", "timer"), ("signature", "signature"), ("async", "asynchronous"), ("retry", "retry"),
               ("signature_meaning", "signature_meaning"), ("signature_requested_by", "signature_requested_by"),
               ("requires_signature", "requires_signature_of"))
# serialized spec attributes that ElementInfo or the flow diff already report, or that are internal
_SPIFF_IGNORED = {"name", "description", "bpmn_name", "lane", "inputs", "outputs", "extensions", "typename",
                  "lookahead", "manual", "cond_task_specs", "default_task_spec", "operation_name", "bpmn_id"}


def _make_registry():
    """The store's converters plus one for our service task class: the store never converts specs
    (it keeps them by reference), but SpiffWorkflow's diff compares specs in their converted form."""
    config = copy.deepcopy(SPIFF_CONFIG)
    config[DeferrableServiceTask] = config[ServiceTask]
    return BpmnWorkflowSerializer.configure(config)


REGISTRY = _make_registry()


def _element(info: ElementInfo) -> dict[str, Any]:
    return {"element_id": info.element_id, "name": info.name, "kind": info.kind, "group": info.group}


# -- what changed between two versions ----------------------------------------------------------------

def diff_definitions(old: ProcessDef, new: ProcessDef) -> dict[str, Any]:
    """Elements added, removed, changed (attribute, from, to) and moved between groups; flows too."""
    spec_diff = SpecDiff(REGISTRY, old.spec, new.spec)
    renamed = {o.bpmn_id: n.bpmn_id for o, n in spec_diff.alignment.items()
               if n is not None and o.bpmn_id and n.bpmn_id and o.bpmn_id != n.bpmn_id
               and o.bpmn_id in old.elements and n.bpmn_id in new.elements}
    pairs = {eid: eid for eid in old.elements if eid in new.elements}
    pairs.update({o: n for o, n in renamed.items() if o not in new.elements and n not in old.elements})
    matched_new = set(pairs.values())
    changed, moved = [], []
    for old_id, new_id in pairs.items():
        before, after = old.elements[old_id], new.elements[new_id]
        changes = [{"attribute": "id", "from": old_id, "to": new_id}] if old_id != new_id else []
        changes += [{"attribute": label, "from": getattr(before, attr), "to": getattr(after, attr)}
                    for label, attr in _ATTRIBUTES if getattr(before, attr) != getattr(after, attr)]
        changes += _engine_changes(old, old_id, new, new_id, {c["attribute"] for c in changes})
        if changes:
            changed.append({**_element(after), "old_element_id": old_id, "changes": changes})
        if before.group != after.group:
            moved.append({**_element(after), "from_group": before.group, "to_group": after.group})
    return {
        "added": [_element(e) for eid, e in new.elements.items() if eid not in matched_new],
        "removed": [_element(e) for eid, e in old.elements.items() if eid not in pairs],
        "changed": changed,
        "moved": moved,
        "flows": _named(_diff_flows(_flows(old), _flows(new)), old, new),
        "subprocesses": _diff_subprocesses(old, new),
    }


def _engine_changes(old: ProcessDef, old_id: str, new: ProcessDef, new_id: str,
                    known: set[str]) -> list[dict[str, Any]]:
    """Attributes only the engine sees (scripts, parameters, messages...), as SpiffWorkflow converts specs."""
    old_spec, new_spec = old.spec.task_specs.get(old_id), new.spec.task_specs.get(new_id)
    if old_spec is None or new_spec is None:
        return []
    first, second = REGISTRY.convert(old_spec), REGISTRY.convert(new_spec)
    changes = []
    for key in sorted(set(first) | set(second)):
        if key in _SPIFF_IGNORED or key in known:
            continue
        a, b = first.get(key), second.get(key)
        if key == "event_definition":  # its name is the element's name, reported already
            a, b = without_name(a), without_name(b)
            if "timer" in known:
                continue
        if a != b:
            changes.append({"attribute": key, "from": a, "to": b})
    return changes


def without_name(value: Any) -> Any:
    return {k: v for k, v in value.items() if k != "name"} if isinstance(value, dict) else value


def _flows(pdef: ProcessDef) -> dict[str, dict[str, Any]]:
    """Sequence flows of the process (and its embedded sub-processes): id -> source, target, condition."""
    process = process_element(pdef.sources, pdef.key)
    flows = {}
    for flow in process.iter(f"{{{NS['bpmn']}}}sequenceFlow") if process is not None else ():
        condition = flow.find("bpmn:conditionExpression", NS)
        flows[flow.get("id")] = {
            "flow_id": flow.get("id"), "name": flow.get("name") or None,
            "source": flow.get("sourceRef"), "target": flow.get("targetRef"),
            "condition": (condition.text or "").strip() or None if condition is not None else None}
    return flows


def _diff_flows(old: dict[str, dict], new: dict[str, dict]) -> dict[str, list]:
    changed = []
    for fid in old.keys() & new.keys():
        changes = [{"attribute": k, "from": old[fid][k], "to": new[fid][k]}
                   for k in ("name", "source", "target", "condition") if old[fid][k] != new[fid][k]]
        if changes:
            changed.append({**new[fid], "changes": changes})
    return {"added": [new[f] for f in new if f not in old], "removed": [old[f] for f in old if f not in new],
            "changed": sorted(changed, key=lambda c: c["flow_id"])}


def _named(flows: dict[str, list], old: ProcessDef, new: ProcessDef) -> dict[str, list]:
    """Each flow with the names of the steps it joins (as drawn), so people read "Review order ->
    Approve", not two ids; a removed flow's from the version it was in."""
    def names(flow: dict[str, Any], pdef: ProcessDef) -> dict[str, Any]:
        source, target = pdef.elements.get(flow["source"]), pdef.elements.get(flow["target"])
        return {**flow, "source_name": source.name if source else None, "target_name": target.name if target else None}
    return {"added": [names(f, new) for f in flows["added"]], "removed": [names(f, old) for f in flows["removed"]],
            "changed": [names(f, new) for f in flows["changed"]]}


def _diff_subprocesses(old: ProcessDef, new: ProcessDef) -> dict[str, list[str]]:
    changed = [name for name in old.subprocess_specs if name in new.subprocess_specs
               and _spec_changed(old.subprocess_specs[name], new.subprocess_specs[name])]
    return {"added": sorted(n for n in new.subprocess_specs if n not in old.subprocess_specs),
            "removed": sorted(n for n in old.subprocess_specs if n not in new.subprocess_specs),
            "changed": sorted(changed)}


def _spec_changed(old_spec: BpmnProcessSpec, new_spec: BpmnProcessSpec) -> bool:
    diff = SpecDiff(REGISTRY, old_spec, new_spec)
    return bool(diff.added or diff.removed or diff.changed)
