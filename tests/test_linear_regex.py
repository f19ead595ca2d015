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

from orderflow.engine import camunda, dmn, multi_instance, problem_words
from orderflow.workflow import form_editor
from tests.support.bpmn_samples import process
from tests.support.camunda_samples import CLAIM, SHIP, SHIPPING_DMN
from tests.support.helpers import Api

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


def test_a_pattern_too_deep_for_re_is_refused_naming_form_and_field(api: Api):
    resp = upload(api, {"p.bpmn": form_process(), "patterned_form.json": json.dumps(phone_form("(" * 100_000))})
    assert resp.status_code == 422
    assert messages(resp) == ["The pattern of field 'phone' in form 'patterned_form' is longer than 1000 characters."]


def test_a_regex_typed_into_a_format_regex_field_is_read_by_re2(api: Api):
    form = {"type": "object", "properties": {"rx": {"type": "string", "format": "regex"}}}
    assert upload(api, {"p.bpmn": form_process(), "patterned_form.json": json.dumps(form)}).status_code == 201
    refused = api.post("admin", "/api/v1/processes/patterned/instances", {"data": {"rx": "(" * 5_000}})
    assert refused.status_code == 422 and "rx" in refused.json["error"]["fields"]  # was a RecursionError 500
    started = api.post("admin", "/api/v1/processes/patterned/instances", {"data": {"rx": "^[A-Z]{2}-\\d+$"}})
    assert started.status_code == 201, started.json


def test_pattern_properties_keys_are_checked_too(api: Api):
    form = {"type": "object", "properties": {"extra": {"type": "object", "patternProperties": {r"(a)\1": {}}}}}
    resp = upload(api, {"p.bpmn": form_process(), "patterned_form.json": json.dumps(form)})
    assert resp.status_code == 422
    assert any("field 'extra' in form 'patterned_form'" in m for m in messages(resp)), messages(resp)


def test_the_form_editor_refuses_a_pattern_re2_cannot_run():
    result = form_editor.preview(json.dumps(phone_form(r"^(\w+)\s\1$")))
    assert result.schema is None
    assert result.errors[0].path == "$.properties.phone.pattern"
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


# --- the service's own regexes over uploaded text ------------------------------------------------
# Each input below ran for minutes to hours on the regex it names (measured before the change);
# the assertions are on the answers only.

SPACES = " " * 300


def test_a_dmn_range_cell_of_spaces_is_refused_not_backtracked(api: Api):
    # ^([\[\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]])$ took 11 s at 100 spaces, doubling every few more
    cell = "[" + SPACES + ".." + SPACES + "x"
    resp = upload(api, {"ship.bpmn": SHIP, "shipping.dmn": SHIPPING_DMN.replace("[0..10]", cell)})
    assert resp.status_code == 422
    assert resp.json["error"]["problems"][0]["element_id"] == "r1"


def test_a_dmn_range_with_much_space_still_decides(api: Api):
    cell = "[" + " " * 5_000 + "0 .. 10" + " " * 5_000 + "]"
    assert upload(api, {"ship.bpmn": SHIP, "shipping.dmn": SHIPPING_DMN.replace("[0..10]", cell)}).status_code == 201
    started = api.post("admin", "/api/v1/processes/ship/instances", {"data": {"weight": 5, "zone": "HK"}})
    assert api.get("manager1", f"/api/v1/instances/{started.json['id']}").json["data"]["method"] == "courier"


@pytest.mark.parametrize("cell, test", [
    ("[1..10]", "1 <= ? <= 10"), ("]1..10[", "1 < ? < 10"), ("[ 1 .. 10 ]", "1 <= ? <= 10"),
    ("[1.5..2.5]", "1.5 <= ? <= 2.5"), ("not([1..3])", "not (1 <= ? <= 3)"), ("not ( 1, 2 )", "not (? in (1, 2,))"),
    ('"A","B"', '? in ("A", "B",)'), (">= 5", "? >= 5"), ("!= 3", "? != 3"), ("5", "? == (5)"), ("-", ""),
    ("[..5]", "? == ([..5])"), ("true", "? == (True)"),
])
def test_dmn_cells_read_as_before(cell: str, test: str):
    assert dmn.unary_test(cell) == test


def test_many_decision_tags_in_an_upload_are_read_in_linear_time(api: Api):
    # <(?:\w+:)?decision\b[^>]*\bid="([^"]+)" rescanned to the end from every '<decision '
    resp = upload(api, {"ship.bpmn": SHIP, "junk.dmn": "<decision " * 200_000})
    assert resp.status_code == 422


def test_many_process_tags_in_an_upload_are_read_in_linear_time(api: Api):
    resp = upload(api, {"a.bpmn": '<x calledElement="other"/>' + "<process " * 200_000})
    assert resp.status_code == 422


def test_an_unclosed_juel_string_is_refused_in_linear_time(api: Api):
    # the JUEL tokenizer rescanned from every quote: quadratic, 1.3 s at 8,000 and minutes at 100,000
    condition = "${amount &gt; " + '"' + '\\"' * 100_000 + "}"
    resp = upload(api, {"claims.bpmn": CLAIM.replace("${amount &gt; 1000 &amp;&amp; kind eq 'refund' || urgent}",
                                                     condition)})
    assert resp.status_code == 422
    assert resp.json["error"]["problems"][0]["element_id"] == "big_flow"


@pytest.mark.parametrize("juel, python", [
    ("${amount > 1000 && kind eq 'refund' || urgent}", "amount > 1000 and kind == 'refund' or urgent"),
    ('${note == "say \\"hi\\""}', 'note == "say \\"hi\\""'),
])
def test_juel_still_translates(juel: str, python: str):
    assert camunda.translate_juel(juel) == python


@pytest.mark.parametrize("text, field", [
    ("items", "items"), ("${items}", "items"), (" ${ items } ", "items"), ("a.b", None), ("${f(x)}", None),
    ("a" + " " * 50_000 + "x", None),  # ^\s*(?:\$\{\s*)?([A-Za-z_]\w*)\s*\}?\s*$ was quadratic here
])
def test_a_multi_instance_collection_is_read_without_backtracking(text: str, field):
    assert multi_instance._field(text) == field


@pytest.mark.parametrize("message", ["<{" * 200_000, "When looking for a task spec, we found two items" + "(" * 200_000])
def test_parser_messages_quoting_uploads_are_worded_in_linear_time(message: str):
    assert problem_words.plain(message).endswith(".")


def test_parser_messages_are_worded_as_before():
    assert problem_words.plain("Process foo. is not executable") == \
        "The process 'foo' is not executable: set isExecutable=\"true\"."
    assert problem_words.plain("bad <{http://x}task at 0x1f> here") == "bad <task> here."


# --- the structural test -----------------------------------------------------------------------

RE_CALLS = {"compile", "match", "search", "fullmatch", "sub", "subn", "findall", "finditer", "split"}

# Modules that still call Python's backtracking ``re``, and why each use is linear. Everything
# else that reads user or uploaded text uses orderflow/engine/linear_re.py (RE2) or plain code.
ALLOWED = {
    "orderflow/web/metrics.py": "_REQUEST_ID: one character class with a bounded repeat (64), fullmatch: linear",
    "orderflow/access/admin.py": "USERNAME, GROUP_ID: anchored, one character class with a bounded repeat (64)",
    "orderflow/workflow/attachments.py": "re.sub and re.split over a file name with one character class: one pass",
    "orderflow/workflow/customer_links.py": "_LINK: the literal '/c/' then one class without '/': each character read once",
    "orderflow/orders/customers.py": "_UNSTORABLE: one character class (NUL, surrogates): one pass",
    "orderflow/workflow/drafts.py": "_KEY: anchored, one character class with a bounded repeat (100)",
    "orderflow/engine/camunda.py": "_JUEL_TOKEN: a tokenizer whose alternatives each read their characters once "
                                   "(a quote always starts a string token); _NAME: anchored, one class",
    "orderflow/engine/json_clean.py": "_UNSTORABLE: one character class: one pass",
    "orderflow/engine/specs.py": "PROCESS_ID: fullmatch of one class with a bounded repeat (200)",
    "orderflow/engine/xmlinfo.py": "_GROUP_ID: anchored, one class; _FOREIGN_FORM: an anchored prefix or a fixed "
                                   "suffix: constant work per position",
    "orderflow/engine/xmlsafe.py": "_DOCTYPE: two literals: one pass",
    "orderflow/workflow/form_editor.py": "_FORM_KEY, _FIELD_NAME: anchored, one character class (bounded or not): one pass",
    "orderflow/web/security.py": "re.sub over a file name with one character class: one pass",
    "orderflow/web/trust.py": "re.sub over a business key with one character class: one pass",
    "handlers/after_sales.py": "_DURATION: only over the service's own setting ORDERFLOW_SURVEY_DELAY; each "
                               "optional group is digits ending in its own letter",
}


def _re_uses(path: Path) -> list[str]:
    uses = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" \
                and node.func.attr in RE_CALLS:
            uses.append(f"line {node.lineno}: re.{node.func.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "re":
            uses.append(f"line {node.lineno}: from re import ...")
    return uses


def _modules() -> dict[str, list[str]]:
    found = {}
    for base in ("orderflow", "handlers"):
        for path in sorted((ROOT / base).rglob("*.py")):
            uses = _re_uses(path)
            if uses:
                found[path.relative_to(ROOT).as_posix()] = uses
    return found


def test_every_remaining_backtracking_regex_is_allowed_with_a_reason():
    unexplained = {module: uses for module, uses in _modules().items() if module not in ALLOWED}
    assert not unexplained, (f"{unexplained}: use orderflow/engine/linear_re.py (RE2) or plain code for text a "
                             "user or an upload controls, or add the module to ALLOWED saying why it is linear")


def test_the_allow_list_names_only_modules_that_still_use_re():
    assert sorted(set(ALLOWED) - set(_modules())) == []
