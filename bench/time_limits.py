"""What the order flow's time limits cost the engine: task-tree size, stored state and time per step.

Every user step of processes/order_flow.bpmn carries its time limit as a non-interrupting boundary
timer (sla_<step>) with an escalation path (escalate_<step> → escalated_<step>). This drives the
same happy path as bench/throughput.py's bare run, with the service's spec-by-reference store
(orderflow.engine.store dump/load around every step), twice: the diagram as shipped, and the same
diagram with those timers and paths removed in memory — what the engine would carry if a time limit
were a property of the task (a due time on the task row, escalated by a scheduler job) instead of
part of the diagram. The shipped diagram is not changed.

Prints, per variant: orders/s and CPU ms per user step (process time, best of --repeat), tasks in a
finished order's tree, bytes of its stored state, task specs in the parsed process.
Usage: python bench/time_limits.py [--orders 20] [--repeat 3]
"""
from __future__ import annotations

import argparse
import re
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
TIME_LIMIT_IDS = re.compile(r"(flow_)?(sla|escalate|escalated)_")


def without_time_limits(xml: bytes) -> bytes:
    """The diagram without its boundary timers and escalation paths (elements, flows, lane refs, DI)."""
    root = etree.fromstring(xml)
    doomed = {el.get("id") for el in root.iter() if TIME_LIMIT_IDS.match(el.get("id") or "")}
    for el in list(root.iter()):
        if el.getparent() is not None and (el.get("id") in doomed or el.get("bpmnElement") in doomed
                                           or (str(el.tag).endswith("flowNodeRef") and el.text in doomed)):
            el.getparent().remove(el)
    return etree.tostring(root)


def run(xml: bytes, orders: int) -> tuple[float, float, int, int, int]:
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
        tasks, size = len(workflow.get_tasks()), len(state)
    spent = time.process_time() - began
    return orders / spent, spent / steps * 1000, tasks, size, len(pdef.spec.task_specs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'variant':24} {'orders/s':>9} {'ms/step':>8} {'tasks':>6} {'state B':>8} {'specs':>6}")
    for label, xml in (("boundary timers (now)", SOURCE), ("limits as task property", without_time_limits(SOURCE))):
        rate, per_step, tasks, size, specs = max((run(xml, args.orders) for _ in range(args.repeat)),
                                                 key=lambda r: r[0])
        print(f"{label:24} {rate:9.1f} {per_step:8.2f} {tasks:6d} {size:8d} {specs:6d}")


if __name__ == "__main__":
    main()
