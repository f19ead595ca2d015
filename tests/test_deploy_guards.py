"""Deploying: versions, and malformed or hostile BPMN refused with problems that name the element."""
from __future__ import annotations

import pytest

from tests.support import bpmn_samples as samples
from tests.support.helpers import Api


def deploy(api: Api, xml: str, user: str = "owner1"):
    return api.client.post("/api/v1/processes", data=xml.encode(), headers={
        **api.auth(user), "Content-Type": "application/xml"})


def process_count(api: Api) -> int:
    return len(api.get("owner1", "/api/v1/processes").json["items"])


def test_redeploy_makes_a_new_version_and_running_orders_keep_theirs(api: Api):
    first = api.start_order()
    xml = api.get("owner1", "/api/v1/processes/order_flow/bpmn").data.decode()
    changed = xml.replace('name="Review order 订单审核"', 'name="Review the order 订单审核"')
    resp = deploy(api, changed)
    assert resp.status_code == 201, resp.json
    assert resp.json["deployed"] == [{"key": "order_flow", "version": 2}]
    assert deploy(api, changed).json["deployed"] == [{"key": "order_flow", "version": 2}]  # unchanged: same version
    second = api.start_order()
    assert api.get("manager1", f"/api/v1/instances/{first['id']}").json["version"] == 1
    assert api.get("manager1", f"/api/v1/instances/{second['id']}").json["version"] == 2
    assert "Review the order" in api.get("owner1", "/api/v1/processes/order_flow/bpmn?version=2").data.decode()
    assert "Review the order" not in api.get("owner1", "/api/v1/processes/order_flow/bpmn?version=1").data.decode()


def test_only_process_owners_deploy(api: Api):
    resp = deploy(api, samples.script_process("a = 1"), user="sales1")
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "forbidden"


@pytest.mark.parametrize("xml, element, words", [
    (samples.XXE, None, "DOCTYPE"),
    (samples.BILLION_LAUGHS, None, "DOCTYPE"),
    (samples.script_process('x = __import__("os").system("touch /tmp/orderflow-pwned")'), "calc", "__import__"),
    (samples.script_process("import os"), "calc", "name = expression"),
    (samples.script_process("x = open('/etc/passwd').read()"), "calc", "open"),
    (samples.script_process("x = ().__class__.__bases__"), "calc", "__class__"),
    (samples.service_process("no_such_handler"), "call", "Unknown handler"),
    (samples.NO_DEFAULT, "choose", "default"),
    (samples.BAD_TIMER, "wait", "ISO-8601"),
    ("this is not xml", None, "not well-formed"),
    ('<?xml version="1.0"?><html/>', None, "not a BPMN"),
])
def test_bad_diagrams_are_refused_with_the_element_named(api: Api, xml: str, element: str | None, words: str):
    before = process_count(api)
    resp = deploy(api, xml)
    assert resp.status_code == 422, resp.data
    error = resp.json["error"]
    assert error["code"] == "invalid_process"
    matching = [p for p in error["problems"] if words in p["message"]]
    assert matching, error["problems"]
    if element:
        assert matching[0]["element_id"] == element
        assert isinstance(matching[0]["line"], int) and matching[0]["line"] > 0
    assert process_count(api) == before
    assert "root:" not in resp.data.decode()  # no file content leaked


def test_nothing_from_a_hostile_script_ran(api: Api, tmp_path):
    import os
    deploy(api, samples.script_process('x = __import__("os").system("touch /tmp/orderflow-pwned")'))
    assert not os.path.exists("/tmp/orderflow-pwned")


def test_multipart_upload_deploys_a_bundle(api: Api):
    resp = api.client.post("/api/v1/processes", headers=api.auth("owner1"), data={
        "files": [(__import__("io").BytesIO(samples.script_process("a = 1").encode()), "scripted.bpmn")]},
        content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    assert resp.json["deployed"] == [{"key": "scripted", "version": 1}]


def test_oversized_upload_is_413(app, api: Api):
    big = samples.script_process("a = 1").replace("Calculate", "x" * (6 * 1024 * 1024))
    resp = deploy(api, big)
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "too_large"


def test_a_user_task_without_group_or_form_deploys_with_warnings_and_reaches_the_default_group(api: Api):
    resp = deploy(api, samples.USER_TASK_BARE)
    assert resp.status_code == 201, resp.json
    warnings = {w["message"].split(",")[0]: w for w in resp.json["warnings"]}
    assert {w["element_id"] for w in resp.json["warnings"]} == {"approve", "start"}    # only admins may start it
    assert any("no group" in m for m in warnings) and any("no form" in m for m in warnings)
    started = api.post("admin", "/api/v1/processes/bare/instances", {"data": {}})
    assert started.status_code == 201, started.json
    assert started.json["open_tasks"][0]["group"] == "process_owner"  # ORDERFLOW_DEFAULT_TASK_GROUP
