"""A condition with a slip from another language is refused with the corrected expression to copy:
= for ==, && and ||, !, <> and === (issue 17: "rating = 'good'" used to say only "invalid syntax")."""
from __future__ import annotations

import pytest

from orderflow.engine.expressions import ExpressionError, check_expression
from tests.support import bpmn_samples as samples
from tests.support.helpers import Api


@pytest.mark.parametrize("written, meant", [
    ("rating = 'good'", "rating == 'good'"),
    ("qty >= 3 and note = 'x = y'", "qty >= 3 and note == 'x = y'"),     # the quoted = stays as written
    ("!approved", "not approved"),
    ("a && b", "a and b"),
    ("amount <> 5 || flag", "amount != 5 or flag"),
    ("status === 'done'", "status == 'done'"),
])
def test_a_slip_is_answered_with_the_expression_meant(written: str, meant: str):
    with pytest.raises(ExpressionError) as refused:
        check_expression(written)
    assert f"Did you mean: {meant} (" in str(refused.value)
    check_expression(meant)                                               # and that one is accepted


@pytest.mark.parametrize("written", ["amount >", "a = = b", "'unclosed"])
def test_no_guess_is_offered_when_no_fix_parses(written: str):
    with pytest.raises(ExpressionError) as refused:
        check_expression(written)
    assert "Did you mean" not in str(refused.value)


def test_deploy_names_the_flow_and_offers_the_fix(api: Api):
    xml = samples.NO_DEFAULT.replace("x &gt; 1", "x = 1")
    checked = api.client.post("/api/v1/processes/check", data=xml.encode(),
                              headers={**api.auth("owner1"), "Content-Type": "application/xml"}).json
    [problem] = [p for p in checked["problems"] if p["element_id"] == "a"]
    assert problem["severity"] == "error" and "Did you mean: x == 1" in problem["message"]


def test_the_modeler_can_check_a_condition_as_it_is_typed(api: Api):
    said = api.post("owner1", "/api/v1/expressions/check", {"expression": "rating = 'good'"})
    assert said.status_code == 200 and said.json["ok"] is False
    assert "Did you mean: rating == 'good'" in said.json["message"]
    assert api.post("owner1", "/api/v1/expressions/check", {"expression": "rating == 'good'"}).json == {
        "ok": True, "message": None}
    assert api.post("owner1", "/api/v1/expressions/check", {"expression": 5}).status_code == 422
    assert api.post("sales1", "/api/v1/expressions/check", {"expression": "a"}).status_code == 403


# -- the process's data fields, a condition read out, names nothing sets ------------------------

def test_the_modeler_gets_the_fields_the_process_forms_and_steps_set(api: Api):
    items = {f["name"]: f for f in api.get("owner1", "/api/v1/processes/order_flow/draft/fields").json["items"]}
    assert items["customer_tier"]["source"].startswith("form:") and items["customer_tier"]["kind"] == "choice"
    assert items["policy"]["source"] == "step:load_order_policy"                  # a script sets it
    assert items["qc_defects"]["kind"] == "number" and items["qc_defects"]["title_zh"] == "不良数"
    assert api.get("sales1", "/api/v1/processes/order_flow/draft/fields").status_code == 403
    assert api.get("owner1", "/api/v1/processes/nothing_here/draft/fields").status_code == 404


@pytest.mark.parametrize("lang, expected", [
    ("en", "Defects found is more than 2 and Received is at least Deposit due"),
    ("zh", "不良数 大于 2 并且 已收金额 不少于 应收预付款"),
])
def test_a_condition_is_read_out_in_the_owners_words(api: Api, lang: str, expected: str):
    answer = api.client.post("/api/v1/expressions/check", headers={**api.auth("owner1"), "Accept-Language": lang},
                             json={"expression": "qc_defects > 2 and deposit_received >= deposit_expected",
                                   "process": "order_flow"}).json
    assert answer == {"ok": True, "message": None, "reading": expected, "unknown": []}


def test_a_name_nothing_sets_is_named_with_the_closest_that_is(api: Api):
    answer = api.post("owner1", "/api/v1/expressions/check",
                      {"expression": "order_totl > 1000 and not missing_flag", "process": "order_flow"}).json
    assert answer["ok"] is True
    assert answer["unknown"] == [{"name": "missing_flag", "suggestion": None},
                                 {"name": "order_totl", "suggestion": "order_total"}]
    refused = api.post("owner1", "/api/v1/expressions/check", {"expression": "a = 1", "process": "order_flow"}).json
    assert refused["ok"] is False and refused["reading"] is None
    wrong = api.post("owner1", "/api/v1/expressions/check", {"expression": "a", "process": 7})
    assert wrong.status_code == 422 and "process" in wrong.json["error"]["fields"]
