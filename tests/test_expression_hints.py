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
