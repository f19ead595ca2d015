"""Which people's steps come right before each step of a process, read from its sequence flows.

The what-if preview (orderflow/workflow/what_if.py) sends a new step the orders that reached the
steps before it. Walking back from a user task passes through everything that is not a user task
(gateways, events, service and script tasks), from a task inside an embedded sub-process out to the
sub-process's own incoming flows, and from a boundary event to the task it sits on; it stops at a
user task or at the process's start (``START``). Conditions are not evaluated: every branch counts.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from orderflow.engine.specs import ProcessDef
from orderflow.engine.xmlinfo import NS, process_element

_SUBPROCESSES = ("subProcess", "transaction", "adHocSubProcess")
START = ""   # stands for the process's start among a step's predecessors
_BPMN = f"{{{NS['bpmn']}}}"


def steps_before(pdef: ProcessDef) -> dict[str, frozenset[str]]:
    """Each user task's id -> the ids of the user tasks (and ``START``) an order passes right before it."""
    process = process_element(pdef.sources, pdef.key)
    if process is None:
        return {}
    incoming: dict[str, list[str]] = defaultdict(list)
    kinds: dict[str, str] = {}
    parent: dict[str, str] = {}      # element -> the embedded sub-process holding it
    attached: dict[str, str] = {}    # boundary event -> the activity it sits on

    def visit(container: Any, owner: str | None) -> None:
        for child in container:
            tag = child.tag.removeprefix(_BPMN) if isinstance(child.tag, str) else ""
            ident = child.get("id")
            if not ident:
                continue
            if tag == "sequenceFlow":
                if child.get("sourceRef") and child.get("targetRef"):
                    incoming[child.get("targetRef")].append(child.get("sourceRef"))
                continue
            kinds[ident] = tag
            if owner is not None:
                parent[ident] = owner
            if tag == "boundaryEvent" and child.get("attachedToRef"):
                attached[ident] = child.get("attachedToRef")
            if tag in _SUBPROCESSES:
                visit(child, ident)

    visit(process, None)
    ends: dict[str, list[str]] = defaultdict(list)   # sub-process -> its end events
    for ident, owner in parent.items():
        if kinds[ident] == "endEvent":
            ends[owner].append(ident)
    graph = _Graph(incoming, kinds, parent, attached, ends)
    return {ident: frozenset(graph.walk_back(ident)) for ident, kind in kinds.items() if kind == "userTask"}


@dataclass
class _Graph:
    incoming: dict[str, list[str]]
    kinds: dict[str, str]
    parent: dict[str, str]
    attached: dict[str, str]
    ends: dict[str, list[str]]

    def walk_back(self, step: str) -> set[str]:
        found: set[str] = set()
        seen = {step}
        todo = self.sources(step)
        while todo:   # bounded by the elements of the diagram: each is looked at once
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            kind = self.kinds.get(node)
            if kind == "userTask":
                found.add(node)
            elif node in self.attached:            # a boundary event: the activity it sits on
                todo.append(self.attached[node])
            elif kind == "startEvent" and node not in self.parent:
                found.add(START)
            elif kind in _SUBPROCESSES and self.ends.get(node):   # out of a sub-process: from its ends
                todo.extend(self.ends[node])
            else:
                todo.extend(self.sources(node))
        return found

    def sources(self, node: str) -> list[str]:
        """Where an order comes from into ``node``: its incoming flows or, with none (a sub-process's
        start), the sub-process's own."""
        seen = set()
        while not self.incoming.get(node) and node in self.parent and node not in seen:
            seen.add(node)
            node = self.parent[node]
        return list(self.incoming.get(node, ()))


