"""What the order flow's time limits cost the engine: task-tree size, stored state and time per step.

Every user step of processes/order_flow.bpmn carries its time limit as its ``sla`` property: the
service's own SLA job escalates it (a due time on the task row, a scheduler job), nothing of it is in
the engine's task tree. Until 2026-12-07 each was a non-interrupting boundary timer (sla_<step>) with
an escalation path (escalate_<step> → escalated_<step>, the ``escalate_overdue`` handler). This drives
the same happy path as bench/throughput.py's bare run, with the service's spec-by-reference store
(orderflow.engine.store dump/load around every step), twice: the diagram with those timers and paths
put back in memory (what tools/bpmn/bpmn_gen.py's ``sla_style="timer"`` writes), and the diagram as
shipped. The shipped diagram is not changed.

Prints, per variant: orders/s and CPU ms per user step (process time, best of --repeat), tasks in a
finished order's tree, bytes of its stored state, task specs in the parsed process.
Usage: python bench/time_limits.py [--orders 20] [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import throughput  # noqa: E402
from lxml import etree  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from orderflow.engine import store  # noqa: E402
from tests.support.helpers import NEW_ORDER  # noqa: E402

SOURCE = (ROOT / "processes" / "order_flow.bpmn").read_bytes()
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _sub(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    ns, name = tag.split(":")
    el = etree.SubElement(parent, f"{{{BPMN if ns == 'bpmn' else SPIFF}}}{name}", attrs)
    el.text = text
    return el


def with_boundary_timers(xml: bytes) -> bytes:
    """The diagram as it was drawn before: each user task's ``sla`` property taken off and put back as
    a non-interrupting boundary timer → escalate_overdue service task → end event (semantics and lane
    refs; the engine reads no DI)."""
    root = etree.fromstring(xml)
    process = root.find(f"{{{BPMN}}}process")
    lanes = {ref.text: ref.getparent() for ref in root.iter(f"{{{BPMN}}}flowNodeRef")}
    for task in list(process.iter(f"{{{BPMN}}}userTask")):
        prop = task.find(f".//{{{SPIFF}}}property[@name='sla']")
        if prop is None:
            continue
        sla, tid = prop.get("value"), task.get("id")
        prop.getparent().remove(prop)
        timer = _sub(process, "bpmn:boundaryEvent", id=f"sla_{tid}", attachedToRef=tid, cancelActivity="false")
        _sub(timer, "bpmn:outgoing", f"flow_sla_{tid}_to_escalate_{tid}")
        definition = _sub(timer, "bpmn:timerEventDefinition", id=f"sla_{tid}_definition")
        _sub(definition, "bpmn:timeDuration", sla).set(f"{{{XSI}}}type", "bpmn:tFormalExpression")
        esc = _sub(process, "bpmn:serviceTask", id=f"escalate_{tid}", name="Escalate overdue")
        op = _sub(_sub(esc, "bpmn:extensionElements"), "spiffworkflow:serviceTaskOperator", id="escalate_overdue",
                  resultVariable="escalation")
        _sub(_sub(op, "spiffworkflow:parameters"), "spiffworkflow:parameter", id="step", type="any", value=f'"{tid}"')
        _sub(esc, "bpmn:incoming", f"flow_sla_{tid}_to_escalate_{tid}")
        _sub(esc, "bpmn:outgoing", f"flow_escalate_{tid}_to_escalated_{tid}")
        end = _sub(process, "bpmn:endEvent", id=f"escalated_{tid}", name="Escalated")
        _sub(end, "bpmn:incoming", f"flow_escalate_{tid}_to_escalated_{tid}")
        _sub(process, "bpmn:sequenceFlow", id=f"flow_sla_{tid}_to_escalate_{tid}", sourceRef=f"sla_{tid}",
             targetRef=f"escalate_{tid}")
        _sub(process, "bpmn:sequenceFlow", id=f"flow_escalate_{tid}_to_escalated_{tid}",
             sourceRef=f"escalate_{tid}", targetRef=f"escalated_{tid}")
        for ref in (f"sla_{tid}", f"escalate_{tid}", f"escalated_{tid}"):
            _sub(lanes[tid], "bpmn:flowNodeRef", ref)
    return etree.tostring(root)


def run(xml: bytes, orders: int) -> tuple[float, float, int, int, int, int]:
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(xml), filename="order_flow.bpmn")
    parser.add_dmn_file(str(ROOT / "processes" / "approval_level.dmn"))
    pdef = SimpleNamespace(spec=parser.get_spec("order_flow"),
                           subprocess_specs=parser.get_subprocess_specs("order_flow"))
    engine = throughput._Engine(environment=throughput._Env())
    forms = throughput._form_keys()
    steps, began = 0, time.process_time()
    tasks = size = 0
    for _ in range(orders):
        workflow = BpmnWorkflow(pdef.spec, pdef.subprocess_specs, script_engine=engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(NEW_ORDER)
        workflow.do_engine_steps()
        state = store.dump(workflow)
        while True:
            workflow = store.load(state, pdef)  # type: ignore[arg-type]
            workflow.script_engine = engine
            ready = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
            if not ready:
                break
            task = ready[0]
            schema = throughput.FORMS[forms[task.task_spec.bpmn_id]]
            task.data.update(throughput.form_data(schema, task.data))
            task.run()
            workflow.do_engine_steps()
            state = store.dump(workflow)
            steps += 1
        assert workflow.is_completed()
        tasks, size = len(workflow.get_tasks()), store.json_length(state)
    spent = time.process_time() - began
    return orders / spent, spent / steps * 1000, tasks, size, len(pdef.spec.task_specs), len(state)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    # state B: the JSON of a finished order's state; stored B: as the service stores it (compressed)
    print(f"{'variant':25} {'orders/s':>9} {'ms/step':>8} {'tasks':>6} {'state B':>8} {'specs':>6} {'stored B':>9}")
    for label, xml in (("boundary timers (before)", with_boundary_timers(SOURCE)), ("sla property (now)", SOURCE)):
        rate, per_step, tasks, size, specs, stored = max((run(xml, args.orders) for _ in range(args.repeat)),
                                                         key=lambda r: r[0])
        print(f"{label:25} {rate:9.1f} {per_step:8.2f} {tasks:6d} {size:8d} {specs:6d} {stored:9d}")


if __name__ == "__main__":
    main()
