"""Stops are cheap: a diagram that never waits is stopped by structural bounds (nesting depth, how far
one run grows a branch, steps), counted in steps, never timed. The benchmark that measures the
CPU it costs (bench/runaway.py) still runs."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from handlers import REGISTRY
from orderflow.engine import Runaway, Runtime, compile_bundle
from orderflow.engine.runtime import MAX_NESTING, MAX_RUN_GROWTH, MAX_RUN_TASKS
from tests.support import bpmn_samples as samples
from tests.support.helpers import Api

ROOT = Path(__file__).resolve().parent.parent
RECURSION = ROOT / "tests/corpus/spiff/tests/bpmn/call_activity_nested/call_activity_level_3.bpmn"
WIDE = samples.process('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:scriptTask id="each"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>100000</bpmn:loopCardinality>
    </bpmn:multiInstanceLoopCharacteristics><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="each"/>
  <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="end"/>''', "wide")


def _start(xml: str, key: str) -> tuple[Runaway, object]:
    pdef = next(d for d in compile_bundle({"case.bpmn": xml}, REGISTRY, lambda k: None) if d.key == key)
    runtime = Runtime(REGISTRY)
    workflow = runtime.new(pdef, None)
    with pytest.raises(Runaway) as stopped:
        runtime.start(workflow, {})
    return stopped.value, workflow


def test_a_call_activity_calling_itself_is_stopped_at_the_nesting_bound():
    stopped, workflow = _start(RECURSION.read_text(), "Level3")
    assert "sub-processes more than 25 deep" in str(stopped.message)
    # the whole run took a few steps per level, not the hundreds the old bound (500 sub-processes) let run
    assert len(workflow.subprocesses) <= MAX_NESTING + 2
    assert stopped.steps <= 2 * (MAX_NESTING + 2)


def test_a_loop_is_stopped_by_how_far_one_run_grows_and_again_on_retry():
    stopped, workflow = _start(samples.LOOP_FOREVER, "looping")
    assert "steps without waiting" in str(stopped.message) and stopped.element_id in {"count", "merge"}
    assert stopped.steps <= MAX_RUN_GROWTH + 2
    runtime = Runtime(REGISTRY)
    with pytest.raises(Runaway) as again:  # a manager's retry runs another bounded stretch, no more
        runtime.resume(workflow)
    assert again.value.steps <= MAX_RUN_GROWTH + 2


def test_a_multi_instance_of_thousands_is_stopped_by_the_tasks_one_run_may_add():
    stopped, workflow = _start(WIDE, "wide")
    assert stopped.element_id == "each" and stopped.steps <= MAX_RUN_TASKS + 5
    assert len(workflow.tasks) <= MAX_RUN_TASKS + 10


def test_the_recursing_corpus_diagram_becomes_an_incident_through_the_api(api: Api):
    resp = api.client.post("/api/v1/processes", data=RECURSION.read_bytes(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json
    started = api.post("admin", "/api/v1/processes/Level3/instances", {"data": {}})
    assert started.status_code == 201, started.json
    detail = api.get("manager1", f"/api/v1/instances/{started.json['id']}").json
    assert [i["element_id"] for i in detail["incidents"]] == ["StartEvent_1"]
    assert "calls its own process" in detail["incidents"][0]["message"]


def test_the_runaway_benchmark_runs():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "runaway.py"), "--repeat", "1", "--skip-old"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = dict(re.findall(r"^(recursion|loop|wide)\s+(\d+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+-$", done.stdout, re.M))
    assert set(rows) == {"recursion", "loop", "wide"}, done.stdout
    assert 0 < int(rows["recursion"]) < int(rows["loop"]), done.stdout
