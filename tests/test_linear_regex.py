"""Regexes over what users type or upload run in linear time (issue 13): a form's pattern runs on
RE2, a pattern RE2 cannot run is refused at deploy and in the form editor, and the service's own
regexes over uploaded text are linear. No test here measures time: a backtracking regex over these
inputs would not finish within the suite's lifetime, so the answers are proof enough."""
from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pytest

from orderflow import form_editor
from tests.bpmn_samples import process
from tests.helpers import Api

ROOT = Path(__file__).resolve().parent.parent
EVIL = "^(a+)+$"
EVIL_TEXT = "a" * 9_000 + "b"  # under the 10,000 characters a text field takes


def form_process(pid: str = "patterned", form: str = "patterned_form") -> str:
    return process(f'''
  <bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="formJsonSchemaFilename" value="{form}.json"/></spiffworkflow:properties>
    </bpmn:extensionElements><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>''', pid)


def phone_form(pattern: str) -> dict:
    return {"type": "object", "title": "Phone", "required": ["phone"],
            "properties": {"phone": {"type": "string", "title": "Phone", "pattern": pattern}}}


def upload(api: Api, files: dict[str, str], user: str = "owner1"):
    data = {"files": [(io.BytesIO(text.encode()), name) for name, text in files.items()]}
    return api.client.post("/api/v1/processes", data=data, headers=api.auth(user), content_type="multipart/form-data")


def messages(resp) -> list[str]:
    return [p["message"] for p in resp.json["error"]["problems"]]


# --- form patterns ---------------------------------------------------------------------------

def test_a_nested_quantifier_pattern_answers_at_once_when_an_order_starts(api: Api):
    deployed = upload(api, {"p.bpmn": form_process(), "patterned_form.json": json.dumps(phone_form(EVIL))})
    assert deployed.status_code == 201, deployed.json
    refused = api.post("admin", "/api/v1/processes/patterned/instances", {"data": {"phone": EVIL_TEXT}})
    assert refused.status_code == 422
    assert "phone" in refused.json["error"]["fields"]
    assert "Enter at most" not in refused.json["error"]["fields"]["phone"]  # the pattern answered
    started = api.post("admin", "/api/v1/processes/patterned/instances", {"data": {"phone": "a" * 9_000}})
    assert started.status_code == 201, started.json


@pytest.mark.parametrize("pattern", [r"^(\d)\1$", r"^(?=a)a$", r"(?<!x)y", "a" * 1_001])
def test_a_pattern_re2_cannot_run_is_refused_at_deploy_naming_form_and_field(api: Api, pattern: str):
    resp = upload(api, {"p.bpmn": form_process(), "patterned_form.json": json.dumps(phone_form(pattern))})
    assert resp.status_code == 422, resp.json
    assert any(m.startswith("The pattern of field 'phone' in form 'patterned_form' ") for m in messages(resp)), \
        messages(resp)


def test_pattern_properties_keys_are_checked_too(api: Api):
    form = {"type": "object", "properties": {"extra": {"type": "object", "patternProperties": {r"(a)\1": {}}}}}
    resp = upload(api, {"p.bpmn": form_process(), "patterned_form.json": json.dumps(form)})
    assert resp.status_code == 422
    assert any("field 'extra' in form 'patterned_form'" in m for m in messages(resp)), messages(resp)


def test_the_form_editor_refuses_a_pattern_re2_cannot_run():
    result = form_editor.preview(json.dumps(phone_form(r"^(\w+)\s\1$")))
    assert result.schema is None
    assert [(p.path, p.message.format_args().get("field") if hasattr(p.message, "format_args") else None)
            for p in result.errors][0][0] == "$.properties.phone.pattern"
    assert "phone" in str(result.errors[0].message)


def test_the_form_editor_accepts_linear_patterns():
    assert form_editor.preview(json.dumps(phone_form(r"^\+?[0-9 ]{6,20}$"))).errors == []


# --- form nesting -----------------------------------------------------------------------------

def _deep(levels: int) -> str:
    return '{"allOf":[' * levels + "{}" + "]}" * levels


@pytest.mark.parametrize("text", [_deep(10_000), "[" * 10_000 + "]" * 10_000,
                                  '{"type": "object", "properties": {"a": ' + '{"items": ' * 5_000 + "{}" + "}" * 5_001])
def test_a_deeply_nested_form_is_a_422_naming_the_form(api: Api, text: str):
    resp = upload(api, {"p.bpmn": form_process(), "patterned_form.json": text})
    assert resp.status_code == 422, resp.data[:300]
    assert any("The form 'patterned_form' is nested more than" in m for m in messages(resp)), messages(resp)


def test_the_form_editor_refuses_deep_nesting_before_parsing():
    result = form_editor.preview(_deep(10_000))
    assert result.schema is None and "nested" in str(result.errors[0].message)


def test_strings_with_brackets_do_not_count_as_nesting():
    from orderflow.engine.form_checks import json_nesting
    assert json_nesting(json.dumps({"a": ["[" * 100, '\\"{' * 50]})) == 2
