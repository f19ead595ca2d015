"""Deploy tells the truth about routing, versions, foreign forms, and says refusals in words."""
from __future__ import annotations

import io

import pytest

from tests.support.helpers import Api

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://x">\n')


def one_task(pid: str, task_attrs: str, lanes: str = "", body: str = "") -> str:
    return (f'{HEAD}<bpmn:process id="{pid}" isExecutable="true">{lanes}'
            '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
            f'<bpmn:userTask id="t" name="Check it" {task_attrs}><bpmn:incoming>f1</bpmn:incoming>'
            f'<bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>{body}'
            '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>'
            '</bpmn:process></bpmn:definitions>\n')


def deploy(api: Api, xml: str):
    return api.client.post("/api/v1/processes", data=xml.encode(), headers={
        **api.auth("owner1"), "Content-Type": "application/xml"})


def check(api: Api, xml: str):
    return api.client.post("/api/v1/processes/check", data=xml.encode(), headers={
        **api.auth("owner1"), "Content-Type": "application/xml"})


def upload(api: Api, files: dict[str, str]):
    data = {"files": [(io.BytesIO(text.encode()), name) for name, text in files.items()]}
    return api.client.post("/api/v1/processes", data=data, headers=api.auth("owner1"),
                           content_type="multipart/form-data")


ID_ONLY_LANE = ('<bpmn:laneSet><bpmn:lane id="Lane_0x1" name="Quality check"><bpmn:flowNodeRef>t</bpmn:flowNodeRef>'
                '</bpmn:lane></bpmn:laneSet>')


@pytest.mark.parametrize("attrs, lanes, words", [
    ('camunda:candidateGroups="sales" camunda:assignee="demo"', "", "The assignee 'demo' does not exist"),
    ('camunda:candidateGroups="sales" camunda:assignee="finance1"', "", "not in the task's group"),
    ('camunda:candidateGroups="sales,auditors"', "", "The group 'auditors' (candidateGroups), and no such group"),
    ("", ID_ONLY_LANE, "the lane's id 'Lane_0x1' is used as the group"),
    ('camunda:candidateUsers="sales1,sales2"', "", "camunda:candidateUsers is not followed"),
    ('camunda:assignee="${initiator}" camunda:candidateGroups="sales"', "", "computed by an expression"),
    ("", ID_ONLY_LANE.replace(' name="Quality check"', ""), "the lane's id 'Lane_0x1' is used as the group"),
])
def test_routing_mistakes_are_warned_in_deploy_and_in_check(api: Api, attrs: str, lanes: str, words: str):
    xml = one_task("routed", attrs, lanes)
    checked = check(api, xml)
    assert checked.status_code == 200 and checked.json["ok"], checked.json
    found = [p for p in checked.json["problems"] if words in p["message"]]
    assert found and found[0]["element_id"] == "t" and found[0]["severity"] == "warning", checked.json
    assert isinstance(found[0]["line"], int)
    deployed = deploy(api, xml)
    assert deployed.status_code == 201, deployed.json
    assert any(words in w["message"] and w["element_id"] == "t" for w in deployed.json["warnings"]), deployed.json


def test_a_group_nobody_is_in_is_warned_and_correct_routing_is_not(api: Api):
    assert api.post("admin", "/api/v1/admin/groups", {"id": "auditors", "name": "Auditors"}).status_code == 201
    warned = check(api, one_task("routed", 'camunda:candidateGroups="auditors"')).json["problems"]
    assert any("nobody is in that group" in p["message"] for p in warned), warned
    clean = check(api, one_task("routed", 'camunda:candidateGroups="sales,finance" camunda:assignee="sales1"'))
    assert [p for p in clean.json["problems"] if p["element_id"] == "t"
            and ("group" in p["message"] or "assignee" in p["message"])] == []


SALES_LANE = ('<bpmn:laneSet><bpmn:lane id="sales" name="sales"><bpmn:flowNodeRef>s</bpmn:flowNodeRef>'
              '<bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>')


def test_a_diagram_without_lanes_is_told_who_could_start_and_work_it(api: Api):
    bare = check(api, one_task("bare", "")).json["problems"]
    said = {e: " ".join(p["message"] for p in bare if p["element_id"] == e and p["severity"] == "warning")
            for e in ("s", "t")}
    assert "only administrators could start this process" in said["s"]
    assert "no group" in said["t"]                                # the engine's lint says where it goes
    laned = check(api, one_task("laned", "", SALES_LANE)).json["problems"]
    assert not [p for p in laned if "only administrators" in p["message"] or "no lane" in p["message"]], laned


def test_every_candidate_group_sees_claims_and_completes_the_task(api: Api):
    assert deploy(api, one_task("shared", 'camunda:candidateGroups="sales, finance"')).status_code == 201
    started = api.post("admin", "/api/v1/processes/shared/instances", {"data": {}})
    task_id = started.json["open_tasks"][0]["id"]
    for user in ("sales1", "finance1"):
        inbox = api.get(user, "/api/v1/tasks?scope=groups&process=shared").json["items"]
        assert [t["id"] for t in inbox] == [task_id], (user, inbox)
        assert api.get(user, f"/api/v1/tasks/{task_id}").status_code == 200
        assert api.get(user, f"/api/v1/instances/{started.json['id']}").status_code == 200
    outsider = api.get("vp1", f"/api/v1/tasks/{task_id}")
    assert outsider.status_code == 403 and "Sales" in outsider.json["error"]["message"]   # named as people do
    assert api.get("vp1", "/api/v1/tasks?scope=groups&process=shared").json["items"] == []
    assert api.post("vp1", f"/api/v1/tasks/{task_id}/claim").status_code == 403
    assert api.post("finance1", f"/api/v1/tasks/{task_id}/claim").status_code == 200
    assert api.post("sales1", f"/api/v1/tasks/{task_id}/complete", {"data": {}}).status_code == 409  # claimed
    done = api.post("finance1", f"/api/v1/tasks/{task_id}/complete", {"data": {}})
    assert done.status_code == 200 and done.json["instance"]["status"] == "completed", done.json


CHILD = (f'{HEAD}<bpmn:process id="child" isExecutable="true"><bpmn:startEvent id="cs"><bpmn:outgoing>c1</bpmn:outgoing>'
         '</bpmn:startEvent><bpmn:endEvent id="ce"><bpmn:incoming>c1</bpmn:incoming></bpmn:endEvent>'
         '<bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="ce"/></bpmn:process></bpmn:definitions>\n')


def parent(name: str = "Parent") -> str:
    return (f'{HEAD}<bpmn:process id="parent" name="{name}" isExecutable="true"><bpmn:startEvent id="s">'
            '<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent><bpmn:callActivity id="call" calledElement="child">'
            '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>'
            '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e"/></bpmn:process></bpmn:definitions>\n')


def versions(resp) -> dict[str, int]:
    assert resp.status_code == 201, resp.json
    return {d["key"]: d["version"] for d in resp.json["deployed"]}


def test_an_unchanged_process_redeployed_alone_or_with_its_caller_keeps_its_version(api: Api):
    assert versions(upload(api, {"parent.bpmn": parent(), "child.bpmn": CHILD})) == {"parent": 1, "child": 1}
    assert versions(upload(api, {"parent.bpmn": parent(), "child.bpmn": CHILD})) == {"parent": 1, "child": 1}
    assert versions(deploy(api, CHILD)) == {"child": 1}
    assert versions(upload(api, {"child.bpmn": CHILD})) == {"child": 1}
    changed = upload(api, {"parent.bpmn": parent("Parent, renamed"), "child.bpmn": CHILD})
    assert versions(changed) == {"parent": 2, "child": 1}
    started = api.post("admin", "/api/v1/processes/parent/instances", {"data": {}})
    assert started.status_code == 201 and started.json["status"] == "completed", started.json
    # the caller alone: the deployed child is used (and said so), nothing changes
    alone = deploy(api, parent("Parent, renamed"))
    assert versions(alone) == {"parent": 2, "child": 1}
    assert any("'child'" in w["message"] and "version 1" in w["message"] for w in alone.json["warnings"])
    edited = deploy(api, parent("Parent, edited alone"))
    assert versions(edited) == {"parent": 3, "child": 1}
    again = api.post("admin", "/api/v1/processes/parent/instances", {"data": {}})
    assert again.status_code == 201 and again.json["status"] == "completed", again.json


@pytest.mark.parametrize("form_key", ["embedded:app:forms/check.html", "camunda-forms:deployment:check.form",
                                      "app:forms/check.html"])
def test_a_camunda_html_or_forms_key_deploys_with_a_warning_and_a_plain_form(api: Api, form_key: str):
    resp = deploy(api, one_task("html_form", f'camunda:candidateGroups="sales" camunda:formKey="{form_key}"'))
    assert resp.status_code == 201, resp.json
    warning = [w for w in resp.json["warnings"] if form_key in w["message"]]
    assert warning and "plain completion form" in warning[0]["message"] and warning[0]["element_id"] == "t"
    started = api.post("admin", "/api/v1/processes/html_form/instances", {"data": {}})
    task = started.json["open_tasks"][0]
    assert task["form_key"] is None
    assert api.get("sales1", f"/api/v1/tasks/{task['id']}").json["form"].get("properties") == {}
    assert api.post("sales1", f"/api/v1/tasks/{task['id']}/complete", {"data": {}}).status_code == 200


def chain(middle: str) -> str:
    """start → the element 'm' → end, so the parser reaches it."""
    return (f'{HEAD}<bpmn:process id="worded" isExecutable="true"><bpmn:startEvent id="s"><bpmn:outgoing>f1'
            f'</bpmn:outgoing></bpmn:startEvent>{middle}<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming>'
            '</bpmn:endEvent><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="m"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="m" targetRef="e"/></bpmn:process></bpmn:definitions>\n')


def _script(fmt: str, text: str) -> str:
    return one_task("worded", 'camunda:candidateGroups="sales"',
                    body=f'<bpmn:scriptTask id="js" scriptFormat="{fmt}"><bpmn:script>{text}</bpmn:script>'
                         '</bpmn:scriptTask>')


@pytest.mark.parametrize("xml, element, words", [
    (_script("javascript", "var total = amount * 2;"), "js", "JavaScript is not supported"),
    (_script("python", "total = amount === 2;"), "js", "JavaScript is not supported"),
    (_script("groovy", "total = 1"), "js", "Groovy is not supported"),
    (_script("python", "total = (amount + 1"), "js", "brackets do not match"),
    (one_task("worded", 'camunda:candidateGroups="sales"', body='<bpmn:intermediateCatchEvent id="wait">'
              '<bpmn:messageEventDefinition messageRef="paid"/></bpmn:intermediateCatchEvent>'),
     "wait", "names the message 'paid', which the file does not define"),
    (one_task("worded", "", body='<bpmn:sequenceFlow id="stray" sourceRef="t" targetRef="nowhere"/>'),
     "stray", "leads to 'nowhere'"),
    (one_task("worded", "", body='<bpmn:task id="t2"><bpmn:dataInputAssociation><bpmn:sourceRef>ghost'
              '</bpmn:sourceRef></bpmn:dataInputAssociation></bpmn:task>'), "t2", "reads 'ghost'"),
    (one_task("worded", "", body='<bpmn:task id="t"/>'), "t", "elements have the id 't'"),
    (chain('<bpmn:callActivity id="m"/>'), "m", "names no process to call"),
    (chain('<bpmn:callActivity id="m" calledElement="ghost"/>'), "m", "neither in the upload nor deployed"),
    (chain('<bpmn:complexGateway id="m"/>'), "m", "not supported"),
    (chain('<bpmn:subProcess id="m"><bpmn:startEvent id="m1"/><bpmn:startEvent id="m2"/></bpmn:subProcess>'),
     "m", "exactly one start event"),
    (one_task("worded", "", body='<bpmn:task id="lp"><bpmn:standardLoopCharacteristics><bpmn:loopCondition>'
              'done ==</bpmn:loopCondition></bpmn:standardLoopCharacteristics></bpmn:task>'), "lp",
     "not a valid expression"),
])
def test_refusals_name_element_line_and_reason_in_words(api: Api, xml: str, element: str, words: str):
    resp = deploy(api, xml)
    assert resp.status_code == 422, resp.json
    problems = resp.json["error"]["problems"]
    found = [p for p in problems if words in p["message"]]
    assert found and found[0]["element_id"] == element and isinstance(found[0]["line"], int), problems
    for problem in problems:  # no Python reprs or raw exception text
        for leak in ("0x", "<Element", "Error(", "Error:", "invalid syntax", "unexpected keyword", "Traceback"):
            assert leak not in problem["message"], problem


def test_a_version_stored_with_its_whole_bundle_still_loads_and_an_unchanged_redeploy_keeps_it(app, api: Api):
    """Versions deployed before each kept only its own files hashed the whole upload (here: a
    process beside an unrelated one): their orders still load, and re-deploying changes nothing."""
    from sqlalchemy import select

    from orderflow.core.models import ProcessVersion
    from orderflow.engine import specs
    xml = one_task("legacy", 'camunda:candidateGroups="sales"')
    assert versions(upload(api, {"legacy.bpmn": xml, "child.bpmn": CHILD})) == {"legacy": 1, "child": 1}
    with app.extensions["orderflow.db"].session() as session:
        row = session.scalar(select(ProcessVersion).where(ProcessVersion.key == "legacy"))
        row.sources = {"legacy.bpmn": xml, "child.bpmn": CHILD}  # as the old scheme stored it
        row.sha256 = specs.sources_sha(row.sources)
        session.commit()
    app.extensions["orderflow.platform"].cache = specs.SpecCache()  # a restarted node: nothing compiled yet
    started = api.post("admin", "/api/v1/processes/legacy/instances", {"data": {}})
    assert started.status_code == 201, started.json
    task_id = started.json["open_tasks"][0]["id"]
    assert api.post("sales1", f"/api/v1/tasks/{task_id}/complete", {"data": {}}).status_code == 200
    assert versions(deploy(api, xml)) == {"legacy": 1}


def test_a_checker_that_fails_on_a_diagram_answers_422_naming_the_element_not_500(api: Api, monkeypatch):
    """The safety net under every check: a bug on some unforeseen XML is the element's problem, in words."""
    from orderflow.engine import data_io

    def broken(assoc, file):
        node = assoc.getparent()  # what the parser's code calls the element it reads
        raise TypeError(f"internal detail of {node!r}")

    monkeypatch.setattr(data_io, "_association", broken)
    xml = one_task("broken", 'camunda:candidateGroups="sales"', body=(
        '<bpmn:dataObject id="o"/><bpmn:dataObjectReference id="o_ref" dataObjectRef="o"/><bpmn:task id="reads">'
        '<bpmn:dataInputAssociation><bpmn:sourceRef>o_ref</bpmn:sourceRef></bpmn:dataInputAssociation></bpmn:task>'))
    resp = deploy(api, xml)
    assert resp.status_code == 422, resp.get_data(as_text=True)[:300]
    problem = resp.json["error"]["problems"][0]
    assert problem["element_id"] == "reads" and isinstance(problem["line"], int), problem
    assert "internal detail" not in problem["message"] and "TypeError" not in problem["message"]


def test_moving_an_order_to_a_version_with_more_candidate_groups_opens_its_task_to_them(api: Api):
    assert versions(deploy(api, one_task("regroup", 'camunda:candidateGroups="sales"'))) == {"regroup": 1}
    started = api.post("admin", "/api/v1/processes/regroup/instances", {"data": {}})
    task_id = started.json["open_tasks"][0]["id"]
    assert api.get("finance1", f"/api/v1/tasks/{task_id}").status_code == 403
    assert versions(deploy(api, one_task("regroup", 'camunda:candidateGroups="sales,finance"'))) == {"regroup": 2}
    moved = api.post("owner1", "/api/v1/processes/regroup/migrations", {"from": 1, "to": 2, "dry_run": False})
    assert moved.status_code == 200 and moved.json["moved"] == 1, moved.json
    assert api.get("finance1", f"/api/v1/tasks/{task_id}").status_code == 200
    assert api.post("finance1", f"/api/v1/tasks/{task_id}/complete", {"data": {}}).status_code == 200


def test_an_assignee_who_is_no_user_does_not_hold_the_task(api: Api):
    assert deploy(api, one_task("ghosted", 'camunda:candidateGroups="sales" camunda:assignee="demo"')).status_code == 201
    assert deploy(api, one_task("named", 'camunda:candidateGroups="sales" camunda:assignee="sales2"')).status_code == 201
    ghost = api.post("admin", "/api/v1/processes/ghosted/instances", {"data": {}}).json
    [task] = ghost["open_tasks"]
    assert task["assignee"] is None  # 'demo' does not exist: the task goes to its group, not to nobody
    assert api.post("sales1", f"/api/v1/tasks/{task['id']}/complete", {"data": {}}).status_code == 200
    events = api.get("admin", f"/api/v1/instances/{ghost['id']}/audit").json["items"]
    assert [e["detail"]["assignee"] for e in events if e["action"] == "assignee_unknown"] == ["demo"]
    named = api.post("admin", "/api/v1/processes/named/instances", {"data": {}}).json
    assert named["open_tasks"][0]["assignee"] == "sales2"  # a real user keeps the task


def test_every_candidate_group_of_the_start_event_may_start_the_process(api: Api):
    xml = one_task("opened_by_two", 'camunda:candidateGroups="warehouse"').replace(
        '<bpmn:startEvent id="s">', '<bpmn:startEvent id="s" camunda:candidateGroups="sales, finance">')
    deployed = deploy(api, xml)
    assert deployed.status_code == 201, deployed.json
    assert not [w for w in deployed.json["warnings"] if w["element_id"] == "s"], deployed.json
    assert api.get("owner1", "/api/v1/processes/opened_by_two").json["start_groups"] == ["sales", "finance"]
    for user in ("sales1", "finance1"):
        assert api.post(user, "/api/v1/processes/opened_by_two/instances", {"data": {}}).status_code == 201, user
    refused = api.post("warehouse1", "/api/v1/processes/opened_by_two/instances", {"data": {}})
    assert refused.status_code == 403 and "sales', 'finance" in refused.json["error"]["message"]
