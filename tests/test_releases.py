"""Releasing a draft: before the deploy, what changes and which open orders stay on their versions;
the deploy keeps the release note, and the versions page and API show it."""
from __future__ import annotations

import io
from pathlib import Path

from tests.support.helpers import Api, login

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _edit_draft(api: Api) -> None:
    bpmn = api.get("owner1", "/api/v1/processes/order_flow/draft").json["bpmn"]
    edited = (bpmn.replace('name="Review order 订单审核"', 'name="Review the order 订单审核"', 1)
              .replace('<spiffworkflow:property name="sla" value="PT3H"/>',
                       '<spiffworkflow:property name="sla" value="PT5H"/>', 1))
    assert edited.count("PT5H") == 1 and "Review the order" in edited
    resp = api.client.put("/api/v1/processes/order_flow/draft", headers=api.auth("owner1"), json={"bpmn": edited})
    assert resp.status_code == 200, resp.json


def test_the_release_preview_says_what_changes_and_who_stays(api: Api):
    api.start_order()
    api.start_order()
    _edit_draft(api)
    preview = api.get("owner1", "/api/v1/processes/order_flow/draft/release").json
    assert preview["ok"] is True and preview["from"] == 1
    assert preview["summary"]["steps_changed"] == ["Review the order 订单审核"]
    assert preview["summary"]["time_limits"] == ["Check stock 库存确认"]
    assert {"attribute": "sla", "from": "PT3H", "to": "PT5H"} in next(
        e for e in preview["changes"]["changed"] if e["element_id"] == "check_stock")["changes"]
    assert preview["staying"] == [{"version": 1, "orders": 2}] and preview["staying_total"] == 2
    assert api.get("sales1", "/api/v1/processes/order_flow/draft/release").status_code == 403


def test_the_deploy_keeps_the_note_and_the_versions_show_it(api: Api, client):
    _edit_draft(api)
    note = "Review takes a named reviewer.\nStock checks get five hours."
    deployed = api.post("owner1", "/api/v1/processes/order_flow/draft/deploy", {"note": f"  {note}  "})
    assert deployed.status_code == 201, deployed.json
    versions = api.get("owner1", "/api/v1/processes/order_flow/versions").json["items"]
    assert [(v["version"], v["note"]) for v in versions] == [(1, None), (2, note)]
    login(client, "owner1")
    page = client.get("/processes/order_flow/versions").get_data(as_text=True)
    assert "Review takes a named reviewer." in page


def test_a_release_note_is_bounded_text_and_a_refusal_loses_the_draft_nothing(api: Api):
    _edit_draft(api)
    for bad in ("x" * 2001, 42, ["list"]):
        refused = api.post("owner1", "/api/v1/processes/order_flow/draft/deploy", {"note": bad})
        assert refused.status_code == 422 and "note" in refused.json["error"]["fields"], refused.json
    assert api.get("owner1", "/api/v1/processes/order_flow/draft").json["saved"] is True   # still there
    assert api.post("owner1", "/api/v1/processes/order_flow/draft/deploy", {"note": "x" * 2000}).status_code == 201


def test_an_upload_carries_its_note_too(api: Api):
    files = {name: (BENCH / name).read_bytes() for name in ("small.bpmn", "bench_small_start.json",
                                                            "bench_small_step.json")}
    upload = {"files": [(io.BytesIO(text), name) for name, text in files.items()], "note": "First cut."}
    resp = api.client.post("/api/v1/processes", data=upload, headers=api.auth("owner1"),
                           content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    assert api.get("owner1", "/api/v1/processes/bench_small/versions").json["items"][0]["note"] == "First cut."


def test_a_draft_that_does_not_compile_gets_its_problems_not_a_preview(api: Api):
    bpmn = api.get("owner1", "/api/v1/processes/order_flow/draft").json["bpmn"]
    broken = bpmn.replace('serviceTaskOperator id="price_order"', 'serviceTaskOperator id="no_such_handler"', 1)
    api.client.put("/api/v1/processes/order_flow/draft", headers=api.auth("owner1"), json={"bpmn": broken})
    preview = api.get("owner1", "/api/v1/processes/order_flow/draft/release").json
    assert preview["ok"] is False and any("no_such_handler" in p["message"] for p in preview["problems"])
    assert api.get("owner1", "/api/v1/processes/nope/draft/release").status_code == 404


def test_the_release_dialog_speaks_the_owners_language(client):
    login(client, "owner1")
    page = client.get("/processes/order_flow/edit", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'id="modeler-release"' in page and "版本说明" in page and "时限变更" in page
    english = client.get("/processes/order_flow/edit", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Release note" in english and "Time limits changed" in english


def test_every_change_of_the_draft_has_a_page(api: Api, client):
    login(client, "owner1")
    assert client.get("/processes/order_flow/diff/draft").status_code == 404          # no draft yet
    _edit_draft(api)
    page = client.get("/processes/order_flow/diff/draft").get_data(as_text=True)
    assert 'id="diff-draft"' in page and "Changes from version 1 to the draft" in page
    assert 'data-element="check_stock"' in page and "PT5H" in page
    login(client, "sales1")
    assert client.get("/processes/order_flow/diff/draft").status_code == 403
    broken = api.get("owner1", "/api/v1/processes/order_flow/draft").json["bpmn"].replace(
        'targetRef="review_order"', 'targetRef="nowhere"', 1)
    api.client.put("/api/v1/processes/order_flow/draft", headers=api.auth("owner1"), json={"bpmn": broken})
    login(client, "owner1")
    refused = client.get("/processes/order_flow/diff/draft")
    assert refused.status_code == 422 and "does not compile" in refused.get_data(as_text=True)
