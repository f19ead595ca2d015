"""Who may act on a task, and bad input answered 4xx with the instance unchanged."""
from __future__ import annotations

from tests.support.helpers import NEW_ORDER, Api


def first_task(api: Api) -> tuple[dict, dict]:
    started = api.start_order()
    return started, started["open_tasks"][0]


def snapshot(app, instance_id: int):
    from sqlalchemy import func, select

    from orderflow.core.models import AuditEvent, HumanTask, Instance
    from orderflow.workflow import runs
    with app.extensions["orderflow.db"].session() as s:
        inst = s.get(Instance, instance_id)
        tasks = s.execute(select(HumanTask.id, HumanTask.status, HumanTask.assignee)
                          .where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)).all()
        events = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.instance_id == instance_id))
        return runs.read_state(s, inst), inst.lock_version, inst.status, tasks, events


def test_login_is_required(api: Api):
    assert api.client.get("/api/v1/tasks").status_code == 401
    assert api.client.get("/api/v1/tasks", headers=api.auth("sales1", "wrong")).status_code == 401
    page = api.client.get("/inbox")
    assert page.status_code == 302 and "/login" in page.location


def test_other_groups_cannot_see_or_complete(api: Api):
    _, task = first_task(api)  # check_stock belongs to warehouse
    assert api.get("sales1", f"/api/v1/tasks/{task['id']}").status_code == 403
    resp = api.post("finance1", f"/api/v1/tasks/{task['id']}/complete", {"data": {"decision": "sufficient"}})
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "forbidden"
    assert api.get("manager1", f"/api/v1/tasks/{task['id']}").status_code == 200  # managers may look


def test_someone_elses_claim_is_409(api: Api):
    _, task = first_task(api)
    assert api.post("warehouse1", f"/api/v1/tasks/{task['id']}/claim").json["assignee"] == "warehouse1"
    assert api.post("warehouse2", f"/api/v1/tasks/{task['id']}/claim").status_code == 409
    resp = api.post("warehouse2", f"/api/v1/tasks/{task['id']}/complete",
                    {"data": {"decision": "sufficient"}})
    assert resp.status_code == 409
    assert api.post("warehouse2", f"/api/v1/tasks/{task['id']}/release").status_code == 409
    assert api.post("warehouse1", f"/api/v1/tasks/{task['id']}/release").json["assignee"] is None
    assert api.complete("warehouse2", task["id"]).status_code == 200


def test_completing_twice_is_409(api: Api):
    _, task = first_task(api)
    assert api.complete("warehouse1", task["id"]).status_code == 200
    again = api.post("warehouse1", f"/api/v1/tasks/{task['id']}/complete", {"data": {"decision": "sufficient"}})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "task_not_ready"


def test_invalid_form_data_is_422_and_changes_nothing(app, api: Api):
    started, task = first_task(api)
    before = snapshot(app, started["id"])
    for body in ({"data": {"decision": "maybe"}}, {"data": {}}, {"data": {"decision": "sufficient", "nope": 1}},
                 {"data": "text"}, [1, 2]):
        resp = api.post("warehouse1", f"/api/v1/tasks/{task['id']}/complete", body)
        assert resp.status_code == 422, (body, resp.json)
        assert resp.json["error"]["code"] == "invalid_input"
        assert resp.json["error"]["message"]
    resp = api.post("warehouse1", f"/api/v1/tasks/{task['id']}/complete", {"data": {"decision": "maybe"}})
    assert set(resp.json["error"]["fields"]) == {"decision"}
    assert snapshot(app, started["id"]) == before


def test_start_form_errors_name_the_fields(api: Api):
    resp = api.post("sales1", "/api/v1/processes/order_flow/instances",
                    {"data": {**NEW_ORDER, "lines": [{"product": "", "quantity": 0, "unit_price": -1}],
                              "promised_date": "next week"}})
    assert resp.status_code == 422
    fields = resp.json["error"]["fields"]
    assert {"lines.0.quantity", "lines.0.unit_price", "promised_date"} <= set(fields)
    assert api.get("manager1", "/api/v1/instances").json["items"] == []


def test_only_sales_start_orders(api: Api):
    resp = api.post("warehouse1", "/api/v1/processes/order_flow/instances", {"data": NEW_ORDER})
    assert resp.status_code == 403


def test_signature_needs_the_password(app, api: Api):
    started = api.start_order()
    task = api.drive_to(started["id"], "sign_release")
    resp = api.complete("vp1", task["id"])
    assert resp.status_code == 422 and "password" in resp.json["error"]["fields"]
    assert api.complete("vp1", task["id"], password="wrong").status_code == 422
    assert api.complete("vp1", task["id"], password="demo").status_code == 200
    events = api.get("manager1", f"/api/v1/instances/{started['id']}/audit").json["items"]
    assert any(e["action"] == "signature" and e["actor"] == "vp1" for e in events)


def test_suspended_orders_hold_their_tasks(api: Api):
    started, task = first_task(api)
    assert api.post("sales1", f"/api/v1/instances/{started['id']}/suspend").status_code == 403
    assert api.post("manager1", f"/api/v1/instances/{started['id']}/suspend").json["status"] == "suspended"
    assert api.complete("warehouse1", task["id"]).status_code == 409
    assert api.get("warehouse1", "/api/v1/tasks").json["items"] == []
    assert api.post("manager1", f"/api/v1/instances/{started['id']}/resume").json["status"] == "running"
    assert api.complete("warehouse1", task["id"]).status_code == 200
    assert api.post("manager1", f"/api/v1/instances/{started['id']}/terminate").json["status"] == "terminated"
    assert api.open_tasks(started["id"]) == []


def test_participants_see_their_orders_others_do_not(api: Api):
    started, _ = first_task(api)
    assert api.get("sales1", f"/api/v1/instances/{started['id']}").status_code == 200
    assert api.get("warehouse1", f"/api/v1/instances/{started['id']}").status_code == 200  # it waits on them
    assert api.get("finance1", f"/api/v1/instances/{started['id']}").status_code == 403
    assert api.get("finance1", "/api/v1/instances").json["items"] == []
    assert len(api.get("manager1", "/api/v1/instances").json["items"]) == 1


def test_cookie_writes_need_csrf(client):
    import re
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.data.decode()).group(1)
    assert client.post("/login", data={"username": "sales1", "password": "demo"}).status_code == 400
    assert client.post("/login", data={"username": "sales1", "password": "demo", "csrf_token": token}).status_code == 302
    assert client.post("/api/v1/processes/order_flow/instances", json={"data": NEW_ORDER}).status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/inbox").data.decode()).group(1)
    resp = client.post("/api/v1/processes/order_flow/instances", json={"data": NEW_ORDER},
                       headers={"X-CSRFToken": token})
    assert resp.status_code == 201


def test_pagination_and_unknown_endpoints(api: Api):
    for _ in range(3):
        api.start_order()
    page1 = api.get("manager1", "/api/v1/instances?limit=2").json
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = api.get("manager1", f"/api/v1/instances?limit=2&cursor={page1['next_cursor']}").json
    assert len(page2["items"]) == 1 and page2["next_cursor"] is None
    assert {i["id"] for i in page1["items"]}.isdisjoint(i["id"] for i in page2["items"])
    assert api.get("manager1", "/api/v1/instances?limit=0").status_code == 422
    assert api.get("manager1", "/api/v1/instances?cursor=garbage").status_code == 422
    missing = api.get("manager1", "/api/v1/nothing")
    assert missing.status_code == 404 and "/api/v1/nothing" in missing.json["error"]["message"]
    assert api.get("manager1", "/api/v1/instances/999").status_code == 404
