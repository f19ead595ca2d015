"""Process versions: the list with open orders per version, diffs, dry runs and moving orders."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers import REGISTRY
from orderflow.core.models import AuditEvent, HumanTask, Instance, User
from orderflow.engine import Services, compile_bundle, plan_migration
from orderflow.engine.runtime import Runtime
from orderflow.workflow import jobs, tasks, versions
from tests.support.bpmn_samples import process
from tests.support.helpers import Api, fill, login
from tests.support.orders import drive

ROOT = Path(__file__).resolve().parent.parent
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://x">\n')
FORM = {"type": "object", "title": "Step", "properties": {"note": {"type": "string", "title": "Note"}}}


def chain(steps: list[tuple[str, str, str, str | None]], pid: str = "mig") -> str:
    """start → user tasks in a row → end. A step is (id, name, group, time limit): the group is its
    lane; a time limit is a non-interrupting boundary timer."""
    lanes: dict[str, list[str]] = {"sales": ["start", "end"]}
    body = ['<bpmn:startEvent id="start"><bpmn:outgoing>f_start</bpmn:outgoing></bpmn:startEvent>']
    flows, prev = [], "start"
    for element_id, name, group, sla in steps:
        lanes.setdefault(group, []).append(element_id)
        flows.append((f"f_{prev}", prev, element_id))
        body.append(f'<bpmn:userTask id="{element_id}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>'
                    '<spiffworkflow:property name="formJsonSchemaFilename" value="mig_step.json"/>'
                    f'</spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f_{prev}</bpmn:incoming>'
                    f'<bpmn:outgoing>f_{element_id}</bpmn:outgoing></bpmn:userTask>')
        if sla:
            body.append(f'<bpmn:boundaryEvent id="sla_{element_id}" name="limit" attachedToRef="{element_id}" '
                        f'cancelActivity="false"><bpmn:outgoing>f_sla_{element_id}</bpmn:outgoing>'
                        f'<bpmn:timerEventDefinition><bpmn:timeDuration>{sla}</bpmn:timeDuration>'
                        '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                        f'<bpmn:endEvent id="late_{element_id}"><bpmn:incoming>f_sla_{element_id}</bpmn:incoming>'
                        '</bpmn:endEvent>')
            flows.append((f"f_sla_{element_id}", f"sla_{element_id}", f"late_{element_id}"))
            lanes[group] += [f"sla_{element_id}", f"late_{element_id}"]
        prev = element_id
    flows.append((f"f_{prev}", prev, "end"))
    body.append(f'<bpmn:endEvent id="end"><bpmn:incoming>f_{prev}</bpmn:incoming></bpmn:endEvent>')
    body += [f'<bpmn:sequenceFlow id="{fid}" sourceRef="{a}" targetRef="{b}"/>' for fid, a, b in flows]
    lane_xml = "".join(f'<bpmn:lane id="{g}" name="{g}">' + "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>"
                                                                     for r in refs) + "</bpmn:lane>"
                       for g, refs in lanes.items())
    return (f'{HEAD}<bpmn:process id="{pid}" isExecutable="true"><bpmn:laneSet id="ls">{lane_xml}</bpmn:laneSet>\n'
            + "\n".join(body) + "\n</bpmn:process>\n</bpmn:definitions>\n")


# v2 renames 'review' and gives it 4 h instead of 2 h, removes 'check', moves 'ship' from logistics
# to the warehouse and adds 'invoice' at the end
V1 = chain([("review", "Review", "sales", "PT2H"), ("check", "Check", "warehouse", None),
            ("ship", "Ship", "logistics", None)])
V2 = chain([("review", "Review order", "sales", "PT4H"), ("ship", "Ship", "warehouse", None),
            ("invoice", "Invoice", "finance", None)])


def deploy(api: Api, xml: str, name: str = "mig.bpmn") -> int:
    resp = api.client.post("/api/v1/processes", headers=api.auth("owner1"), content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(xml.encode()), name),
                                           (io.BytesIO(json.dumps(FORM).encode()), "mig_step.json")]})
    assert resp.status_code == 201, resp.json
    return resp.json["deployed"][0]["version"]


def start(api: Api, order_no: str) -> int:
    resp = api.post("sales1", "/api/v1/processes/mig/instances", {"data": {"order_no": order_no}})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def open_steps(api: Api, instance_id: int) -> list[tuple[str, str, str]]:
    return [(t["element_id"], t["name"], t["group"]) for t in api.open_tasks(instance_id)]


def complete_open(api: Api, instance_id: int, element_id: str) -> None:
    task = api.task(instance_id, element_id)
    assert api.complete(f"{task['group']}1", task["id"]).status_code == 200


def instance(api: Api, instance_id: int) -> dict:
    return api.get("manager1", f"/api/v1/instances/{instance_id}").json


def move(api: Api, body: dict, user: str = "owner1"):
    return api.post(user, "/api/v1/processes/mig/migrations", body)


@pytest.fixture
def two_versions(api: Api, clock) -> dict[str, int]:
    """Order A waits at 'review' (still in v2); order B waits at 'check' (removed by v2)."""
    assert deploy(api, V1) == 1
    a, b = start(api, "MIG-A"), start(api, "MIG-B")
    complete_open(api, b, "review")
    assert deploy(api, V2) == 2
    return {"a": a, "b": b}


def test_versions_list_counts_open_orders_per_version(api: Api, two_versions):
    c = start(api, "MIG-C")
    assert instance(api, c)["version"] == 2                       # a new order starts on the newest version
    assert instance(api, two_versions["a"])["version"] == 1       # the old ones stay where they started
    assert api.post("manager1", f"/api/v1/instances/{two_versions['b']}/suspend", {}).status_code == 200
    resp = api.get("owner1", "/api/v1/processes/mig/versions")
    assert resp.status_code == 200
    items = {i["version"]: i for i in resp.json["items"]}
    assert (items[1]["running"], items[1]["suspended"], items[1]["latest"]) == (1, 1, False)
    assert (items[2]["running"], items[2]["suspended"], items[2]["latest"]) == (1, 0, True)
    assert items[1]["deployed_by"] == "owner1" and len(items[1]["sha256"]) == 64 and items[1]["deployed_at"]
    # managers may look too
    assert api.get("manager1", "/api/v1/processes/mig/versions").status_code == 200


def test_diff_names_added_removed_changed_and_moved_steps(api: Api, two_versions):
    resp = api.get("owner1", "/api/v1/processes/mig/diff?from=1&to=2")
    assert resp.status_code == 200, resp.json
    diff = resp.json
    assert (diff["process"], diff["from"], diff["to"]) == ("mig", 1, 2)
    assert [e["element_id"] for e in diff["added"]] == ["invoice"]
    assert [e["element_id"] for e in diff["removed"]] == ["check"]
    changed = {e["element_id"]: {c["attribute"]: (c["from"], c["to"]) for c in e["changes"]} for e in diff["changed"]}
    assert changed["review"]["name"] == ("Review", "Review order")
    assert changed["review"]["sla"] == ("PT2H", "PT4H")
    assert changed["sla_review"]["timer"] == ("PT2H", "PT4H")
    assert "ship" not in changed                                  # only its group changed: that is a move
    assert diff["moved"] == [{"element_id": "ship", "name": "Ship", "kind": "userTask", "group": "warehouse",
                              "from_group": "logistics", "to_group": "warehouse"}]
    flows = diff["flows"]
    assert [f["flow_id"] for f in flows["added"]] == ["f_invoice"]
    assert [f["flow_id"] for f in flows["removed"]] == ["f_check"]
    assert {f["flow_id"]: f["changes"][0]["to"] for f in flows["changed"]} == {"f_review": "ship", "f_ship": "invoice"}
    same = api.get("owner1", "/api/v1/processes/mig/diff?from=2&to=2").json
    assert not (same["added"] or same["removed"] or same["changed"] or same["moved"])


def test_dry_run_says_which_orders_can_move_and_changes_nothing(app, api: Api, two_versions):
    a, b = two_versions["a"], two_versions["b"]
    resp = move(api, {"from": 1, "to": 2, "dry_run": True})
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["dry_run"] is True and (body["moved"], body["movable"], body["refused"]) == (0, 1, 1)
    results = {r["instance_id"]: r for r in body["results"]}
    assert results[a]["can_move"] is True and results[a]["reasons"] == [] and results[a]["steps"] == ["Review"]
    assert results[a]["business_key"] == "MIG-A"
    assert results[b]["can_move"] is False and results[b]["moved"] is False
    assert results[b]["steps"] == ["Check"]
    assert any("'Check'" in r and "does not have" in r for r in results[b]["reasons"]), results[b]["reasons"]
    assert instance(api, a)["version"] == 1                       # nothing moved
    with app.extensions["orderflow.db"].session() as s:
        assert not s.scalars(select(AuditEvent).where(AuditEvent.action == "instance_migrated")).all()
    # the dry run for chosen orders only; an order that is not there is named
    only = move(api, {"from": 1, "to": 2, "instance_ids": [a, 999]}).json["results"]
    assert [(r["instance_id"], r["can_move"]) for r in only] == [(a, True), (999, False)]
    assert "no order with id 999" in only[1]["reasons"][0]


def test_migrate_moves_the_movable_order_and_leaves_the_other(app, api: Api, two_versions, clock):
    a, b = two_versions["a"], two_versions["b"]
    before = api.task(a, "review")
    resp = move(api, {"from": 1, "to": 2, "dry_run": False})
    assert resp.status_code == 200, resp.json
    assert (resp.json["moved"], resp.json["refused"]) == (1, 1)
    results = {r["instance_id"]: r for r in resp.json["results"]}
    assert results[a]["moved"] is True and results[b]["moved"] is False and results[b]["reasons"]
    assert instance(api, a)["version"] == 2 and instance(api, b)["version"] == 1
    # the open task carried over: same id, the new version's name and time limit
    after = api.task(a, "review")
    assert after["id"] == before["id"] and after["name"] == "Review order"
    assert after["due_at"] > before["due_at"]
    with app.extensions["orderflow.db"].session() as s:
        row = s.get(HumanTask, after["id"])
        assert row.process_version_id == s.get(Instance, a).process_version_id
        assert (row.due_at - row.ready_at).total_seconds() == 4 * 3600
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "instance_migrated")).all()
        assert [(e.instance_id, e.actor, e.detail["from_version"], e.detail["to_version"]) for e in events] == [
            (a, "owner1", 1, 2)]
    # the boundary timer kept its start and took v2's 4 h: nothing fires at 3 h
    clock.advance(hours=3)
    jobs.run_due(app.extensions["orderflow.db"], "test")
    assert not _audit(app, a, "timer_fired") and not _audit(app, a, "sla_escalated")
    clock.advance(hours=1, minutes=1)
    jobs.run_due(app.extensions["orderflow.db"], "test")
    assert _audit(app, a, "timer_fired") == ["sla_review"] and _audit(app, a, "sla_escalated") == ["review"]
    # the diagram draws its own escalation path: the service's job records no missed deadline of its own
    assert not _audit(app, a, "sla_breached")
    # A continues on v2's path: no 'check'; 'ship' belongs to the warehouse now; then 'invoice'
    complete_open(api, a, "review")
    assert open_steps(api, a) == [("ship", "Ship", "warehouse")]
    complete_open(api, a, "ship")
    assert open_steps(api, a) == [("invoice", "Invoice", "finance")]
    complete_open(api, a, "invoice")
    assert instance(api, a)["status"] == "completed"
    # B was left alone and finishes on v1's path
    complete_open(api, b, "check")
    assert open_steps(api, b) == [("ship", "Ship", "logistics")]
    complete_open(api, b, "ship")
    assert instance(api, b)["status"] == "completed"
    # nothing left on v1 to move
    assert move(api, {"from": 1, "to": 2, "dry_run": False}).json["results"] == []


def _audit(app, instance_id: int, action: str) -> list[str | None]:
    with app.extensions["orderflow.db"].session() as s:
        return list(s.scalars(select(AuditEvent.element_id).where(AuditEvent.instance_id == instance_id,
                                                                  AuditEvent.action == action)))


def test_a_completion_at_the_same_moment_makes_that_move_fail_cleanly(app, api: Api, two_versions):
    a = two_versions["a"]
    db = app.extensions["orderflow.db"]
    with db.session() as mover, db.session() as worker:
        owner = mover.scalar(select(User).where(User.username == "owner1"))
        sales = worker.scalar(select(User).where(User.username == "sales1"))
        held = mover.get(Instance, a)                  # the mover has read the order ...
        assert held.state_token
        task = worker.scalar(select(HumanTask).where(HumanTask.instance_id == a, HumanTask.status == "ready"))
        view = tasks.form_for(worker, sales, task.id)
        tasks.complete(worker, sales, task.id, fill(view.schema, view.values))
        worker.commit()                                # ... and someone completes 'review' meanwhile
        report = versions.migrate(mover, owner, "mig", 1, 2, [a])
        # found when its state is read (the row in hand names an older one) or when the move claims the row
        assert [r.moved for r in report.results] == [False]
        assert "changed this order" in report.results[0].reasons[0]
        mover.commit()
    detail = instance(api, a)
    assert detail["version"] == 1                                  # not moved, not corrupted
    assert [t["element_id"] for t in detail["open_tasks"]] == ["check"]
    assert [h["element_id"] for h in detail["history"]] == ["review"]


def test_only_process_owners_move_orders(api: Api, two_versions):
    for user in ("sales1", "manager1"):
        resp = move(api, {"from": 1, "to": 2, "dry_run": True}, user=user)
        assert resp.status_code == 403, (user, resp.json)
    assert api.get("sales1", "/api/v1/processes/mig/versions").status_code == 403
    assert api.get("sales1", "/api/v1/processes/mig/diff?from=1&to=2").status_code == 403
    assert api.post("admin", "/api/v1/processes/mig/migrations", {"from": 1, "to": 2}).status_code == 200
    assert api.client.get("/api/v1/processes/mig/versions").status_code == 401
    assert api.client.post("/api/v1/processes/mig/migrations", json={"from": 1, "to": 2}).status_code == 401


@pytest.mark.parametrize("path, body, status, words", [
    ("/api/v1/processes/mig/diff?from=1&to=9", None, 404, "version 9"),
    ("/api/v1/processes/mig/diff?from=one&to=2", None, 422, "'from' must be a version number"),
    ("/api/v1/processes/mig/diff?to=2", None, 422, "Choose both versions"),
    ("/api/v1/processes/nope/versions", None, 404, "No process 'nope'"),
    ("/api/v1/processes/mig/migrations", {"from": 1, "to": 7}, 404, "version 7"),
    ("/api/v1/processes/mig/migrations", {"from": 2, "to": 2}, 422, "two different versions"),
    ("/api/v1/processes/mig/migrations", {"from": "x", "to": 2}, 422, "'from' must be a version number"),
    ("/api/v1/processes/mig/migrations", {"from": 1, "to": 2, "dry_run": "no"}, 422, "'dry_run'"),
    ("/api/v1/processes/mig/migrations", {"from": 1, "to": 2, "instance_ids": ["a"]}, 422, "instance_ids"),
    ("/api/v1/processes/mig/migrations", [1, 2], 422, "JSON object"),
])
def test_bad_versions_and_input_get_a_clear_answer(api: Api, two_versions, path, body, status, words):
    resp = api.get("owner1", path) if body is None else api.post("owner1", path, body)
    assert resp.status_code == status, resp.json
    assert words in resp.json["error"]["message"], resp.json


def test_order_flow_orders_move_mid_flight_and_finish_on_the_new_version(app, api: Api):
    """The real diagram: a renamed step and a longer time limit, orders at the start and inside the
    parallel branches; both move and run to the end on version 2."""
    xml = (ROOT / "processes" / "order_flow.bpmn").read_text(encoding="utf-8")
    v2 = xml.replace('name="Check stock 库存确认"', 'name="Check stock and capacity 库存确认"', 1)
    v2 = v2.replace('<spiffworkflow:property name="sla" value="PT3H"/>',
                    '<spiffworkflow:property name="sla" value="PT5H"/>', 1)
    assert v2 != xml
    fresh = api.start_order()
    inside = api.start_order()
    api.drive_to(inside["id"], "make_bom", "design_artwork", "contract_review")
    bundle = [(io.BytesIO(v2.encode()), "order_flow.bpmn")] + [  # with the decision tables it calls
        (io.BytesIO(p.read_bytes()), p.name) for p in sorted((ROOT / "processes").glob("*.dmn"))]
    resp = api.client.post("/api/v1/processes", headers=api.auth("owner1"), content_type="multipart/form-data",
                           data={"files": bundle})
    assert resp.status_code == 201 and resp.json["deployed"][0]["version"] == 2
    diff = api.get("owner1", "/api/v1/processes/order_flow/diff?from=1&to=2").json
    assert {e["element_id"] for e in diff["changed"]} >= {"check_stock"}
    report = api.post("owner1", "/api/v1/processes/order_flow/migrations", {"from": 1, "to": 2, "dry_run": False}).json
    assert report["moved"] == 2, report
    assert api.task(fresh["id"], "check_stock")["name"] == "Check stock and capacity 库存确认"
    for order in (fresh, inside):
        assert instance(api, order["id"])["version"] == 2
        drive(api, order["id"])
        assert instance(api, order["id"])["status"] == "completed"


def test_pages_list_compare_and_move_with_a_dry_run_first(app, client, api: Api, two_versions):
    a, b = two_versions["a"], two_versions["b"]
    token = login(client, "owner1")
    page = client.get("/processes")
    assert page.status_code == 200 and b'id="process-mig"' in page.data and b'id="nav-processes"' in page.data
    page = client.get("/processes/mig/versions").data.decode()
    assert 'id="version-2"' in page and 'id="migrate-form"' in page
    assert re.search(r'id="version-1".*?running-count">2<', page, re.S)
    diff = client.get("/processes/mig/diff?from=1&to=2")
    assert diff.status_code == 200
    assert b'id="diff-removed"' in diff.data and b'data-element="check"' in diff.data and b"Review order" in diff.data
    # the dry run shows the table and offers to move the one order that can
    dry = client.post("/processes/mig/migrate", data={"csrf_token": token, "from": "1", "to": "2",
                                                      "action": "dry_run"})
    assert dry.status_code == 200
    html = dry.data.decode()
    assert f'id="result-{a}" data-can-move="true"' in html and f'id="result-{b}" data-can-move="false"' in html
    assert "does not have" in html and 'id="move-orders"' in html
    assert instance(api, a)["version"] == 1
    moved = client.post("/processes/mig/migrate", data={"csrf_token": token, "from": "1", "to": "2",
                                                        "action": "migrate", "instance_ids": [str(a)]})
    assert moved.status_code == 200 and f'id="result-{a}" data-can-move="true" data-moved="true"' in moved.data.decode()
    assert instance(api, a)["version"] == 2 and instance(api, b)["version"] == 1
    # a bad version in the form is shown on the page; without the token nothing happens
    bad = client.post("/processes/mig/migrate", data={"csrf_token": token, "from": "2", "to": "2", "action": "dry_run"})
    assert bad.status_code == 422 and b"two different versions" in bad.data
    assert client.post("/processes/mig/migrate", data={"from": "1", "to": "2", "action": "migrate"}).status_code == 400


def test_pages_are_for_process_owners(client):
    token = login(client, "sales1")
    assert b'id="nav-processes"' not in client.get("/inbox").data
    assert client.get("/processes").status_code == 403
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/processes").status_code == 302          # to the login page
    login(client, "manager1")                                   # managers look, but move nothing
    page = client.get("/processes/order_flow/versions")
    assert page.status_code == 200 and b'id="version-1"' in page.data and b'id="migrate-form"' not in page.data


# -- the engine on its own: what it refuses and what it carries over -------------------------------------

def _user_task(element_id: str, incoming: str, outgoing: str, name: str | None = None) -> str:
    return (f'<bpmn:userTask id="{element_id}" name="{name or element_id}"><bpmn:extensionElements>'
            '<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" value="mig_step.json"/>'
            '<spiffworkflow:property name="candidateGroups" value="sales"/></spiffworkflow:properties>'
            '</bpmn:extensionElements>' + "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in incoming.split())
            + "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in outgoing.split()) + "</bpmn:userTask>")


def _flows(*triples: str) -> str:
    return "".join(f'<bpmn:sequenceFlow id="{f}" sourceRef="{a}" targetRef="{b}"/>'
                   for f, a, b in (t.split() for t in triples))


_START, _END = ('<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>',
                '<bpmn:endEvent id="end"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>')


def _two_steps(limit: bool = False) -> str:
    timer = ('<bpmn:boundaryEvent id="lim" attachedToRef="a" cancelActivity="false"><bpmn:outgoing>fl</bpmn:outgoing>'
             '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
             '</bpmn:boundaryEvent><bpmn:endEvent id="late"><bpmn:incoming>fl</bpmn:incoming></bpmn:endEvent>'
             + _flows("fl lim late")) if limit else ""
    return process(_START + _user_task("a", "f0", "f1") + _user_task("b", "f1", "f9") + _END + timer
                   + _flows("f0 start a", "f1 a b", "f9 b end"), "p")


def _parallel(branches: str) -> str:
    body = _START + '<bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming>' + "".join(
        f"<bpmn:outgoing>s_{b}</bpmn:outgoing>" for b in branches) + "</bpmn:parallelGateway>"
    body += "".join(_user_task(b, f"s_{b}", f"j_{b}") for b in branches) + '<bpmn:parallelGateway id="join">' + "".join(
        f"<bpmn:incoming>j_{b}</bpmn:incoming>" for b in branches) + "<bpmn:outgoing>f9</bpmn:outgoing></bpmn:parallelGateway>"
    return process(body + _END + _flows("f0 start split", "f9 join end", *(f"s_{b} split {b}" for b in branches),
                                        *(f"j_{b} {b} join" for b in branches)), "p")


def _sub(inner: str = "Inner") -> str:
    sub = ('<bpmn:subProcess id="sub" name="Sub"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f9</bpmn:outgoing>'
           '<bpmn:startEvent id="s0"><bpmn:outgoing>g0</bpmn:outgoing></bpmn:startEvent>'
           + _user_task("inner", "g0", "g1", inner) + '<bpmn:endEvent id="s1"><bpmn:incoming>g1</bpmn:incoming>'
           '</bpmn:endEvent>' + _flows("g0 s0 inner", "g1 inner s1") + "</bpmn:subProcess>")
    return process(_START + sub + _END + _flows("f0 start sub", "f9 sub end"), "p")


def _engine_move(v1: str, v2: str, done: tuple[str, ...] = ()) -> tuple[bool, list[str], list[str]]:
    """Run v1 through ``done``, move it to v2 and, when it could move, run it to the end there."""
    old, new = (compile_bundle({"p.bpmn": x, "mig_step.json": json.dumps(FORM)}, REGISTRY, lambda k: None)[0]
                for x in (v1, v2))
    runtime, services = Runtime(REGISTRY), Services()
    workflow = runtime.new(old, services)
    runtime.start(workflow, {})
    for element_id in done:
        runtime.complete(workflow, next(r.task_uuid for r in runtime.snapshot(workflow).ready
                                        if r.element_id == element_id), {})
    ok, reasons, moved = plan_migration(old, new, runtime.load(old, runtime.dump(workflow), services))
    path: list[str] = []
    if ok:
        workflow = runtime.load(new, runtime.dump(moved), services)
        while runtime.snapshot(workflow).ready:
            ready = runtime.snapshot(workflow).ready[0]
            path.append(ready.element_id)
            runtime.complete(workflow, ready.task_uuid, {})
        assert runtime.snapshot(workflow).completed
    return ok, [str(r) for r in reasons], path


@pytest.mark.parametrize("v1, v2, done, ok, words", [
    (_two_steps(), _two_steps(limit=True), (), False, "attaches a time limit or event to 'a'"),
    (_two_steps(limit=True), _two_steps(), (), False, "removes the time limit or event attached to 'a'"),
    (_two_steps(limit=True), _two_steps(), ("a",), True, ""),          # past the step: nothing to carry
    (_parallel("xy"), _parallel("xyz"), ("x",), False, "starts more parallel branches"),
    (_parallel("xy"), _parallel("xyz"), (), False, "starts more parallel branches"),
    (_parallel("xy"), _parallel("y"), ("x",), True, ""),                # a finished branch may go
    (_sub(), _sub("Inner, renamed"), (), True, ""),                     # inside an embedded sub-process
    (_sub(), process(_START + _user_task("sub", "f0", "f9") + _END + _flows("f0 start sub", "f9 sub end"), "p"),
     (), False, "It is inside 'Sub'"),
])
def test_the_engine_refuses_moves_that_would_strand_an_order(v1, v2, done, ok, words):
    moved, reasons, path = _engine_move(v1, v2, done)
    assert moved is ok, reasons
    assert (words in " ".join(reasons)) if words else not reasons
    if ok:
        assert path                                                     # and it runs to the end on v2
