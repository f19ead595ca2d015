"""Process owners' drafts through the API: open, save, check, deploy; and what the modeler offers."""
from __future__ import annotations

import json

from tests.support.helpers import Api


def put(api: Api, user: str, path: str, body: dict):
    return api.client.put(path, headers=api.auth(user), json=body)


def test_handler_catalogue_lists_docstrings_and_parameters(api):
    items = {h["name"]: h for h in api.get("owner1", "/api/v1/handlers").json["items"]}
    assert "price_order" in items
    assert items["price_order"]["params"] == [{"name": "lines", "required": True, "default": None}]
    assert items["price_order"]["doc"]  # the docstring is what the modeler shows
    assert api.get("sales1", "/api/v1/handlers").status_code == 403


def test_groups_and_forms_for_the_modeler(api):
    groups = {g["id"] for g in api.get("owner1", "/api/v1/groups").json["items"]}
    assert {"sales", "quality", "warehouse"} <= groups
    forms = {f["key"]: f for f in api.get("owner1", "/api/v1/forms?process=order_flow").json["items"]}
    assert forms["approve_order"]["source"] == "version"
    assert api.get("owner1", "/api/v1/forms/approve_order?process=order_flow").json["schema"]["type"] == "object"
    assert api.get("owner1", "/api/v1/forms/nope").status_code == 404


def test_opening_a_draft_changes_nothing_until_saved(api, app):
    opened = api.get("owner1", "/api/v1/processes/order_flow/draft").json
    assert opened["saved"] is False and opened["base_version"] == 1
    assert 'id="order_flow"' in opened["bpmn"]
    assert api.get("owner1", "/api/v1/processes/order_flow/draft/bpmn").status_code == 404


def test_edit_check_and_deploy_a_draft(api):
    bpmn = api.get("owner1", "/api/v1/processes/order_flow/draft").json["bpmn"]
    renamed = bpmn.replace('name="Review order 订单审核"', 'name="Review the order 订单审核"', 1)
    assert renamed != bpmn
    saved = put(api, "owner1", "/api/v1/processes/order_flow/draft", {"bpmn": renamed})
    assert saved.status_code == 200 and saved.json["saved"] is True
    lock = saved.json["lock_version"]

    # a stale writer is told, and loses nothing of the first save
    stale = put(api, "owner1", "/api/v1/processes/order_flow/draft", {"bpmn": bpmn, "lock_version": lock - 1})
    assert stale.status_code == 409
    assert "Review the order" in api.get("owner1", "/api/v1/processes/order_flow/draft").json["bpmn"]

    check = api.post("owner1", "/api/v1/processes/order_flow/draft/check")
    assert check.status_code == 200 and check.json["ok"] is True, check.json
    deployed = api.post("owner1", "/api/v1/processes/order_flow/draft/deploy")
    assert deployed.status_code == 201 and deployed.json["deployed"][0]["version"] == 2
    assert api.get("owner1", "/api/v1/processes/order_flow/draft").json["saved"] is False
    assert "Review the order" in api.get("owner1", "/api/v1/processes/order_flow/bpmn").get_data(as_text=True)
    download = api.get("owner1", "/api/v1/processes/order_flow/bpmn?version=1&download=1")
    assert "order_flow-v1.bpmn" in download.headers["Content-Disposition"]


def test_check_marks_the_element_and_deploy_refuses(api):
    bpmn = api.get("owner1", "/api/v1/processes/order_flow/draft").json["bpmn"]
    broken = bpmn.replace('<spiffworkflow:serviceTaskOperator id="price_order"',
                          '<spiffworkflow:serviceTaskOperator id="no_such_handler"', 1)
    assert broken != bpmn
    put(api, "owner1", "/api/v1/processes/order_flow/draft", {"bpmn": broken})
    check = api.post("owner1", "/api/v1/processes/order_flow/draft/check").json
    assert check["ok"] is False
    problem = check["problems"][0]
    assert "no_such_handler" in problem["message"] and problem["element_id"] and problem["line"]
    refused = api.post("owner1", "/api/v1/processes/order_flow/draft/deploy")
    assert refused.status_code == 422 and refused.json["error"]["problems"][0]["element_id"] == problem["element_id"]
    assert api.get("owner1", "/api/v1/processes/order_flow/draft").json["saved"] is True  # the draft is kept


def test_edited_forms_deploy_with_the_version(api):
    schema = api.get("owner1", "/api/v1/forms/approve_order?process=order_flow").json["schema"]
    schema = {**schema, "title": "Approve (v2)"}
    assert put(api, "owner1", "/api/v1/processes/order_flow/draft", {"forms": {"approve_order": schema}}).status_code == 200
    assert api.get("owner1", "/api/v1/forms/approve_order?process=order_flow").json["source"] == "draft"
    assert api.post("owner1", "/api/v1/processes/order_flow/draft/deploy").status_code == 201
    assert api.get("owner1", "/api/v1/forms/approve_order?process=order_flow").json["schema"]["title"] == "Approve (v2)"


def test_new_process_from_a_blank_draft(api):
    created = api.post("owner1", "/api/v1/processes/drafts", {"key": "quick_check", "name": "Quick check"})
    assert created.status_code == 201, created.json
    assert api.post("owner1", "/api/v1/processes/drafts", {"key": "quick_check"}).status_code == 409
    assert api.post("owner1", "/api/v1/processes/drafts", {"key": "bad key!"}).status_code == 422
    deployed = api.post("owner1", "/api/v1/processes/quick_check/draft/deploy")
    assert deployed.status_code == 201 and deployed.json["deployed"] == [{"key": "quick_check", "version": 1}]


def test_check_an_upload_without_deploying(api, client):
    from tests.support.bpmn_samples import script_process
    ok = client.post("/api/v1/processes/check", data=script_process("x = 1"), headers=api.auth("owner1"),
                     content_type="application/xml")
    assert ok.status_code == 200 and ok.json["ok"] and ok.json["processes"] == [{"key": "scripted", "name": "scripted"}]
    bad = client.post("/api/v1/processes/check", data=script_process("x = __import__('os')"),
                      headers=api.auth("owner1"), content_type="application/xml")
    assert bad.status_code == 200 and not bad.json["ok"] and bad.json["problems"][0]["element_id"] == "calc"
    assert api.get("owner1", "/api/v1/processes/scripted").status_code == 404  # nothing deployed


def test_drafts_are_for_process_owners(api):
    assert api.get("sales1", "/api/v1/processes/order_flow/draft").status_code == 403
    assert put(api, "sales1", "/api/v1/processes/order_flow/draft", {"bpmn": "<x/>"}).status_code == 403
    assert api.post("manager1", "/api/v1/processes/order_flow/draft/deploy").status_code == 403


def test_bad_draft_bodies_get_clear_errors(api, client):
    assert put(api, "owner1", "/api/v1/processes/order_flow/draft", {"bpmn": ""}).status_code == 422
    assert put(api, "owner1", "/api/v1/processes/order_flow/draft", {"forms": []}).status_code == 422
    assert put(api, "owner1", "/api/v1/processes/order_flow/draft", {"lock_version": "x"}).status_code == 422
    raw = client.put("/api/v1/processes/order_flow/draft", data="not json", headers=api.auth("owner1"))
    assert raw.status_code == 422
    assert api.get("owner1", "/api/v1/processes/nope/draft").status_code == 404
    assert json.loads(api.post("owner1", "/api/v1/processes/nope/draft/deploy").data)["error"]["code"] == "not_found"


def test_a_first_save_does_not_overwrite_a_draft_saved_meanwhile(api):
    opened = api.get("owner1", "/api/v1/processes/order_flow/draft").json
    assert put(api, "owner1", "/api/v1/processes/order_flow/draft", {"bpmn": opened["bpmn"], "lock_version": 0}).status_code == 200
    second = put(api, "owner1", "/api/v1/processes/order_flow/draft", {"bpmn": opened["bpmn"], "lock_version": 0})
    assert second.status_code == 409 and "owner1" in second.json["error"]["message"]


def test_a_draft_can_start_from_an_older_version(api):
    bpmn = api.get("owner1", "/api/v1/processes/order_flow/draft").json["bpmn"]
    put(api, "owner1", "/api/v1/processes/order_flow/draft", {"bpmn": bpmn.replace("订单审核", "订单审核 v2", 1)})
    assert api.post("owner1", "/api/v1/processes/order_flow/draft/deploy").status_code == 201
    old = api.get("owner1", "/api/v1/processes/order_flow/draft?version=1").json
    assert old["base_version"] == 1 and "订单审核 v2" not in old["bpmn"]
    saved = put(api, "owner1", "/api/v1/processes/order_flow/draft",
                {"bpmn": old["bpmn"], "lock_version": 0, "base_version": 1})
    assert saved.status_code == 200 and saved.json["base_version"] == 1
    assert put(api, "owner1", "/api/v1/processes/order_flow/draft", {"base_version": "x"}).status_code == 422
