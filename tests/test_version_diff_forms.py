"""What changed between two versions includes their forms (fields added, removed, now required or
optional, settings changed, the columns of a table of lines) and names flows by the steps they join."""
from __future__ import annotations

import copy
import io
import json
from pathlib import Path

from orderflow.workflow.form_diff import diff_forms, used_forms
from tests.support.helpers import Api, login

BENCH = Path(__file__).resolve().parent.parent / "bench"
STEP = json.loads((BENCH / "bench_small_step.json").read_text())


def _deploy(api: Api, step_form: dict, bpmn: str | None = None) -> None:
    texts = {"small.bpmn": (bpmn or (BENCH / "small.bpmn").read_text()).encode(),
             "bench_small_start.json": (BENCH / "bench_small_start.json").read_bytes(),
             "bench_small_step.json": json.dumps(step_form).encode()}
    upload = {"files": [(io.BytesIO(text), name) for name, text in texts.items()]}
    resp = api.client.post("/api/v1/processes", data=upload, headers=api.auth("owner1"),
                           content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json


def _two_versions(api: Api) -> None:
    before = copy.deepcopy(STEP)
    before["properties"]["priority"] = {"type": "string", "title": "Priority", "enum": ["low", "high"]}
    before["properties"]["lines"] = {"type": "array", "title": "Lines", "items": {
        "type": "object", "properties": {"sku": {"type": "string", "title": "SKU"}}}}
    after = copy.deepcopy(before)
    del after["properties"]["priority"]
    after["properties"]["note"]["maxLength"] = 200
    after["properties"]["checked_by"] = {"type": "string", "title": "Checked by"}
    after["properties"]["lines"]["items"]["properties"]["qty"] = {"type": "integer", "title": "Quantity"}
    after["required"] = ["checked_by"]
    after["title"] = "Step, checked"
    _deploy(api, before)
    bpmn = (BENCH / "small.bpmn").read_text().replace(
        '<bpmn:sequenceFlow id="flow_0" sourceRef="start"', '<bpmn:sequenceFlow id="flow_0" name="New order in" sourceRef="start"')
    _deploy(api, after, bpmn)


def test_the_diff_lists_form_fields_and_names_flows(api: Api):
    _two_versions(api)
    diff = api.get("owner1", "/api/v1/processes/bench_small/diff?from=1&to=2").json
    forms = diff["forms"]
    assert forms["added"] == [] and forms["removed"] == []
    [step] = forms["changed"]
    assert step["form"] == "bench_small_step" and step["title"] == "Step, checked"
    assert step["steps"] == [f"Step {n}" for n in range(1, 7)]
    assert step["settings"] == [{"attribute": "title", "from": "Step", "to": "Step, checked"}]
    fields = step["fields"]
    assert [(f["field"], f["required"]) for f in fields["added"]] == [("checked_by", True), ("lines[].qty", False)]
    assert [f["field"] for f in fields["removed"]] == ["priority"]
    assert [(f["field"], f["from"], f["to"]) for f in fields["required"]] == [("note", True, False)]
    assert fields["changed"] == [{"field": "note", "title": "Note",
                                  "changes": [{"attribute": "maxLength", "from": 100, "to": 200}]}]
    [flow] = diff["flows"]["changed"]
    assert flow["flow_id"] == "flow_0" and flow["changes"] == [{"attribute": "name", "from": None, "to": "New order in"}]
    assert flow["target_name"] == "Step 1"


def test_the_diff_page_shows_the_forms_and_the_flows_by_name(api: Api, client):
    _two_versions(api)
    login(client, "owner1")
    page = client.get("/processes/bench_small/diff?from=1&to=2").get_data(as_text=True)
    for marker in ('data-field="checked_by" data-change="added"', 'data-field="priority" data-change="removed"',
                   'data-field="note" data-change="required"', 'data-field="lines[].qty" data-change="added"',
                   'data-field="note" data-change="changed" data-attribute="maxLength"'):
        assert marker in page, marker
    assert 'data-flow="flow_0"' in page and "New order in" in page and "Step 1" in page
    chinese = client.get("/processes/bench_small/diff?from=1&to=2",
                         headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "新增字段" in chinese and "删除字段" in chinese


def test_forms_no_step_uses_are_not_part_of_the_diff():
    forms = {"a": {"title": "A"}, "b": {"title": "B"}, "c": "not a form"}
    assert used_forms(["a", None, "c", "missing"], forms) == {"a": {"title": "A"}}
    assert diff_forms({"a": {"title": "A"}}, {"b": {"title": "B"}}, {"b": ["Step"]}) == {
        "added": [{"form": "b", "title": "B", "steps": ["Step"]}],
        "removed": [{"form": "a", "title": "A", "steps": []}], "changed": []}
