"""Event elements of the README's support table, through the API with the service clock:
event-based gateways, event sub-processes (message, timer, error, escalation), message start
events with a start form, conditional events; and the SpiffWorkflow 3.2 faults fixed in
orderflow/engine/events.py, each shown on the stock engine first."""
from __future__ import annotations

import io
import json

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from orderflow.engine.scripting import SafeScriptEngine
from orderflow.engine.service_tasks import OrderflowParser
from tests.support import event_samples as ev
from tests.support.helpers import run_jobs


def deploy(api, xml: str, forms: dict | None = None) -> None:
    files = [(io.BytesIO(xml.encode()), "events.bpmn")]
    files += [(io.BytesIO(json.dumps(schema).encode()), name) for name, schema in (forms or {}).items()]
    resp = api.client.post("/api/v1/processes", data={"files": files}, headers=api.auth("owner1"),
                           content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json


def start(api, key: str, data: dict | None = None) -> int:
    resp = api.post("admin", f"/api/v1/processes/{key}/instances", {"data": data or {}})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def detail(api, instance_id: int) -> dict:
    resp = api.get("manager1", f"/api/v1/instances/{instance_id}")
    assert resp.status_code == 200, resp.json
    return resp.json


def message(api, name: str, correlation: dict, payload: dict | None = None):
    return api.post("bank1", f"/api/v1/messages/{name}", {"correlation": correlation, "payload": payload or {}})


def complete(api, instance_id: int, element_id: str, data: dict) -> dict:
    task = next(t for t in detail(api, instance_id)["open_tasks"] if t["element_id"] == element_id)
    resp = api.post("owner1", f"/api/v1/tasks/{task['id']}/complete", {"data": data})
    assert resp.status_code == 200, resp.json
    return detail(api, instance_id)


# -- event-based gateway -------------------------------------------------------

def test_event_based_gateway_waits_for_its_message_and_lists_every_branch(api):
    deploy(api, ev.EVENT_GATEWAY)
    first, second = start(api, "gatewayed", {"order_ref": "A"}), start(api, "gatewayed", {"order_ref": "B"})
    waits = {w["element_id"]: w for w in detail(api, first)["waits"]}
    assert waits["got_approval"]["kind"] == "message" and waits["got_approval"]["correlation"] == {"order_ref": "A"}
    assert waits["an_hour"]["kind"] == "timer" and waits["an_hour"]["due_at"]
    assert waits["got_stop"]["kind"] == "signal" and waits["got_stop"]["name"] == "stop"
    resp = message(api, "approval", {"order_ref": "A"})
    assert resp.status_code == 200, resp.json
    assert resp.json["instance_id"] == first and resp.json["element_id"] == "got_approval"
    after = detail(api, first)
    assert after["data"]["path"] == "message" and after["waits"] == []
    assert "path" not in detail(api, second)["data"]  # the other order still waits


def test_event_based_gateway_timer_fires_on_the_service_clock(app, api, clock):
    deploy(api, ev.EVENT_GATEWAY)
    instance_id = start(api, "gatewayed", {"order_ref": "A"})
    clock.advance(minutes=59)
    run_jobs(app)
    assert "path" not in detail(api, instance_id)["data"]
    clock.advance(minutes=2)
    assert run_jobs(app) == 1
    after = detail(api, instance_id)
    assert after["data"]["path"] == "timer"
    # the branch not taken no longer listens
    assert message(api, "approval", {"order_ref": "A"}).status_code == 404


def test_event_based_gateway_takes_the_signal_thrown_in_the_instance(api):
    deploy(api, ev.EVENT_GATEWAY)
    instance_id = start(api, "gatewayed", {"order_ref": "A"})
    after = complete(api, instance_id, "stopper", {})
    assert after["data"]["path"] == "signal" and after["status"] == "completed"


# -- event sub-processes -------------------------------------------------------

def test_timer_event_subprocess_runs_beside_and_message_one_interrupts(app, api, clock):
    deploy(api, ev.EVENT_SUBPROCESSES)
    instance_id = start(api, "watched", {"order_ref": "A"})
    kinds = {(w["kind"], w["element_id"], w["starts"]) for w in detail(api, instance_id)["waits"]}
    assert ("message", "on_cancel_start", "on_cancel") in kinds and ("timer", "on_late_start", "on_late") in kinds
    clock.advance(hours=2, minutes=1)
    assert run_jobs(app) == 1
    late = detail(api, instance_id)
    assert late["data"]["reminded"] is True and [t["element_id"] for t in late["open_tasks"]] == ["work"]
    resp = message(api, "cancel_order", {"order_ref": "A"})
    assert resp.status_code == 200 and resp.json["element_id"] == "on_cancel_start", resp.json
    done = detail(api, instance_id)
    assert done["status"] == "completed" and done["data"]["cancelled"] is True and done["open_tasks"] == []


def test_error_and_escalation_event_subprocesses_start_only_on_their_event(api):
    deploy(api, ev.ERROR_SUBPROCESSES, ev.FORMS)
    quiet = start(api, "erring")
    assert detail(api, quiet)["data"] == {} and detail(api, quiet)["status"] == "running"
    assert complete(api, quiet, "work", {"outcome": "ok"})["status"] == "completed"
    escalated = start(api, "erring")
    after = complete(api, escalated, "work", {"outcome": "escalate"})
    assert after["status"] == "completed" and after["data"]["escalated"] is True and "handled" not in after["data"]
    failed = start(api, "erring")
    after = complete(api, failed, "work", {"outcome": "fail"})
    assert after["status"] == "completed" and after["data"]["handled"] is True
    # an instance started after an event sub-process ran still completes (the spec was not changed)
    again = start(api, "erring")
    after = complete(api, again, "work", {"outcome": "ok"})
    assert after["status"] == "completed" and "handled" not in after["data"]


def test_stock_parser_turns_error_start_events_into_none_starts():
    """SpiffWorkflow 3.2's own parser: the error event sub-process would run at once."""
    root = etree.fromstring(ev.ERROR_SUBPROCESSES.encode())
    stock, ours = SpiffBpmnParser(), OrderflowParser()
    stock.add_bpmn_xml(root, filename="e.bpmn")
    ours.add_bpmn_xml(etree.fromstring(ev.ERROR_SUBPROCESSES.encode()), filename="e.bpmn")
    stock_start = stock.get_subprocess_specs("erring")["on_error"].task_specs["on_error_start"]
    our_start = ours.get_subprocess_specs("erring")["on_error"].task_specs["on_error_start"]
    assert isinstance(stock_start.event_definition, NoneEventDefinition)
    assert not isinstance(our_start.event_definition, NoneEventDefinition)
    workflow = BpmnWorkflow(stock.get_spec("erring"), stock.get_subprocess_specs("erring"))
    workflow.do_engine_steps()
    assert workflow.get_next_task(spec_name="on_error_do", state=TaskState.COMPLETED) is not None


def test_stock_trigger_changes_the_shared_spec_so_later_instances_never_complete():
    def run(parser_class, outcomes):
        parser = parser_class()
        parser.add_bpmn_xml(etree.fromstring(ev.event_subprocesses(timer=False).encode()), filename="e.bpmn")
        spec, subs = parser.get_spec("watched"), parser.get_subprocess_specs("watched")
        done = []
        for cancel in outcomes:
            workflow = BpmnWorkflow(spec, subs, script_engine=SafeScriptEngine({}))
            workflow.do_engine_steps()
            if cancel:
                definition = subs["on_cancel"].task_specs["on_cancel_start"].event_definition
                workflow.send_event(BpmnEvent(definition, payload={"order_ref": "A"}))
                workflow.do_engine_steps()
            else:
                workflow.get_next_task(spec_name="work").run()
                workflow.do_engine_steps()
            done.append(workflow.is_completed())
        return done
    # stock: the interrupting message sub-process does not interrupt, and once it ran, the next instance
    # of the same spec waits for it forever
    assert run(SpiffBpmnParser, [False, True, False]) == [True, False, False]
    assert run(OrderflowParser, [False, True, False]) == [True, True, True]


def test_a_waiting_timer_event_subprocess_does_not_keep_a_finished_order_open(api):
    deploy(api, ev.EVENT_SUBPROCESSES)
    instance_id = start(api, "watched", {"order_ref": "A"})
    after = complete(api, instance_id, "work", {})
    assert after["status"] == "completed" and after["waits"] == []


# -- message start event with a start form -----------------------------------

def test_message_start_event_with_start_form_is_started_by_its_message(api):
    deploy(api, ev.MESSAGE_START_FORM, {"lead_form.json": ev.LEAD_FORM})
    resp = message(api, "new_lead", {"lead_ref": "L-1"}, {"company": "Acme"})
    assert resp.status_code == 200, resp.json
    started = detail(api, resp.json["instance_id"])
    assert started["data"] == {"lead_ref": "L-1", "company": "Acme"}
    assert [t["element_id"] for t in started["open_tasks"]] == ["call_back"]
    refused = message(api, "new_lead", {"lead_ref": "L-2"}, {})
    assert refused.status_code == 422 and "company" in refused.json["error"]["fields"], refused.json


# -- conditional events --------------------------------------------------------

def test_conditional_event_fires_when_the_data_makes_it_true(api):
    deploy(api, ev.CONDITIONAL, ev.FORMS)
    not_yet = start(api, "conditioned")
    assert detail(api, not_yet)["waits"][0] == {"kind": "condition", "element_id": "when_approved",
                                                "name": "approved == True", "due_at": None, "correlation": {},
                                                "starts": None}
    after = complete(api, not_yet, "approve", {"approved": False})
    assert "fired" not in after["data"] and after["status"] == "running"
    approved = start(api, "conditioned")
    after = complete(api, approved, "approve", {"approved": True})
    assert after["data"]["fired"] is True and after["status"] == "completed"


def test_stock_conditional_event_fails_on_data_it_does_not_have_yet():
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(ev.CONDITIONAL.encode()), filename="c.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("conditioned"), script_engine=SafeScriptEngine({}))
    try:
        workflow.do_engine_steps()
    except Exception as exc:
        assert "approved" in str(exc) or "approved" in str(getattr(exc, "exception", ""))
    else:
        raise AssertionError("stock SpiffWorkflow evaluated a condition over data it does not have")


# -- messages: bad input is a 4xx naming the field ---------------------------

def test_a_message_lacking_its_correlation_property_is_a_422_naming_it(api):
    deploy(api, ev.EVENT_GATEWAY)
    instance_id = start(api, "gatewayed", {"order_ref": "A", "order_no": "SO-1"})
    resp = api.post("bank1", "/api/v1/messages/approval", {"correlation": {"business_key": "SO-1"}, "payload": {}})
    assert resp.status_code == 422, resp.json
    assert "order_ref" in resp.json["error"]["fields"] and "order_ref" in resp.json["error"]["message"]
    assert "path" not in detail(api, instance_id)["data"]


# -- Camunda multi-instance over a collection --------------------------------

def test_camunda_collection_multi_instance_runs_once_per_item(api):
    deploy(api, ev.CAMUNDA_COLLECTION)
    done = detail(api, start(api, "collecting", {"items": ["a", "b", "c"]}))
    assert done["status"] == "completed" and done["data"]["seen"] in {"a", "b", "c"}, done
    with open(ev.PROBES / "mi_camunda_collection.bpmn", encoding="utf-8") as f:
        deploy(api, f.read())
    checking = start(api, "mi_camunda_collection", {"items": [1, 2]})
    tasks = detail(api, checking)["open_tasks"]
    assert [t["element_id"] for t in tasks] == ["check_item"]


def test_camunda_collection_that_is_an_expression_is_refused_naming_the_task(api):
    xml = ev.CAMUNDA_COLLECTION.replace('camunda:collection="items"', 'camunda:collection="${order.getLines()}"')
    resp = api.client.post("/api/v1/processes", data=xml.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 422, resp.json
    problem = resp.json["error"]["problems"][0]
    assert problem["element_id"] == "each" and "camunda:collection" in problem["message"]


def test_stock_sequential_multi_instance_stops_after_its_first_item():
    from orderflow.engine.multi_instance import rewrite_collection

    def run(parser_class):
        root = etree.fromstring(ev.CAMUNDA_COLLECTION.encode())
        for el in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}multiInstanceLoopCharacteristics"):
            assert rewrite_collection(el, None) == []
        parser = parser_class()
        parser.add_bpmn_xml(root, filename="c.bpmn")
        workflow = BpmnWorkflow(parser.get_spec("collecting"), script_engine=SafeScriptEngine({}))
        workflow.get_next_task(state=TaskState.READY).data["items"] = ["a", "b"]
        workflow.do_engine_steps()
        return workflow.is_completed()
    try:
        run(SpiffBpmnParser)
    except Exception as exc:
        assert "already exists" in str(exc)
    else:
        raise AssertionError("stock SpiffWorkflow ran the second item")
    assert run(OrderflowParser) is True


def test_conditional_event_subprocess_starts_when_the_data_makes_it_true(api):
    deploy(api, ev.conditional_subprocess(interrupting=False), ev.FORMS)
    instance_id = start(api, "cond_sub")
    assert [w["starts"] for w in detail(api, instance_id)["waits"]] == ["on_approved"]
    after = complete(api, instance_id, "approve", {"approved": True})
    assert after["data"]["noticed"] is True and [t["element_id"] for t in after["open_tasks"]] == ["ship"]
    assert complete(api, instance_id, "ship", {})["status"] == "completed"


def test_interrupting_conditional_event_subprocess_ends_the_order(api):
    deploy(api, ev.conditional_subprocess(interrupting=True), ev.FORMS)
    instance_id = start(api, "cond_sub")
    after = complete(api, instance_id, "approve", {"approved": True})
    assert after["status"] == "completed" and after["open_tasks"] == []


def test_conditional_boundary_event_interrupts_its_task_when_the_data_makes_it_true(api):
    deploy(api, ev.CONDITIONAL_BOUNDARY, ev.FORMS)
    instance_id = start(api, "cond_boundary")
    after = complete(api, instance_id, "approve", {"approved": True})
    assert after["data"]["skipped"] is True and after["status"] == "completed", after


# -- deploy-time refusals (engine/lint_events.py) -----------------------------

def _refused(api, xml: str) -> dict:
    resp = api.client.post("/api/v1/processes", data=xml.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 422, resp.json
    return resp.json["error"]["problems"][0]


def test_event_constructs_that_would_run_wrongly_are_refused_at_deploy(api):
    cond = ('<bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">x == 1'
            '</bpmn:condition></bpmn:conditionalEventDefinition>')
    conditional_start = ev.MESSAGE_START_FORM.replace('<bpmn:messageEventDefinition messageRef="lead_msg"/>', cond)
    problem = _refused(api, conditional_start)
    assert problem["element_id"] == "start" and "cannot start on a condition" in problem["message"] and problem["line"]
    signal_start = ev.MESSAGE_START_FORM.replace('<bpmn:messageEventDefinition messageRef="lead_msg"/>',
                                                 '<bpmn:signalEventDefinition/>')
    assert "cannot start on a signal" in _refused(api, signal_start)["message"]
    gateway_condition = ev.EVENT_GATEWAY.replace(
        '<bpmn:intermediateCatchEvent id="got_stop"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>\n'
        '    <bpmn:signalEventDefinition signalRef="stop_sig"/>',
        '<bpmn:intermediateCatchEvent id="got_stop"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>\n'
        f'    {cond}')
    problem = _refused(api, gateway_condition)
    assert problem["element_id"] == "which" and "condition" in problem["message"]
    two_timers = ev.EVENT_GATEWAY.replace(
        '    <bpmn:signalEventDefinition signalRef="stop_sig"/></bpmn:intermediateCatchEvent>\n  <bpmn:scriptTask',
        '    <bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:intermediateCatchEvent>\n  <bpmn:scriptTask')
    assert two_timers != ev.EVENT_GATEWAY
    assert "one timer" in _refused(api, two_timers)["message"]


def test_bad_start_data_for_a_timer_or_a_collection_is_a_4xx_naming_the_element(api):
    from tests.support import bpmn_samples
    deploy(api, bpmn_samples.timer_process("wait_for"))
    for value in ("banana", 5, None):
        resp = api.post("admin", "/api/v1/processes/timed/instances", {"data": {"wait_for": value}})
        assert resp.status_code == 409, resp.json
        assert resp.json["error"]["element_id"] == "wait" and "wait_for" in resp.json["error"]["message"]
    deploy(api, ev.CAMUNDA_COLLECTION)
    resp = api.post("admin", "/api/v1/processes/collecting/instances", {"data": {"items": 5}})
    assert resp.status_code == 409 and resp.json["error"]["element_id"] == "each", resp.json


def test_the_order_page_lists_what_the_order_waits_for(app, api, client):
    from tests.support.helpers import login
    deploy(api, ev.EVENT_GATEWAY)
    instance_id = start(api, "gatewayed", {"order_ref": "A-17"})
    due = next(w["due_at"] for w in detail(api, instance_id)["waits"] if w["kind"] == "timer")
    login(client, "manager1")
    page = client.get(f"/orders/{instance_id}").get_data(as_text=True)
    assert 'id="wait-got_approval"' in page and "order_ref = <code>A-17</code>" in page
    assert f'<time datetime="{due}"' in page and "PT1H" in page
    assert 'id="wait-got_stop"' in page and "<code>stop</code>" in page


def test_a_receive_task_after_an_event_based_gateway_takes_the_message(api):
    xml = ev.EVENT_GATEWAY.replace(
        '<bpmn:intermediateCatchEvent id="got_approval"><bpmn:incoming>m1</bpmn:incoming><bpmn:outgoing>m2</bpmn:outgoing>\n'
        '    <bpmn:messageEventDefinition messageRef="approval_msg"/></bpmn:intermediateCatchEvent>',
        '<bpmn:receiveTask id="got_approval" messageRef="approval_msg"><bpmn:incoming>m1</bpmn:incoming>'
        '<bpmn:outgoing>m2</bpmn:outgoing></bpmn:receiveTask>')
    assert xml != ev.EVENT_GATEWAY
    deploy(api, xml)
    instance_id = start(api, "gatewayed", {"order_ref": "A"})
    resp = message(api, "approval", {"order_ref": "A"})
    assert resp.status_code == 200 and resp.json["element_id"] == "got_approval", resp.json
    assert detail(api, instance_id)["data"]["path"] == "message"


def test_a_signal_thrown_in_the_order_starts_its_interrupting_signal_event_subprocess(api):
    xml = ev.event_subprocesses(timer=False).replace(
        '<bpmn:messageEventDefinition messageRef="cancel_msg"/>', '<bpmn:signalEventDefinition signalRef="halt"/>'
    ).replace('<bpmn:process id="watched"', '<bpmn:signal id="halt" name="halt"/>\n<bpmn:process id="watched"').replace(
        '<bpmn:userTask id="work" name="work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
        '</bpmn:userTask>\n  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>',
        '<bpmn:userTask id="work" name="work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
        '</bpmn:userTask>\n  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming>'
        '<bpmn:signalEventDefinition signalRef="halt"/></bpmn:endEvent>')
    assert xml.count("halt") == 4, xml
    deploy(api, xml)
    instance_id = start(api, "watched")
    after = complete(api, instance_id, "work", {})
    assert after["status"] == "completed" and after["data"]["cancelled"] is True


def test_start_events_that_could_never_fire_are_refused(api):
    error_start = ev.MESSAGE_START_FORM.replace('<bpmn:messageEventDefinition messageRef="lead_msg"/>',
                                                '<bpmn:errorEventDefinition/>')
    assert "belong to event sub-processes" in _refused(api, error_start)["message"]
    nested = ev.ERROR_SUBPROCESSES.replace(
        '    <bpmn:endEvent id="i_end"><bpmn:incoming>i_ok</bpmn:incoming></bpmn:endEvent>',
        '    <bpmn:endEvent id="i_end"><bpmn:incoming>i_ok</bpmn:incoming></bpmn:endEvent>'
        + ev._event_sub("inner_esp", '<bpmn:errorEventDefinition errorRef="broken_err"/>', "x = 1"))
    assert nested != ev.ERROR_SUBPROCESSES
    problem = _refused(api, nested)
    assert problem["element_id"] == "inner_esp_start" and "inside a sub-process" in problem["message"]


def test_stock_parser_turns_signal_end_events_into_none_ends():
    xml = ev.event_subprocesses(timer=False).replace(
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>',
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming><bpmn:signalEventDefinition signalRef="halt"/>'
        '</bpmn:endEvent>').replace('<bpmn:process id="watched"', '<bpmn:signal id="halt" name="halt"/>\n<bpmn:process id="watched"')
    stock, ours = SpiffBpmnParser(), OrderflowParser()
    stock.add_bpmn_xml(etree.fromstring(xml.encode()), filename="s.bpmn")
    ours.add_bpmn_xml(etree.fromstring(xml.encode()), filename="s.bpmn")
    assert isinstance(stock.get_spec("watched").task_specs["end"].event_definition, NoneEventDefinition)
    assert ours.get_spec("watched").task_specs["end"].event_definition.name == "halt"


def test_a_service_call_left_to_a_job_is_listed_with_its_next_attempt(app, api, clock, flaky):
    from datetime import datetime, timedelta

    from tests.support import bpmn_samples
    flaky["fail_times"] = 1
    deploy(api, bpmn_samples.service_then_task(
        "bank_transfer", '<spiffworkflow:property name="async" value="true"/>'
                         '<spiffworkflow:property name="retry" value="PT10S,PT1M"/>'))
    instance_id = start(api, "calling")
    [wait] = detail(api, instance_id)["waits"]
    assert (wait["kind"], wait["element_id"], wait["name"]) == ("service", "call", "bank_transfer")
    run_jobs(app)                                   # the first attempt fails: the next one in 10 s
    [wait] = detail(api, instance_id)["waits"]
    assert datetime.fromisoformat(wait["due_at"]) == clock.value + timedelta(seconds=10)
    clock.advance(seconds=11)
    run_jobs(app)
    assert detail(api, instance_id)["waits"] == []


def test_a_call_activity_to_a_process_with_message_event_subprocesses_is_refused(api):
    caller = ('<bpmn:process id="caller" isExecutable="true">'
              '<bpmn:startEvent id="c_start"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>'
              '<bpmn:callActivity id="call_watched" calledElement="watched"><bpmn:incoming>c1</bpmn:incoming>'
              '<bpmn:outgoing>c2</bpmn:outgoing></bpmn:callActivity>'
              '<bpmn:endEvent id="c_end"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>'
              '<bpmn:sequenceFlow id="c1" sourceRef="c_start" targetRef="call_watched"/>'
              '<bpmn:sequenceFlow id="c2" sourceRef="call_watched" targetRef="c_end"/></bpmn:process>\n')
    xml = ev.EVENT_SUBPROCESSES.replace("</bpmn:definitions>", caller + "</bpmn:definitions>")
    problem = _refused(api, xml)
    assert problem["element_id"] == "call_watched" and "on_cancel" in problem["message"], problem


def test_a_signal_nothing_in_the_file_throws_deploys_with_a_warning(api):
    lonely = ev.EVENT_GATEWAY.replace('<bpmn:signalEventDefinition signalRef="stop_sig"/></bpmn:intermediateThrowEvent>',
                                      '</bpmn:intermediateThrowEvent>')
    assert lonely != ev.EVENT_GATEWAY
    resp = api.client.post("/api/v1/processes", data=lonely.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json
    [warning] = [w for w in resp.json["warnings"] if w["element_id"] == "got_stop"]
    assert "signals do not travel between orders" in warning["message"]
    deployed = api.client.post("/api/v1/processes", data=ev.EVENT_GATEWAY.encode(),
                               headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert not [w for w in deployed.json["warnings"] if "signal" in w["message"]]


def test_an_interrupting_timer_event_subprocess_ends_the_order_when_it_fires(app, api, clock):
    deploy(api, ev.EVENT_SUBPROCESSES.replace('<bpmn:startEvent id="on_late_start" isInterrupting="false">',
                                              '<bpmn:startEvent id="on_late_start">'))
    instance_id = start(api, "watched", {"order_ref": "A"})
    clock.advance(hours=2, minutes=1)
    assert run_jobs(app) == 1
    after = detail(api, instance_id)
    assert after["status"] == "completed" and after["data"]["reminded"] is True and after["open_tasks"] == []
