"""Data inputs and outputs: each diagram either runs with the data it names or is a 4xx naming
the element and the field, at deploy where that is knowable, at start otherwise. Never a 500."""
from __future__ import annotations

import pytest

from tests.support.helpers import Api

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://x">\n')
FLOW = ('<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>')
DATA_OBJECT = '<bpmn:dataObject id="order_obj"/><bpmn:dataObjectReference id="order_ref" dataObjectRef="order_obj"/>'
TASK_INPUT = ('<bpmn:ioSpecification><bpmn:dataInput id="din" name="x"/><bpmn:inputSet><bpmn:dataInputRefs>din'
              '</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet/></bpmn:ioSpecification>')


def diagram(pid: str, task: str, extra: str = "", defs: str = "") -> str:
    return (f'{HEAD}{defs}<bpmn:process id="{pid}" isExecutable="true">\n{extra}{FLOW}\n{task}\n'
            '</bpmn:process>\n</bpmn:definitions>\n')


def deploy(api: Api, xml: str):
    return api.client.post("/api/v1/processes", data=xml.encode(), headers={
        **api.auth("owner1"), "Content-Type": "application/xml"})


def script_task(body: str, script: str = "y = 1", attrs: str = "") -> str:
    return (f'<bpmn:scriptTask id="t" name="Transform" {attrs}><bpmn:incoming>f1</bpmn:incoming>'
            f'<bpmn:outgoing>f2</bpmn:outgoing>{body}<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')


# the Camunda-example shapes SpiffWorkflow 3.2 parses and then silently ignores (or crashes on)
REFUSED = {
    "xslt_transformation": (script_task(
        TASK_INPUT + '<bpmn:dataInputAssociation id="dia"><bpmn:sourceRef>order_ref</bpmn:sourceRef>'
        '<bpmn:targetRef>din</bpmn:targetRef><bpmn:transformation language="http://www.w3.org/1999/XSL/Transform">'
        '/order/total</bpmn:transformation></bpmn:dataInputAssociation>'), DATA_OBJECT, "<transformation>"),
    "assignment_from_to": (script_task(
        TASK_INPUT + '<bpmn:dataInputAssociation><bpmn:targetRef>din</bpmn:targetRef><bpmn:assignment>'
        '<bpmn:from xsi:type="bpmn:tFormalExpression">/x/y</bpmn:from><bpmn:to>getDataInput(\'din\')</bpmn:to>'
        '</bpmn:assignment></bpmn:dataInputAssociation>'), "", "<assignment>"),
    "output_transformation": (script_task(
        '<bpmn:dataOutputAssociation><bpmn:targetRef>order_ref</bpmn:targetRef><bpmn:transformation>y * 2'
        '</bpmn:transformation></bpmn:dataOutputAssociation>'), DATA_OBJECT, "<transformation>"),
    "association_onto_a_named_input": (script_task(
        TASK_INPUT + '<bpmn:dataInputAssociation><bpmn:sourceRef>order_ref</bpmn:sourceRef>'
        '<bpmn:targetRef>din</bpmn:targetRef></bpmn:dataInputAssociation>'), DATA_OBJECT, "'din'"),
    "reads_a_process_property": (script_task(
        '<bpmn:dataInputAssociation><bpmn:sourceRef>prop1</bpmn:sourceRef></bpmn:dataInputAssociation>'),
        '<bpmn:property id="prop1" name="p"/>', "'prop1'"),
    "javascript_parameter": (script_task(
        '<bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name="b"><camunda:script '
        'scriptFormat="javascript">1+1</camunda:script></camunda:inputParameter></camunda:inputOutput>'
        '</bpmn:extensionElements>'), "", "JavaScript is not supported"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_data_mappings_the_engine_would_ignore_are_refused_naming_the_element(api: Api, case: str):
    task, extra, words = REFUSED[case]
    resp = deploy(api, diagram(case, task, extra))
    assert resp.status_code == 422, resp.json
    problem = resp.json["error"]["problems"][0]
    assert problem["element_id"] == "t" and isinstance(problem["line"], int), problem
    assert words in problem["message"], problem
    assert "0x" not in problem["message"] and "<Element" not in problem["message"]


IO_PROCESS = diagram("io_process", script_task("", "doubled = in_1 * 2"), extra=(
    '<bpmn:ioSpecification><bpmn:dataInput id="in_1" name="Quantity" itemSubjectRef="qty"/>'
    '<bpmn:inputSet><bpmn:dataInputRefs>in_1</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet/>'
    '</bpmn:ioSpecification>'), defs='<bpmn:itemDefinition id="qty" structureRef="xsd:integer"/>')


def test_a_process_data_input_is_a_required_start_field(api: Api):
    assert deploy(api, IO_PROCESS).status_code == 201
    assert api.get("sales1", "/api/v1/processes/io_process").json["start_form"]["required"] == ["in_1"]
    missing = api.post("admin", "/api/v1/processes/io_process/instances", {"data": {}})
    assert missing.status_code == 422 and "in_1" in missing.json["error"]["fields"], missing.json
    wrong = api.post("admin", "/api/v1/processes/io_process/instances", {"data": {"in_1": "many"}})
    assert wrong.status_code == 422 and "in_1" in wrong.json["error"]["fields"], wrong.json
    started = api.post("admin", "/api/v1/processes/io_process/instances", {"data": {"in_1": 4}})
    assert started.status_code == 201 and started.json["status"] == "completed", started.json
    assert api.get("admin", f"/api/v1/instances/{started.json['id']}").json["data"]["doubled"] == 8


def test_a_task_data_input_is_announced_at_deploy_and_its_absence_is_a_409_naming_it(api: Api):
    resp = deploy(api, diagram("task_input", script_task(TASK_INPUT, "y = din")))
    assert resp.status_code == 201, resp.json
    assert any(w["element_id"] == "t" and "'din'" in w["message"] for w in resp.json["warnings"]), resp.json
    stopped = api.post("admin", "/api/v1/processes/task_input/instances", {"data": {}})
    assert stopped.status_code == 409, stopped.json
    assert stopped.json["error"]["element_id"] == "t" and "'din'" in stopped.json["error"]["message"]
    ran = api.post("admin", "/api/v1/processes/task_input/instances", {"data": {"din": 3}})
    assert ran.status_code == 201 and ran.json["status"] == "completed", ran.json


MULTI = diagram("multi", script_task(
    '<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>n</bpmn:loopCardinality>'
    '<bpmn:loopDataOutputRef>outs</bpmn:loopDataOutputRef><bpmn:outputDataItem id="out"/>'
    '</bpmn:multiInstanceLoopCharacteristics>', "out = 1"))


@pytest.mark.parametrize("data, field", [
    ({"n": "abc"}, "'n'"),                   # SpiffWorkflow 3.2: TypeError comparing int and str
    ({"n": None}, "'n'"),
    ({"n": 2, "outs": [1]}, "'outs'"),       # SpiffWorkflow 3.2: NameError (a typo in its own code)
    ({"n": 2, "outs": 5}, "'outs'"),
    ({"n": -1}, "'n'"),                      # SpiffWorkflow 3.2: the order runs on with nothing to do
    ({"n": 2.5}, "'n'"),
    ({"n": True}, "'n'"),
])
def test_bad_start_data_for_a_multi_instance_is_a_4xx_naming_the_field(api: Api, data: dict, field: str):
    assert deploy(api, MULTI).status_code == 201
    resp = api.post("admin", "/api/v1/processes/multi/instances", {"data": data})
    assert resp.status_code == 409, resp.get_data(as_text=True)[:300]
    error = resp.json["error"]
    assert error["element_id"] == "t" and field in error["message"], error
    assert "not supported between" not in error["message"] and "is not defined" not in error["message"]
    good = api.post("admin", "/api/v1/processes/multi/instances", {"data": {"n": 2}})
    assert good.status_code == 201 and good.json["status"] == "completed", good.json


def test_a_parallel_multi_instance_of_a_huge_count_is_refused_before_any_task_is_made(api: Api):
    parallel = MULTI.replace('isSequential="true"', 'isSequential="false"')
    assert deploy(api, parallel).status_code == 201
    resp = api.post("admin", "/api/v1/processes/multi/instances", {"data": {"n": 10 ** 12}})
    assert resp.status_code == 409 and "from 0 to 500" in resp.json["error"]["message"], resp.json
    good = api.post("admin", "/api/v1/processes/multi/instances", {"data": {"n": 3}})
    assert good.status_code == 201 and good.json["status"] == "completed", good.json


def test_a_data_object_the_order_lacks_is_a_409_naming_it(api: Api):
    task = script_task('<bpmn:dataOutputAssociation><bpmn:targetRef>order_ref</bpmn:targetRef>'
                       '</bpmn:dataOutputAssociation>')
    assert deploy(api, diagram("writes_object", task, DATA_OBJECT)).status_code == 201
    resp = api.post("admin", "/api/v1/processes/writes_object/instances", {"data": {}})
    assert resp.status_code == 409 and resp.json["error"]["element_id"] == "t", resp.json
    assert "'order_obj'" in resp.json["error"]["message"]
    ok = api.post("admin", "/api/v1/processes/writes_object/instances", {"data": {"order_obj": 1}})
    assert ok.status_code == 201, ok.json


def test_camunda_input_output_mappings_run_as_the_step_sees_them(api: Api):
    mapping = ('<bpmn:extensionElements><camunda:inputOutput>'
               '<camunda:inputParameter name="doubled">${amount * 2}</camunda:inputParameter>'
               '<camunda:inputParameter name="label">rush</camunda:inputParameter>'
               '<camunda:inputParameter name="tags"><camunda:list><camunda:value>a</camunda:value>'
               '<camunda:value>${amount}</camunda:value></camunda:list></camunda:inputParameter>'
               '<camunda:outputParameter name="total">${doubled + 1}</camunda:outputParameter>'
               '</camunda:inputOutput></bpmn:extensionElements>')
    assert deploy(api, diagram("mapped", script_task(mapping, "seen = doubled"))).status_code == 201
    started = api.post("admin", "/api/v1/processes/mapped/instances", {"data": {"amount": 5}})
    assert started.status_code == 201, started.json
    data = api.get("admin", f"/api/v1/instances/{started.json['id']}").json["data"]
    assert (data["seen"], data["label"], data["tags"], data["total"]) == (10, "rush", ["a", 5], 11)


def test_a_written_start_form_that_does_not_ask_for_a_data_input_is_warned(api: Api):
    import io
    import json
    start = ('<bpmn:startEvent id="s"><bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
             'name="formJsonSchemaFilename" value="start_it.json"/></spiffworkflow:properties></bpmn:extensionElements>'
             '<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>')
    xml = IO_PROCESS.replace('<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>', start) \
        .replace('xmlns:xsd=', 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:xsd=')
    form = {"type": "object", "properties": {"note": {"type": "string"}}}
    files = {"io_process.bpmn": xml, "start_it.json": json.dumps(form)}
    resp = api.client.post("/api/v1/processes", headers=api.auth("owner1"), content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(t.encode()), n) for n, t in files.items()]})
    assert resp.status_code == 201, resp.json
    assert any(w["element_id"] == "s" and "'in_1'" in w["message"] for w in resp.json["warnings"]), resp.json


@pytest.mark.parametrize("data, words", [
    ({"a": 1, "b": 0}, "divides by zero"),
    ({"a": 1, "b": "two"}, "do not fit together"),
    ({"a": {"x": 1}, "b": 1}, "do not fit together"),
])
def test_start_data_a_script_cannot_compute_with_is_a_409_in_words(api: Api, data: dict, words: str):
    assert deploy(api, diagram("ratio", script_task("", "y = a / b"))).status_code == 201
    resp = api.post("admin", "/api/v1/processes/ratio/instances", {"data": data})
    assert resp.status_code == 409, resp.get_data(as_text=True)[:300]
    error = resp.json["error"]
    assert error["element_id"] == "t" and words in error["message"], error
    assert "Error" not in error["message"] and "unsupported operand" not in error["message"], error
