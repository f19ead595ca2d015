"""The form editor: preview checks, the preview fragment, saving into the draft, versions after deploy."""
from __future__ import annotations

import html
import json
import re

import pytest

from orderflow.workflow import form_editor
from tests.support.helpers import Api, login

EDITOR = "/processes/order_flow/forms/approve_order"
HX = {"HX-Request": "true"}


def approve_order(api: Api) -> dict:
    return api.get("owner1", "/api/v1/forms/approve_order?process=order_flow").json["schema"]


def textarea(page: str) -> str:
    return html.unescape(re.search(r'<textarea id="schema-text"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1))


@pytest.fixture
def owner(client) -> str:
    return login(client, "owner1")


def preview(client, token: str, schema, lang: str | None = None):
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return client.post(f"{EDITOR}/preview", data={"schema_text": text, "preview_lang": lang or ""},
                       headers={**HX, "X-CSRFToken": token})


# ------------------------------------------------------------------ the checks themselves

def test_every_shipped_form_passes_the_checks():
    from pathlib import Path
    for path in sorted(Path("forms").glob("*.json")):
        result = form_editor.preview(path.read_text(encoding="utf-8"))
        assert result.errors == [] and result.schema["type"] == "object", (path.name, result.errors)


def test_syntax_errors_have_line_and_column():
    result = form_editor.preview('{\n  "type": "object",\n  "properties": {,}\n}')
    assert result.schema is None
    [problem] = result.errors
    assert (problem.kind, problem.line, problem.column) == ("syntax", 3, 18)


@pytest.mark.parametrize("schema, path, words", [
    ([1, 2], "$", "JSON object"),
    ({"type": "array", "properties": {}}, "$.type", '"type": "object"'),
    ({"type": "object"}, "$.properties", '"properties"'),
    ({"type": "object", "properties": {"a": {"type": "strin"}}}, "$.properties.a.type", "Not valid JSON Schema"),
    ({"type": "object", "properties": {"a": {"type": "object"}}}, "$.properties.a.type", "table"),
    ({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}},
     "$.properties.a.items", "table"),
    ({"type": "object", "properties": {"a": {"type": "string", "format": "uri"}}}, "$.properties.a.format", "date"),
    ({"type": "object", "properties": {"a-b": {"type": "string"}}}, '$.properties["a-b"]', "letters"),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}, "$.required[0]", "'b'"),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "ui": {"order": ["a", "zz"]}},
     "$.ui.order[1]", "'zz'"),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "ui": {"readonly": ["x"]}}, "$.ui.readonly[0]", "'x'"),
    ({"type": "object", "properties": {"a": {"type": "string", "enum": ["x", "y"], "enumNames": ["X"]}}},
     "$.properties.a.enumNames", "one name per choice"),
    ({"type": "object", "properties": {"d": {"type": "string"}}, "then": {"required": ["reason"]}},
     "$.then.required[0]", "'reason'"),
    # the form's rules about the data (orderflow/workflow/form_rules.py) are checked as the form is typed
    ({"type": "object", "properties": {"a": {"type": "number"}}, "rules": [{"field": "a", "check": "a >"}]},
     "$.rules[0].check", "cannot be used"),
    ({"type": "object", "properties": {"a": {"type": "number"}}, "rules": [{"field": "b", "check": "a > 1"}]},
     "$.rules[0].field", "'b'"),
    ({"type": "object", "properties": {"a": {"type": "number"}}, "rules": [{"field": "a"}]},
     "$.rules[0].check", "needs 'check'"),
    ({"type": "object", "properties": {"a": {"type": "number"}}, "rules": {"a": "a > 1"}}, "$.rules", "list"),
    ({"type": "object", "properties": {"a": {"type": "number"}}, "ui": {"when": {"a": "__import__('os')"}}},
     "$.ui.when.a", "cannot be used"),
    ({"type": "object", "properties": {"a": {"type": "number"}}, "ui": {"suggest": {"zz": "1"}}},
     "$.ui.suggest.zz", "'zz'"),
])
def test_renderer_rules_name_the_path(schema, path, words):
    result = form_editor.preview(json.dumps(schema))
    assert result.schema is None
    assert any(p.path == path and words in p.message for p in result.errors), result.errors


def test_bilingual_fields_and_tables_are_fine():
    schema = {"type": "object", "title": "T", "title_zh": "表", "description_zh": "说明",
              "properties": {"lines": {"type": "array", "title": "Lines", "title_zh": "明细",
                                       "items": {"type": "object", "properties": {
                                           "qty": {"type": "integer"}, "day": {"type": "string", "format": "date"}},
                                           "required": ["qty"]}}}}
    assert form_editor.preview(json.dumps(schema)).errors == []


# ------------------------------------------------------------------ the pages

def test_form_list_and_editor_pages(client, owner):
    page = client.get("/processes/order_flow/forms")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-form="approve_order"' in text and "Approve order" in text
    assert f'href="{EDITOR}"' in text
    editor = client.get(EDITOR)
    assert editor.status_code == 200
    body = editor.get_data(as_text=True)
    assert json.loads(textarea(body))["title"] == "Approve order"
    assert 'hx-trigger="input changed delay:300ms"' in body and f'hx-post="{EDITOR}/preview"' in body
    assert 'id="preview-title">Approve order<' in body          # the first preview comes with the page
    assert "vendor/app/form_editor.js" in body
    assert client.get("/processes/order_flow/forms/nope").status_code == 404
    assert client.get("/processes/nope/forms").status_code == 404


def test_preview_renders_the_fields_with_the_inbox_macros(client, owner, api):
    schema = approve_order(api)
    resp = preview(client, owner, {**schema, "title": "Approve quickly"})
    assert resp.status_code == 200
    fragment = resp.get_data(as_text=True)
    assert "<html" not in fragment                               # a fragment, not a page
    assert 'id="preview-title">Approve quickly<' in fragment
    assert 'name="decision"' in fragment and 'id="approval_reason"' in fragment   # decision radios, textarea
    assert 'class="row readonly-fields' in fragment and "Order lines" in fragment
    assert "<fieldset disabled" in fragment and "<form" not in fragment and 'type="submit"' not in fragment
    zh = preview(client, owner, schema, lang="zh").get_data(as_text=True)
    assert "订单审批" in zh and "批准" in zh


def test_preview_lists_problems(client, owner):
    broken = preview(client, owner, '{"type": "object",\n "properties": {"a": }}').get_data(as_text=True)
    assert 'id="preview-errors"' in broken and 'data-line="2" data-column="22"' in broken
    assert "Line 2, column 22" in broken and "not valid JSON" in broken
    flat = preview(client, owner, {"type": "object", "properties": {"a": {"type": "object"}},
                                   "ui": {"order": ["ghost"]}}).get_data(as_text=True)
    assert "<code>$.properties.a.type</code>" in flat and "<code>$.ui.order[0]</code>" in flat
    assert "The form has no field &#39;ghost&#39;." in flat
    assert "2 problems" in flat


def test_titles_from_the_schema_are_escaped(client, owner):
    evil = {"type": "object", "title": "<script>alert(1)</script>", "description": "<b>bold</b>",
            "properties": {"x": {"type": "string", "title": "<img src=x onerror=alert(2)>",
                                 "enum": ["a"], "enumNames": ["<i>a</i>"]}},
            "ui": {"order": ["<script>"]}}
    ok = preview(client, owner, {**evil, "ui": {}}).get_data(as_text=True)
    assert "<script>" not in ok and "&lt;script&gt;alert(1)&lt;/script&gt;" in ok
    assert "<img" not in ok and "<b>bold" not in ok and "<i>a</i>" not in ok
    bad = preview(client, owner, evil).get_data(as_text=True)
    assert "<script>" not in bad and "&#39;&lt;script&gt;&#39;" in bad
    stored = {"type": "object", "title": "</textarea><script>alert(3)</script>", "properties": {}}
    assert client.post(EDITOR, data={"csrf_token": owner, "schema_text": json.dumps(stored)}).status_code == 302
    page = client.get(EDITOR).get_data(as_text=True)           # the textarea escapes what it holds too
    assert "<script>alert(3)" not in page and page.count("</textarea>") == 1
    assert json.loads(textarea(page))["title"] == stored["title"]


def test_save_stores_into_the_draft(client, owner, api):
    page = client.get(EDITOR).get_data(as_text=True)
    base = re.search(r'name="base" value="([^"]+)"', page).group(1)
    text = json.dumps({**approve_order(api), "title": "Approve (edited)"}, indent=2)
    resp = client.post(EDITOR, data={"csrf_token": owner, "schema_text": text, "base": base})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(EDITOR)
    after = client.get(EDITOR).get_data(as_text=True)
    assert "Saved in the draft; deploy the process to use it." in after
    assert 'href="/processes/order_flow/edit"' in after          # the modeler, to deploy
    stored = api.get("owner1", "/api/v1/forms/approve_order?process=order_flow").json
    assert stored["source"] == "draft" and stored["schema"]["title"] == "Approve (edited)"
    listed = client.get("/processes/order_flow/forms").get_data(as_text=True)
    assert 'data-form="approve_order" data-source="draft"' in listed
    # only the edited form is the draft's; the others the draft copied are still the version's
    assert 'data-form="check_stock" data-source="version"' in listed
    sources = {f["key"]: f["source"] for f in api.get("owner1", "/api/v1/forms?process=order_flow").json["items"]}
    assert [k for k, source in sources.items() if source == "draft"] == ["approve_order"]
    assert api.get("owner1", "/api/v1/forms/check_stock?process=order_flow").json["source"] == "version"


def test_the_form_list_puts_the_processs_own_forms_first(client, owner):
    listed = client.get("/processes/order_flow/forms").get_data(as_text=True)
    own, _, others = listed.partition('id="other-forms"')
    assert 'data-form="check_stock"' in own and 'data-form="qc_inspection"' in own
    assert 'data-form="intake_case"' in others and 'data-form="intake_case"' not in own   # after-sales'


def test_a_bad_save_keeps_the_text_and_changes_nothing(client, owner, api):
    text = '{"type": "object", "properties": {"a": {"type": "object"}}}  '
    resp = client.post(EDITOR, data={"csrf_token": owner, "schema_text": text})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="save-error"' in page and "fix the problems" in page
    assert textarea(page) == text
    assert "<code>$.properties.a.type</code>" in page
    assert api.get("owner1", "/api/v1/processes/order_flow/draft").json["saved"] is False
    assert api.get("owner1", "/api/v1/forms/approve_order?process=order_flow").json["source"] == "version"
    syntax = client.post(EDITOR, data={"csrf_token": owner, "schema_text": "{oops"})
    assert syntax.status_code == 422 and "Line 1, column 2" in syntax.get_data(as_text=True)
    assert client.post(EDITOR, data={"schema_text": "{}"}).status_code == 400   # no CSRF token


def test_a_save_over_someone_elses_save_is_refused_once(client, owner, api):
    page = client.get(EDITOR).get_data(as_text=True)
    base = re.search(r'name="base" value="([^"]+)"', page).group(1)
    theirs = {**approve_order(api), "title": "Theirs"}
    assert api.client.put("/api/v1/processes/order_flow/draft", headers=api.auth("owner1"),
                          json={"forms": {"approve_order": theirs}}).status_code == 200
    mine = json.dumps({**theirs, "title": "Mine"})
    refused = client.post(EDITOR, data={"csrf_token": owner, "schema_text": mine, "base": base})
    assert refused.status_code == 409 and textarea(refused.get_data(as_text=True)) == mine
    assert approve_order(api)["title"] == "Theirs"
    new_base = re.search(r'name="base" value="([^"]+)"', refused.get_data(as_text=True)).group(1)
    again = client.post(EDITOR, data={"csrf_token": owner, "schema_text": mine, "base": new_base})
    assert again.status_code == 302 and approve_order(api)["title"] == "Mine"


def test_new_form(client, owner, api):
    created = client.post("/processes/order_flow/forms", data={"csrf_token": owner, "form_key": "site_visit",
                                                                "title": "Site visit"})
    assert created.status_code == 302 and created.headers["Location"].endswith("/processes/order_flow/forms/site_visit")
    stored = api.get("owner1", "/api/v1/forms/site_visit?process=order_flow").json
    assert stored["source"] == "draft" and stored["schema"]["title"] == "Site visit"
    assert form_editor.preview(json.dumps(stored["schema"])).errors == []
    taken = client.post("/processes/order_flow/forms", data={"csrf_token": owner, "form_key": "approve_order"})
    assert taken.status_code == 409 and "already exists" in taken.get_data(as_text=True)
    bad = client.post("/processes/order_flow/forms", data={"csrf_token": owner, "form_key": "no good"})
    assert bad.status_code == 422 and 'value="no good"' in bad.get_data(as_text=True)


def test_only_process_owners_and_admins(client, app):
    token = login(client, "sales1")
    assert client.get("/processes/order_flow/forms").status_code == 403
    assert client.get(EDITOR).status_code == 403
    assert client.post(EDITOR, data={"csrf_token": token, "schema_text": "{}"}).status_code == 403
    denied = preview(client, token, {"type": "object", "properties": {}})
    assert denied.status_code == 403 and 'data-error-code="forbidden"' in denied.get_data(as_text=True)
    admin = app.test_client()
    login(admin, "admin")
    assert admin.get(EDITOR).status_code == 200
    assert app.test_client().get(EDITOR).status_code == 302    # not logged in: to the login page


def test_running_orders_keep_their_versions_form(client, owner, api):
    old_order = api.start_order()["id"]                          # version 1
    text = json.dumps({**approve_order(api), "title": "Approve (v2)", "title_zh": "订单审批(二)"})
    assert client.post(EDITOR, data={"csrf_token": owner, "schema_text": text}).status_code == 302
    deployed = api.post("owner1", "/api/v1/processes/order_flow/draft/deploy")
    assert deployed.status_code == 201 and deployed.json["deployed"][0]["version"] == 2
    new_order = api.start_order()["id"]
    assert api.get("manager1", f"/api/v1/instances/{new_order}").json["version"] == 2

    old_task = api.drive_to(old_order, "approve_order_manager")
    new_task = api.drive_to(new_order, "approve_order_manager")
    assert api.get("sales_manager1", f"/api/v1/tasks/{old_task['id']}").json["form"]["title"] == "Approve order"
    assert api.get("sales_manager1", f"/api/v1/tasks/{new_task['id']}").json["form"]["title"] == "Approve (v2)"
    login(client, "sales_manager1")
    assert 'id="task-title">Approve order<' in client.get(f"/tasks/{old_task['id']}").get_data(as_text=True)
    assert 'id="task-title">Approve (v2)<' in client.get(f"/tasks/{new_task['id']}").get_data(as_text=True)
