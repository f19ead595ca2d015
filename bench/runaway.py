"""Runaway diagrams: how much CPU the service spends before its bounds stop them.

Three diagrams that never wait: a call activity that calls its own process (tests/corpus,
call_activity_level_3.bpmn), a script loop (tests/support/bpmn_samples.LOOP_FOREVER) and a sequential
multi-instance of 20,000 items. Each runs:

  service   the service's Runtime: stopped by its nesting / per-run growth / step bounds
  bare      SpiffWorkflow 3.2.0 alone, stopped by a callback after the same number of steps
  old       the bound the service used before (500 open sub-processes, 900 tasks deep, 5000 steps)

CPU seconds (time.process_time), best of --repeat runs, and the ratio service/bare (goal: near 1;
the point is that a runaway costs well under a second, see README "Speed").
Usage: python bench/runaway.py [--repeat N]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import contextlib  # noqa: E402

from lxml import etree  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402

from handlers import REGISTRY  # noqa: E402
from orderflow.engine import Runaway, Runtime, Services, compile_bundle  # noqa: E402
from tests.support import bpmn_samples  # noqa: E402

WIDE = bpmn_samples.process('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:scriptTask id="each"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>20000</bpmn:loopCardinality>
    </bpmn:multiInstanceLoopCharacteristics><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="each"/>
  <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="end"/>''', "wide")

CASES = {
    "recursion": ("Level3", (ROOT / "tests/corpus/spiff/tests/bpmn/call_activity_nested/"
                             "call_activity_level_3.bpmn").read_text()),
    "loop": ("looping", bpmn_samples.LOOP_FOREVER),
    "wide": ("wide", WIDE),
}


class _Stop(Exception):
    pass


def service(key: str, xml: str) -> tuple[float, int]:
    pdef = next(d for d in compile_bundle({"case.bpmn": xml}, REGISTRY, lambda k: None) if d.key == key)
    runtime = Runtime(REGISTRY)
    workflow = runtime.new(pdef, Services())
    began = time.process_time()
    try:
        steps = runtime.start(workflow, {})
    except Runaway as exc:
        steps = exc.steps
    return time.process_time() - began, steps


def bare(key: str, xml: str, steps: int | None = None, subprocesses: int | None = None,
         depth: int | None = None) -> tuple[float, int]:
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(xml.encode()), filename="case.bpmn")
    workflow = BpmnWorkflow(parser.get_spec(key), parser.get_subprocess_specs(key))
    count = 0

    def bound(task) -> None:
        nonlocal count
        count += 1
        if (steps is not None and count >= steps) or \
                (subprocesses is not None and len(workflow.subprocesses) > subprocesses) or \
                (depth is not None and task.depth > depth):
            raise _Stop()
    began = time.process_time()
    with contextlib.suppress(_Stop):
        workflow.do_engine_steps(did_complete_task=bound)
    return time.process_time() - began, count


def best(run, repeat: int) -> tuple[float, int]:
    results = [run() for _ in range(repeat)]
    return min(r[0] for r in results), results[0][1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-old", action="store_true", help="do not measure the old bound (slow)")
    args = parser.parse_args()
    print(f"{'case':<10} {'steps':>6} {'service_s':>10} {'bare_s':>8} {'ratio':>6} {'old_s':>8}")
    for name, (key, xml) in CASES.items():
        cpu, steps = best(lambda key=key, xml=xml: service(key, xml), args.repeat)
        bare_cpu, _ = best(lambda key=key, xml=xml, steps=steps: bare(key, xml, steps=steps), args.repeat)
        old = "-" if args.skip_old else f"{bare(key, xml, steps=5000, subprocesses=500, depth=900)[0]:.3f}"
        print(f"{name:<10} {steps:>6} {cpu:>10.3f} {bare_cpu:>8.3f} {cpu / max(bare_cpu, 1e-6):>6.2f} {old:>8}")


if __name__ == "__main__":
    main()
