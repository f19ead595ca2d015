"""Diagrams saved by Camunda Modeler run without edits; DMN tables decide in business-rule tasks."""
from __future__ import annotations

import io

import pytest

from tests.support.camunda_samples import CLAIM, SHIP, SHIPPING_DMN
from tests.support.helpers import Api


def upload(api: Api, files: dict[str, str], user: str = "owner1"):
    data = {"files": [(io.BytesIO(text.encode()), name) for name, text in files.items()]}
    return api.client.post("/api/v1/processes", data=data, headers=api.auth(user), content_type="multipart/form-data")


def test_a_camunda_modeler_diagram_runs_without_edits(api: Api):
    deployed = upload(api, {"claims.bpmn": CLAIM})
    assert deployed.status_code == 201, deployed.json
    # approve has no form (a button only); the start event is in no lane: only administrators may start it
    assert sorted(w["element_id"] for w in deployed.json["warnings"]) == ["approve", "start"]
    lines = [{"product": "TV-32", "quantity": 2, "unit_price": 10}]
    started = api.post("admin", "/api/v1/processes/claims/instances", {"data": {"lines": lines}})
    assert started.status_code == 201, started.json
    enter = started.json["open_tasks"][0]
    assert enter["group"] == "sales"  # camunda:candidateGroups

    # the form generated from camunda:formData validates like any other form
    form = api.get("sales1", f"/api/v1/tasks/{enter['id']}").json["form"]
    assert form["properties"]["kind"]["enum"] == ["repair", "refund"]
    assert form["required"] == ["amount"]
    refused = api.post("sales1", f"/api/v1/tasks/{enter['id']}/complete", {"data": {"amount": 0, "kind": "refund"}})
    assert refused.status_code == 422 and "amount" in refused.json["error"]["fields"]

    done = api.post("sales1", f"/api/v1/tasks/{enter['id']}/complete",
                    {"data": {"amount": 5000, "kind": "refund", "urgent": False}})
    assert done.status_code == 200, done.json
    instance = api.get("manager1", f"/api/v1/instances/{started.json['id']}").json
    assert instance["incidents"] == [], instance["incidents"][0]["message"]
    assert "pricing" not in instance["data"], instance["data"]
    assert instance["data"]["order_total"] == 20  # topic -> handler
    approve = next(t for t in instance["open_tasks"] if t["element_id"] == "approve")  # the JUEL condition held
    assert approve["group"] == "sales_manager" and approve["assignee"] == "sales_manager2"
    assert approve["due_at"]  # camunda:dueDate P2D


def test_juel_that_cannot_be_translated_is_refused_naming_the_element(api: Api):
    broken = CLAIM.replace("${amount &gt; 1000 &amp;&amp; kind eq 'refund' || urgent}",
                           "${execution.getVariable('amount') &gt; 1000}")
    resp = upload(api, {"claims.bpmn": broken})
    assert resp.status_code == 422
    problem = resp.json["error"]["problems"][0]
    assert problem["element_id"] == "big_flow" and "JUEL" in problem["message"] and problem["line"]


def test_java_delegates_are_refused_naming_the_element(api: Api):
    java = CLAIM.replace('camunda:type="external" camunda:topic="price_order"', 'camunda:class="com.acme.Price"')
    resp = upload(api, {"claims.bpmn": java})
    assert resp.status_code == 422
    assert resp.json["error"]["problems"][0]["element_id"] == "price"
    unknown = CLAIM.replace('camunda:topic="price_order"', 'camunda:topic="no_such_worker"')
    resp = upload(api, {"claims.bpmn": unknown})
    assert resp.status_code == 422 and "no_such_worker" in resp.json["error"]["message"]


@pytest.mark.parametrize("weight, zone, method", [(5, "HK", "courier"), (5, "CN", "post"), (50, "HK", "freight")])
def test_a_dmn_table_with_feel_cells_decides(api: Api, weight, zone, method):
    assert upload(api, {"ship.bpmn": SHIP, "shipping.dmn": SHIPPING_DMN}).status_code == 201
    started = api.post("admin", "/api/v1/processes/ship/instances", {"data": {"weight": weight, "zone": zone}})
    assert started.status_code == 201 and started.json["status"] == "completed", started.json
    assert api.get("manager1", f"/api/v1/instances/{started.json['id']}").json["data"]["method"] == method


def test_dmn_problems_are_refused_naming_the_table_or_rule(api: Api):
    several = SHIPPING_DMN.replace("</definitions>", '<decision id="other"><decisionTable id="t2"/></decision></definitions>')
    resp = upload(api, {"ship.bpmn": SHIP, "shipping.dmn": several})
    assert resp.status_code == 422 and "single-decision" in resp.json["error"]["message"]
    assert resp.json["error"]["problems"][0]["element_id"] == "other"
    policy = SHIPPING_DMN.replace('hitPolicy="FIRST"', 'hitPolicy="PRIORITY"')
    resp = upload(api, {"ship.bpmn": SHIP, "shipping.dmn": policy})
    assert resp.status_code == 422 and resp.json["error"]["problems"][0]["element_id"] == "shipping_table"
    unsafe = SHIPPING_DMN.replace('"courier"', '__import__("os")')
    resp = upload(api, {"ship.bpmn": SHIP, "shipping.dmn": unsafe})
    assert resp.status_code == 422 and resp.json["error"]["problems"][0]["element_id"] == "r1"
    missing = SHIP.replace('camunda:decisionRef="shipping"', "")
    resp = upload(api, {"ship.bpmn": missing})
    assert resp.status_code == 422 and resp.json["error"]["problems"][0]["element_id"] == "decide"


@pytest.mark.parametrize("total, tier, approver", [
    (17_100, "standard", "approve_order_manager"),
    (60_000, "standard", "approve_order_manager"),
    (60_000, "strategic", "approve_order_vp"),
    (150_000, "standard", "approve_order_vp"),
])
def test_the_order_flow_asks_the_approval_dmn_who_approves(api: Api, total, tier, approver):
    order = api.start_order(customer_tier=tier, lines=[{"product": "TV-32", "spec": "x", "quantity": 1,
                                                        "unit_price": total}])
    for _ in range(10):  # stock check and review come first
        open_now = api.open_tasks(order["id"])
        approval = [t["element_id"] for t in open_now if t["element_id"].startswith("approve_order")]
        if approval:
            break
        assert api.complete(f"{open_now[0]['group']}1", open_now[0]["id"]).status_code == 200
    assert approval == [approver]
