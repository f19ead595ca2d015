"""Messages from outside find their one receiver through the correlation index."""
from __future__ import annotations

from sqlalchemy import select

from orderflow.core.models import CorrelationKey, User
from orderflow.workflow import instances
from tests.support import bpmn_samples as samples
from tests.support.helpers import Api


def deploy(api: Api, xml: str) -> None:
    resp = api.client.post("/api/v1/processes", data=xml.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json


def test_a_message_reaches_the_right_order_among_a_thousand(app, api):
    deploy(api, samples.MESSAGE_WAIT)
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        admin = s.scalar(select(User).where(User.username == "admin"))
        ids = {n: instances.start(s, admin, "paying", {"order_ref": f"PO-{n:04d}"}).id for n in range(1000)}
        s.commit()
        assert s.query(CorrelationKey).count() == 1000
    resp = api.post("bank1", "/api/v1/messages/payment_received",
                    {"correlation": {"order_ref": "PO-0742"}, "payload": {"amount": 1234.5}})
    assert resp.status_code == 200, resp.json
    assert resp.json["instance_id"] == ids[742]
    detail = api.get("manager1", f"/api/v1/instances/{ids[742]}").json
    assert detail["status"] == "completed" and detail["data"]["paid_amount"] == 1234.5
    assert api.get("manager1", f"/api/v1/instances/{ids[743]}").json["status"] == "running"
    # the receiver no longer waits: a second notice finds nobody
    again = api.post("bank1", "/api/v1/messages/payment_received",
                     {"correlation": {"order_ref": "PO-0742"}, "payload": {"amount": 1}})
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"


def test_message_errors(app, api):
    deploy(api, samples.MESSAGE_WAIT)
    api.post("admin", "/api/v1/processes/paying/instances", {"data": {"order_ref": "A"}})
    url = "/api/v1/messages/payment_received"
    assert api.post("sales1", url, {"correlation": {"order_ref": "A"}}).status_code == 403
    assert api.post("bank1", url, {"correlation": {}}).status_code == 422
    assert api.post("bank1", url, {"correlation": {"order_ref": "A"}, "payload": [1]}).status_code == 422
    assert api.post("bank1", url, {"correlation": {"order_ref": "B"}}).status_code == 404
    assert api.post("bank1", "/api/v1/messages/other", {"correlation": {"order_ref": "A"}}).status_code == 404
    api.post("admin", "/api/v1/processes/paying/instances", {"data": {"order_ref": "A"}})
    ambiguous = api.post("bank1", url, {"correlation": {"order_ref": "A"}, "payload": {"amount": 1}})
    assert ambiguous.status_code == 409


def test_the_banks_deposit_notice_moves_the_order_on(api: Api):
    started = api.start_order()
    task = api.drive_to(started["id"], "confirm_deposit")
    resp = api.post("bank1", "/api/v1/messages/deposit_notice", {
        "correlation": {"order_no": started["business_key"]},
        "payload": {"amount": 5130.0, "payer": "Shenzhen Bright Electronics", "date": "2026-12-01"}})
    assert resp.status_code == 200, resp.json
    assert resp.json["instance_id"] == started["id"]
    detail = api.get("manager1", f"/api/v1/instances/{started['id']}").json
    assert [t["element_id"] for t in detail["open_tasks"]] == ["release_order"]
    assert detail["data"]["deposit_amount"] == 5130.0
    # finance's manual confirmation is gone: whichever came first moved the order on
    assert api.complete("finance1", task["id"]).status_code == 409
