"""Timer cycles have a minimum period (ORDERFLOW_MIN_TIMER_CYCLE), a cycle that fell behind fires
once, and a timer's text is bounded before it is parsed (issue 13). Time moves by the service
clock (the ``clock`` fixture), never by sleeping."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from orderflow.core.models import AuditEvent
from orderflow.workflow import jobs
from tests.support.bpmn_samples import process
from tests.support.helpers import Api


def timer_start(cycle: str, pid: str = "cycled") -> str:
    return process(f'''
  <bpmn:startEvent id="tick" name="Tick"><bpmn:outgoing>f1</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
  <bpmn:scriptTask id="report" name="Report"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:script>reported = True</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="tick" targetRef="report"/>
  <bpmn:sequenceFlow id="f2" sourceRef="report" targetRef="end"/>''', pid)


def reminder(kind: str = "timeCycle", value: str = "every", pid: str = "reminding") -> str:
    """A user task with a non-interrupting timer whose value comes from the start data (``every``)."""
    return process(f'''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="approve" name="Approve"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:boundaryEvent id="nudge" attachedToRef="approve" cancelActivity="false"><bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:boundaryEvent>
  <bpmn:endEvent id="nudged"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
  <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  <bpmn:sequenceFlow id="f3" sourceRef="nudge" targetRef="nudged"/>''', pid)


def deploy(api: Api, xml: str):
    return api.client.post("/api/v1/processes", data=xml.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})


def run_jobs(app) -> int:
    return jobs.run_due(app.extensions["orderflow.db"], "test-worker")


def fired(app, instance_id: int) -> int:
    with app.extensions["orderflow.db"].session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.instance_id == instance_id, AuditEvent.action == "timer_fired"))


def reports(app, instance_id: int) -> int:
    """How many times the timer start's path ran (each firing runs 'report' once)."""
    from orderflow.core.models import Instance
    from orderflow.workflow import runs
    with app.extensions["orderflow.db"].session() as s:
        _pdef, workflow = runs.load(s, s.get(Instance, instance_id), None)
        return sum(1 for t in workflow.get_tasks() if t.task_spec.name == "report")


def scheduled(api: Api, pid: str) -> dict:
    [waiting] = api.get("manager1", f"/api/v1/instances?process={pid}").json["items"]
    return waiting


@pytest.mark.parametrize("cycle", ["R/PT0S", "R5/PT0.001S", "R/P0D", "R100000/PT0.5S", "R/PT59S"])
def test_a_cycle_faster_than_the_minimum_is_refused_at_deploy_naming_the_element(api: Api, cycle: str):
    resp = deploy(api, timer_start(cycle))
    assert resp.status_code == 422, resp.json
    problems = resp.json["error"]["problems"]
    assert any(p["element_id"] == "tick" and "ORDERFLOW_MIN_TIMER_CYCLE" in p["message"] for p in problems), problems
    assert api.get("manager1", "/api/v1/instances?process=cycled").json["items"] == []


@pytest.mark.parametrize("value", ["R/P" + "1" * 100_000 + "Y", "P" + "1" * 100_000 + "Y", "2026-01-01T" + "0" * 50_000])
def test_an_endless_timer_text_is_refused_before_parsing(api: Api, value: str):
    kind = "timeCycle" if value.startswith("R") else "timeDuration" if value.startswith("P") else "timeDate"
    resp = deploy(api, reminder(kind, value))
    assert resp.status_code == 422
    problems = resp.json["error"]["problems"]
    assert any(p["element_id"] == "nudge" and "longer than 100 characters" in p["message"] for p in problems), problems


def test_a_single_firing_and_the_minimum_itself_are_allowed(api: Api):
    assert deploy(api, timer_start("R1/PT0S", "once")).status_code == 201
    assert deploy(api, timer_start("R/PT1M", "minutely")).status_code == 201


def test_the_minimum_is_a_setting(app, api: Api):
    app.config["ORDERFLOW_MIN_TIMER_CYCLE"] = "PT1H"
    resp = deploy(api, timer_start("R/PT30M"))
    assert resp.status_code == 422
    assert "1 hour(s)" in str(resp.json["error"]["problems"])
    assert deploy(api, timer_start("R/PT2H")).status_code == 201


def test_the_lint_and_the_deploy_check_agree(api: Api):
    from orderflow.engine.lint import _check_timer
    assert "ORDERFLOW_MIN_TIMER_CYCLE" in _check_timer("R/PT0S")
    assert _check_timer("R/PT5M") is None
    checked = api.client.post("/api/v1/processes/check", data=timer_start("R/PT0S").encode(),
                              headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert checked.json["ok"] is False  # the check no longer says ok to what deploy then runs in a loop
    assert any(p["element_id"] == "tick" and "ORDERFLOW_MIN_TIMER_CYCLE" in p["message"]
               for p in checked.json["problems"]), checked.json


def test_a_cycle_that_fell_behind_fires_once_then_keeps_its_beat(app, api: Api, clock):
    assert deploy(api, timer_start("R/PT1H", "hourly")).status_code == 201
    waiting = scheduled(api, "hourly")
    clock.advance(days=1)                    # the service was down for a day
    while run_jobs(app):
        pass
    assert reports(app, waiting["id"]) == 1  # one catch-up, not 24 firings in one transaction
    clock.advance(minutes=30)
    run_jobs(app)
    assert reports(app, waiting["id"]) == 1
    clock.advance(minutes=31)
    while run_jobs(app):
        pass
    assert reports(app, waiting["id"]) == 2 and fired(app, waiting["id"]) == 2


def test_a_cycle_computed_from_data_that_is_too_fast_fails_its_step_naming_the_element(api: Api, clock):
    assert deploy(api, reminder()).status_code == 201
    resp = api.post("admin", "/api/v1/processes/reminding/instances", {"data": {"every": "R/PT0S"}})
    assert resp.status_code in (409, 422), resp.json
    assert "nudge" in resp.json["error"]["message"] and "ORDERFLOW_MIN_TIMER_CYCLE" in resp.json["error"]["message"]
    ok = api.post("admin", "/api/v1/processes/reminding/instances", {"data": {"every": "R3/PT1H"}})
    assert ok.status_code == 201, ok.json


def test_a_huge_duration_from_data_fails_its_step(api: Api):
    assert deploy(api, reminder("timeDuration", "wait", "waiting")).status_code == 201
    resp = api.post("admin", "/api/v1/processes/waiting/instances", {"data": {"wait": "P" + "1" * 5_000 + "Y"}})
    assert resp.status_code in (409, 422), resp.json
    assert "nudge" in resp.json["error"]["message"]


def test_a_stored_cycle_below_a_raised_minimum_becomes_an_incident_not_a_loop(app, api: Api, clock):
    app.config["ORDERFLOW_MIN_TIMER_CYCLE"] = "PT10S"
    assert deploy(api, timer_start("R/PT30S", "fast")).status_code == 201
    waiting = scheduled(api, "fast")
    app.config["ORDERFLOW_MIN_TIMER_CYCLE"] = "PT1M"  # the operator raises the bound
    clock.advance(seconds=31)
    while run_jobs(app):
        pass
    assert reports(app, waiting["id"]) == 0
    incidents = api.get("manager1", f"/api/v1/instances/{waiting['id']}").json["incidents"]
    assert incidents and "tick" in str(incidents) and "ORDERFLOW_MIN_TIMER_CYCLE" in str(incidents), incidents


def test_a_mistyped_setting_keeps_the_default():
    from orderflow.engine.timer_limits import setting_seconds
    assert setting_seconds({"ORDERFLOW_MIN_TIMER_CYCLE": "one minute"}) == 60.0
    assert setting_seconds({"ORDERFLOW_MIN_TIMER_CYCLE": "PT5M"}) == 300.0
