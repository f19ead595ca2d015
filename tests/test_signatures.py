"""The release signature as an electronic signature (21 CFR Part 11 manner): what it records,
the password, four eyes, and shipping only on a valid signature of the sales list as it stands."""
from __future__ import annotations

import hashlib
import io
import json

from sqlalchemy import func, select

from orderflow.access import accounts
from orderflow.core.models import AuditEvent, HumanTask, Signature
from orderflow.workflow import signatures
from tests.support.bpmn_samples import process
from tests.support.helpers import Api, login


def _db(app):
    return app.extensions["orderflow.db"]


def _count(app, model, **where) -> int:
    with _db(app).session() as s:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return s.scalar(query)


def _detail(api: Api, instance_id: int) -> dict:
    return api.get("manager1", f"/api/v1/instances/{instance_id}").json


def _signed(api: Api) -> tuple[dict, dict]:
    """An order driven to shipping, its release signed by vp1; returns (order, ship task)."""
    started = api.start_order()
    sign = api.drive_to(started["id"], "sign_release")
    assert api.complete("vp1", sign["id"], password="demo").status_code == 200
    return started, api.task(started["id"], "ship_order")


def _add_user(app, username: str, groups: list[str], display: str) -> None:
    with _db(app).session() as s:
        accounts.create_user(s, username, "demo", groups, display, hash_method="pbkdf2:sha256:1000")
        s.commit()


def test_the_signature_records_signer_printed_name_time_meaning_and_content(app, api: Api, clock):
    started, ship = _signed(api)
    detail = _detail(api, started["id"])
    [sig] = detail["signatures"]
    assert sig["element_id"] == "sign_release" and sig["signer"] == "vp1"
    assert sig["printed_name"] == "Vice president 1"
    assert sig["meaning"] == "approved for release / 批准放行"          # from the diagram's signatureMeaning
    assert sig["signed_at"] == clock.value.isoformat() and not sig["refused"]
    assert sig["status"] == "valid" and sig["valid"] is True
    content = sig["content"]
    assert content["order_no"] == started["business_key"]
    assert content["customer"] == "Shenzhen Bright Electronics"
    assert content["lines"][0]["product"] == "TV-32" and content["order_total"] == detail["data"]["order_total"]
    assert content["sales_list_no"] == detail["data"]["sales_list_no"]
    assert content["shipping_address"] == detail["data"]["shipping_address"]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert sig["content_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    with _db(app).session() as s:                      # the stored text is exactly what was hashed
        row = s.get(Signature, sig["id"])
        assert row.content == canonical and row.task_id is not None
        event = s.get(AuditEvent, row.audit_event_id)   # linked into the order's hash chain
        assert event.action == "signature" and event.actor == "vp1"
        assert event.detail["content_sha256"] == sig["content_sha256"]
    # and shipping goes on, as the signature still matches
    assert api.complete("logistics1", ship["id"]).status_code == 200


def test_a_wrong_or_missing_password_changes_nothing(app, api: Api):
    started = api.start_order()
    sign = api.drive_to(started["id"], "sign_release")
    events = _count(app, AuditEvent, instance_id=started["id"])
    for password in (None, "wrong"):
        resp = api.complete("vp1", sign["id"], password=password)
        assert resp.status_code == 422 and "password" in resp.json["error"]["fields"]
    assert _count(app, Signature) == 0
    assert _count(app, AuditEvent, instance_id=started["id"]) == events
    assert api.task(started["id"], "sign_release")["id"] == sign["id"]


def test_the_requester_cannot_sign_four_eyes(app, api: Api):
    _add_user(app, "dual1", ["sales", "vp"], "Dual Role")
    started = api.start_order()
    prepare = api.drive_to(started["id"], "prepare_sales_list")
    assert api.complete("dual1", prepare["id"]).status_code == 200       # dual1 issues the sales list
    sign = api.task(started["id"], "sign_release")
    events = _count(app, AuditEvent, instance_id=started["id"])
    resp = api.complete("dual1", sign["id"], password="demo")
    assert resp.status_code == 409 and resp.json["error"]["code"] == "rule_violated"
    assert "four-eyes" in resp.json["error"]["message"] and "Prepare sales list" in resp.json["error"]["message"]
    assert _count(app, Signature) == 0 and _count(app, AuditEvent, instance_id=started["id"]) == events
    assert api.task(started["id"], "sign_release")["id"] == sign["id"]   # still open, unchanged
    assert api.complete("vp1", sign["id"], password="demo").status_code == 200


def test_the_person_who_entered_the_order_cannot_sign_it(app, api: Api, client):
    _add_user(app, "dual2", ["sales", "vp"], "Dual Two")
    started = api.start_order("dual2")
    sign = api.drive_to(started["id"], "sign_release")                    # sales1 issued the list
    login(client, "dual2")
    page = client.get(f"/tasks/{sign['id']}").data.decode()
    assert 'id="four-eyes"' in page                                        # said before anyone submits
    resp = api.complete("dual2", sign["id"], password="demo")
    assert resp.status_code == 409 and "You entered this order" in resp.json["error"]["message"]
    assert _count(app, Signature) == 0


def test_a_rejection_is_a_recorded_refusal_not_a_release(app, api: Api):
    started = api.start_order()
    sign = api.drive_to(started["id"], "sign_release")
    assert api.complete("vp1", sign["id"], "reject", password="demo", comment="Wrong quantity").status_code == 200
    [refusal] = _detail(api, started["id"])["signatures"]
    assert refusal["refused"] and refusal["meaning"] == signatures.REFUSAL_MEANING
    assert refusal["status"] == "refused" and not refusal["valid"]
    assert api.open_tasks(started["id"])[0]["element_id"] == "prepare_sales_list"   # back to sales
    sign = api.drive_to(started["id"], "sign_release")
    assert api.complete("vp2", sign["id"], password="demo").status_code == 200
    states = [s["status"] for s in _detail(api, started["id"])["signatures"]]
    assert states == ["refused", "valid"]
    events = api.get("manager1", f"/api/v1/instances/{started['id']}/audit").json["items"]
    assert [e["action"] for e in events if e["action"].startswith("signature")] == ["signature_refused", "signature"]


# -- shipping needs a valid signature: diagram variants ----------------------------------------------

def _task(id_: str, name: str, group: str, incoming: str, outgoing: str, props: dict | None = None) -> str:
    props = {"candidateGroups": group, **(props or {})}
    xml = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in props.items())
    return (f'<bpmn:userTask id="{id_}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>{xml}'
            f'</spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>{incoming}</bpmn:incoming>'
            f'<bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:userTask>')


START = ('<bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>'
         '<spiffworkflow:property name="candidateGroups" value="sales"/></spiffworkflow:properties>'
         '</bpmn:extensionElements><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>')
SHIP = {"requiresSignatureOf": "sign"}
SIGN = {"signature": "true", "signatureMeaning": "released"}


def _flow(id_: str, source: str, target: str, condition: str | None = None) -> str:
    cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return f'<bpmn:sequenceFlow id="{id_}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'


# start -> (skip) -> ship, or start -> sign -> ship: a diagram that lets shipping come first
SKIPPABLE = process(START + f'''
  <bpmn:exclusiveGateway id="gw" default="to_sign"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>to_ship</bpmn:outgoing><bpmn:outgoing>to_sign</bpmn:outgoing></bpmn:exclusiveGateway>
  {_task("sign", "Sign", "vp", "to_sign", "signed", SIGN)}
  <bpmn:exclusiveGateway id="merge"><bpmn:incoming>to_ship</bpmn:incoming><bpmn:incoming>signed</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
  {_task("ship", "Ship", "logistics", "f2", "f3", SHIP)}
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  {_flow("f1", "start", "gw")}{_flow("to_ship", "gw", "merge", "skip")}{_flow("to_sign", "gw", "sign")}
  {_flow("signed", "sign", "merge")}{_flow("f2", "merge", "ship")}{_flow("f3", "ship", "end")}''', "skippable")

# start -> sign (a form with approve/reject) -> script changing the total -> ship
CHANGING = process(START + f'''
  {_task("sign", "Sign", "vp", "f1", "f2", {**SIGN, "formJsonSchemaFilename": "sign_form.json"})}
  <bpmn:scriptTask id="change" name="Change"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:script>order_total = order_total + bump</bpmn:script></bpmn:scriptTask>
  {_task("ship", "Ship", "logistics", "f3", "f4", SHIP)}
  <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  {_flow("f1", "start", "sign")}{_flow("f2", "sign", "change")}{_flow("f3", "change", "ship")}{_flow("f4", "ship", "end")}''',
                   "changing")
SIGN_FORM = {"title": "Sign", "title_zh": "签字", "type": "object", "required": ["decision"],
             "properties": {"decision": {"type": "string", "title": "Decision", "title_zh": "决定",
                                         "enum": ["approve", "reject"]}}}
ORDER = {"customer": "ACME", "order_total": 100.0, "lines": [{"product": "P", "quantity": 1, "unit_price": 100.0}]}


def _deploy(client, api: Api, xml: str, name: str) -> None:
    files = [(io.BytesIO(xml.encode()), f"{name}.bpmn"), (io.BytesIO(json.dumps(SIGN_FORM).encode()), "sign_form.json")]
    resp = client.post("/api/v1/processes", data={"files": files}, headers=api.auth("owner1"),
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json


def _start(api: Api, key: str, **data) -> dict:
    resp = api.post("sales1", f"/api/v1/processes/{key}/instances", {"data": data})
    assert resp.status_code == 201, resp.json
    return resp.json


def _open(api: Api, instance_id: int, element: str) -> dict:
    return api.task(instance_id, element)


def test_shipping_is_refused_without_a_signature(app, api: Api, client):
    _deploy(client, api, SKIPPABLE, "skippable")
    started = _start(api, "skippable", order_no="V-1", skip=True, **ORDER)
    ship = _open(api, started["id"], "ship")
    resp = api.post("logistics1", f"/api/v1/tasks/{ship['id']}/complete", {"data": {}})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "rule_violated"
    assert "needs a valid signature on 'Sign'" in resp.json["error"]["message"]
    assert _open(api, started["id"], "ship")["id"] == ship["id"]
    # signed first, it ships
    signed = _start(api, "skippable", order_no="V-2", skip=False, **ORDER)
    sign = _open(api, signed["id"], "sign")
    assert api.post("vp1", f"/api/v1/tasks/{sign['id']}/complete", {"data": {}, "password": "demo"}).status_code == 200
    ship = _open(api, signed["id"], "ship")
    assert api.post("logistics1", f"/api/v1/tasks/{ship['id']}/complete", {"data": {}}).status_code == 200
    assert _detail(api, signed["id"])["signatures"][0]["meaning"] == "released"


def test_shipping_is_refused_after_the_signed_content_changed(app, api: Api, client):
    _deploy(client, api, CHANGING, "changing")
    started = _start(api, "changing", order_no="C-1", bump=5, **ORDER)
    sign = _open(api, started["id"], "sign")
    body = {"data": {"decision": "approve"}, "password": "demo"}
    assert api.post("vp1", f"/api/v1/tasks/{sign['id']}/complete", body).status_code == 200
    ship = _open(api, started["id"], "ship")
    resp = api.post("logistics1", f"/api/v1/tasks/{ship['id']}/complete", {"data": {}})
    assert resp.status_code == 409
    message = resp.json["error"]["message"]
    assert "changed after Vice president 1 signed 'Sign'" in message and "no longer valid" in message
    [sig] = _detail(api, started["id"])["signatures"]
    assert sig["status"] == "invalid" and sig["content"]["order_total"] == 100.0
    with _db(app).session() as s:
        assert s.get(HumanTask, ship["id"]).status == "ready"
    login(client, "logistics1")                        # the task page says so before anyone submits
    assert 'id="signature-problem"' in client.get(f"/tasks/{ship['id']}").data.decode()
    unchanged = _start(api, "changing", order_no="C-2", bump=0, **ORDER)   # same facts: ships
    sign = _open(api, unchanged["id"], "sign")
    assert api.post("vp1", f"/api/v1/tasks/{sign['id']}/complete", body).status_code == 200
    ship = _open(api, unchanged["id"], "ship")
    assert api.post("logistics1", f"/api/v1/tasks/{ship['id']}/complete", {"data": {}}).status_code == 200


def test_shipping_is_refused_when_the_latest_signature_is_a_refusal(app, api: Api, client):
    _deploy(client, api, CHANGING, "changing")
    started = _start(api, "changing", order_no="R-1", bump=0, **ORDER)
    sign = _open(api, started["id"], "sign")
    body = {"data": {"decision": "reject"}, "password": "demo"}
    assert api.post("vp1", f"/api/v1/tasks/{sign['id']}/complete", body).status_code == 200
    ship = _open(api, started["id"], "ship")
    resp = api.post("logistics1", f"/api/v1/tasks/{ship['id']}/complete", {"data": {}})
    assert resp.status_code == 409 and "is a refusal by Vice president 1" in resp.json["error"]["message"]


def test_requires_signature_of_must_name_a_signature_step(api: Api, client):
    broken = SKIPPABLE.replace('name="signature" value="true"', 'name="signature" value="false"')
    resp = client.post("/api/v1/processes", data=broken, headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 422
    assert any(p["element_id"] == "ship" and "requiresSignatureOf" in p["message"]
               for p in resp.json["error"]["problems"])


# -- pages ------------------------------------------------------------------------------------------

def test_the_sales_list_page_shows_the_signature(app, api: Api, client):
    started = api.start_order()
    login(client, "sales1")
    assert 'id="not-signed"' in client.get(f"/orders/{started['id']}/sales-list").data.decode()
    started, _ship = _signed(api)
    [sig] = _detail(api, started["id"])["signatures"]
    page = client.get(f"/orders/{started['id']}/sales-list").data.decode()
    assert "Signed by Vice president 1 on " in page and "approved for release" in page
    assert f"SHA-256 {sig['content_sha256']}" in page and 'data-status="valid"' in page
    assert started["business_key"] in page and "TV-32" in page and "@media print" not in page  # CSS is a file
    assert "sales_list.css" in page and "data-print" in page and "vendor/app/app.js" in page
    order_page = client.get(f"/orders/{started['id']}").data.decode()
    assert 'id="signatures"' in order_page and sig["content_sha256"][:12] in order_page
    assert f"/orders/{started['id']}/sales-list" in order_page and f"/orders/{started['id']}/audit.csv" in order_page
    login(client, "purchasing2")                           # took no part in the order
    assert client.get(f"/orders/{started['id']}/sales-list").status_code == 403
