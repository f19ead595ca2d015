"""Forms that fit the step: show-if conditions as standard JSON Schema (if/then/else,
dependentSchemas, dependentRequired), shown and validated alike, with the server the authority;
required confirmations; the deploy checks that refuse a condition the service cannot follow."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orderflow.core.errors import InvalidInput
from orderflow.engine.form_checks import form_rule_problems
from orderflow.workflow import form_conditions, forms
from tests.support.helpers import Api, login

FORMS = Path(__file__).resolve().parent.parent / "forms"

SHIPPING = {
    "type": "object",
    "properties": {
        "method": {"type": "string", "enum": ["pickup", "courier"]},
        "gift": {"type": "boolean"},
        "note": {"type": "string"},
        "agree": {"type": "boolean", "const": True},
    },
    "required": ["method"],
    "allOf": [
        {"if": {"properties": {"method": {"const": "courier"}}, "required": ["method"]},
         "then": {"properties": {"address": {"type": "string", "minLength": 1},
                                 "phone": {"type": "string", "pattern": "^[+0-9 ()-]{6,20}$"}},
                  "required": ["address"]}},
        {"if": {"properties": {"gift": {"const": True}}, "required": ["gift"]},
         "then": {"properties": {"gift_message": {"type": "string"}}}},
    ],
    "dependentRequired": {"note": ["phone"]},
}


def clean(data: dict, known: dict | None = None, schema: dict | None = None) -> dict:
    return forms.clean_submission(schema or SHIPPING, data, known or {})


def fields_of(error: pytest.ExceptionInfo) -> dict:
    return dict(error.value.fields)


def test_a_field_that_does_not_apply_is_never_required_nor_stored():
    assert clean({"method": "pickup", "agree": True, "address": "Harbour Road 5"}) == \
        {"method": "pickup", "agree": True}
    with pytest.raises(InvalidInput) as error:
        clean({"method": "courier", "agree": True})
    assert set(fields_of(error)) == {"address"}
    assert clean({"method": "courier", "agree": True, "address": "Harbour Road 5"})["address"] == "Harbour Road 5"


def test_the_branch_validates_what_it_declares():
    with pytest.raises(InvalidInput) as error:
        clean({"method": "courier", "agree": True, "address": "x", "phone": "call me"})
    assert set(fields_of(error)) == {"phone"}
    # hidden: its bad value is dropped, not refused
    assert "phone" not in clean({"method": "pickup", "agree": True, "phone": "call me"})


def test_dependent_required_follows_the_trigger():
    with pytest.raises(InvalidInput) as error:
        clean({"method": "courier", "agree": True, "address": "x", "note": "ring twice"})
    assert set(fields_of(error)) == {"phone"}


def test_a_required_confirmation_must_be_ticked():
    with pytest.raises(InvalidInput) as error:
        clean({"method": "pickup", "agree": False})
    assert "Tick this box" in str(fields_of(error)["agree"])


def test_conditions_read_the_orders_data_too():
    schema = {"type": "object", "properties": {"note": {"type": "string"}},
              "if": {"properties": {"resolution": {"const": "refund"}}, "required": ["resolution"]},
              "else": {"properties": {"carrier": {"type": "string"}}, "required": ["carrier"]}}
    assert clean({"note": "n", "carrier": "SF"}, {"resolution": "refund"}, schema) == {"note": "n"}
    with pytest.raises(InvalidInput):
        clean({"note": "n"}, {"resolution": "repair"}, schema)


def test_the_page_shape_hides_and_requires_what_the_values_say():
    shown = form_conditions.shape(SHIPPING, {"method": "pickup"})
    assert {"address", "phone", "gift_message"} <= set(shown["schema"]["properties"])
    assert shown["hidden"] == {"address", "phone", "gift_message"}
    courier = form_conditions.shape(SHIPPING, {"method": "courier", "gift": True})
    assert courier["hidden"] == set() and "address" in courier["required"]
    assert [c["fields"] for c in courier["script"]["conditions"]][:2] == [["address", "phone"], ["gift_message"]]


@pytest.mark.parametrize("change, words", [
    ({"if": {"properties": {"method": {"pattern": "c.*"}}, "required": ["method"]}}, "'pattern'"),
    ({"if": {"properties": {"method": {"const": "courier"}}}}, "add 'method' to the condition's required"),
    ({"if": {"anyOf": []}, "then": {"required": ["note"]}}, "not 'anyOf'"),
    ({"then": {"required": ["note"]}}, 'need an "if"'),
    ({"if": {"required": ["note"]}, "then": {"required": ["nowhere"]}}, "field 'nowhere' required"),
    ({"if": {"required": ["note"]}, "then": {"if": {}, "then": {}}}, "one level"),
    ({"dependentRequired": {"ghost": ["note"]}}, "names the field 'ghost'"),
    ({"dependentSchemas": {"note": {"properties": {"x": {}}}, "ghost": {}}}, "names the field 'ghost'"),
])
def test_deploy_refuses_a_condition_it_cannot_follow(change, words):
    schema = {"type": "object", "properties": {"method": {"type": "string"}, "note": {"type": "string"}}, **change}
    problems = [message for message, _path in form_rule_problems(schema)]
    assert any(words in message for message in problems), problems


def test_the_order_flows_forms_ask_only_what_applies():
    for key in ("check_stock", "produce", "inform_customer"):
        schema = json.loads((FORMS / f"{key}.json").read_text())
        assert list(form_rule_problems(schema)) == []
    stock = json.loads((FORMS / "check_stock.json").read_text())
    assert form_conditions.hidden(stock, {"decision": "sufficient"}) == {"shortage_items"}
    assert form_conditions.hidden(stock, {"decision": "shortage"}) == set()
    produce = json.loads((FORMS / "produce.json").read_text())
    assert form_conditions.hidden(produce, {"decision": "progress"}) == {"change_description"}
    inform = json.loads((FORMS / "inform_customer.json").read_text())
    assert form_conditions.hidden(inform, {"resolution": "refund"}) == {"carrier", "tracking_no"}
    assert form_conditions.hidden(inform, {"resolution": "replace"}) == set()


# ------------------------------------------------------------------ over HTTP


def test_check_stock_page_hides_items_short_until_shortage(api: Api):
    started = api.start_order()
    task = started["open_tasks"][0]
    token = login(api.client, "warehouse1")
    page = api.client.get(f"/tasks/{task['id']}").data.decode()
    assert re.search(r'data-show-field="shortage_items" hidden disabled', page)
    assert "data-form-conditions" in page
    # radios start unselected
    assert not re.search(r'name="decision"[^>]*checked', page)
    resp = api.client.post(f"/tasks/{task['id']}", data={"csrf_token": token, "decision": "shortage",
                                                         "comment": "late"})
    assert resp.status_code == 422
    body = resp.data.decode()
    assert re.search(r'data-show-field="shortage_items">', body)  # shown: the decision is kept
    assert re.search(r'id="decision-1"[^>]*checked', body) and ">late</textarea>" in body
    # a stray value for a field that does not apply is dropped
    resp = api.client.post(f"/tasks/{task['id']}", data={"csrf_token": token, "decision": "sufficient",
                                                         "shortage_items": "ignored"})
    assert resp.status_code == 302
    data = api.get("manager1", f"/api/v1/instances/{started['id']}").json
    assert "ignored" not in json.dumps(data)


# ------------------------------------------------------------------ sanity the seed implies


def test_a_new_order_refuses_a_past_promise_a_free_line_and_a_phone_in_words(app, api: Api, clock):
    from datetime import timedelta

    from tests.support.helpers import NEW_ORDER
    today = clock().date()
    bad = {**NEW_ORDER, "promised_date": (today - timedelta(days=1)).isoformat()}
    resp = api.post("sales1", "/api/v1/processes/order_flow/instances", {"data": bad})
    assert resp.status_code == 422 and set(resp.json["error"]["fields"]) == {"promised_date"}
    bad = {**NEW_ORDER, "promised_date": today.isoformat(), "contact_phone": "call me",
           "lines": [{"product": "TV-32", "quantity": 1, "unit_price": 0}]}
    resp = api.post("sales1", "/api/v1/processes/order_flow/instances", {"data": bad})
    assert set(resp.json["error"]["fields"]) == {"contact_phone", "lines.0.unit_price"}
    clock.advance(days=3)  # the service clock, not the wall clock, says what "past" is
    resp = api.post("sales1", "/api/v1/processes/order_flow/instances",
                    {"data": {**NEW_ORDER, "promised_date": (today + timedelta(days=1)).isoformat()}})
    assert resp.status_code == 422 and set(resp.json["error"]["fields"]) == {"promised_date"}


# ------------------------------------------------------------------ the task page


def _task_page(api: Api, user: str, task_id: int) -> str:
    return api.client.get(f"/tasks/{task_id}").data.decode()


def test_a_task_someone_else_holds_is_read_only(api: Api):
    started = api.start_order()
    task = started["open_tasks"][0]
    assert api.post("warehouse1", f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    login(api.client, "warehouse2")
    page = _task_page(api, "warehouse2", task["id"])
    assert 'id="claimed-by-other"' in page and 'id="task-form"' not in page and 'type="password"' not in page
    assert "release it, or ask a manager to reassign it" in page
    assert 'id="task-readonly"' in page
    # the API still answers a stale complete with 409
    resp = api.post("warehouse2", f"/api/v1/tasks/{task['id']}/complete", {"data": {"decision": "sufficient"}})
    assert resp.status_code == 409
    api.post("warehouse1", f"/api/v1/tasks/{task['id']}/release")
    assert 'id="task-form"' in _task_page(api, "warehouse2", task["id"])


def test_a_wrong_signing_password_is_told_apart_from_none_and_keeps_the_form(api: Api):
    started = api.start_order()
    task = api.drive_to(started["id"], "sign_release")
    assert api.complete("vp1", task["id"])\
        .json["error"]["fields"]["password"] == "Enter your password to sign."
    assert api.complete("vp1", task["id"], password="wrong")\
        .json["error"]["fields"]["password"] == "The password is wrong."
    token = login(api.client, "vp1")
    form = api.get("vp1", f"/api/v1/tasks/{task['id']}").json
    data = {"csrf_token": token, "decision": form["form"]["properties"]["decision"]["enum"][0],
            "password": "wrong"}
    if "comment" in form["form"]["properties"]:
        data["comment"] = "kept comment"
    resp = api.client.post(f"/tasks/{task['id']}", data=data)
    body = resp.data.decode()
    assert resp.status_code == 422 and "The password is wrong." in body
    assert re.search(r'id="decision-0"[^>]*checked', body)
    if "comment" in data:
        assert "kept comment" in body
    resp = api.client.post(f"/tasks/{task['id']}", data={**data, "password": ""})
    assert "Enter your password to sign." in resp.data.decode()


def test_values_stay_after_an_error_and_no_blank_row_appears(api: Api):
    token = login(api.client, "sales1")
    from tests.support.helpers import NEW_ORDER
    data = {"csrf_token": token, "customer": NEW_ORDER["customer"], "customer_tier": "key", "channel": "phone",
            "lines-0-product": "TV-43", "lines-0-quantity": "12,5", "lines-0-unit_price": "120",
            "promised_date": "2026-02-31", "payment_terms": "tt", "shipping_address": "Harbour Road",
            "contact_name": "Mr Wang", "contact_phone": "call me"}
    resp = api.client.post("/processes/order_flow/start", data=data)
    body = resp.data.decode()
    assert resp.status_code == 422
    assert 'value="12,5"' in body and 'value="2026-02-31"' in body and 'value="call me"' in body
    assert 'id="lines-1-product"' not in body  # only the row that was sent



def test_completing_a_task_claimed_meanwhile_keeps_what_was_typed(api: Api):
    task = api.start_order()["open_tasks"][0]
    token = login(api.client, "warehouse2")
    assert 'id="task-form"' in _task_page(api, "warehouse2", task["id"])  # opened while nobody held it
    assert api.post("warehouse1", f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    resp = api.client.post(f"/tasks/{task['id']}", data={"csrf_token": token, "decision": "sufficient",
                                                         "comment": "pallets counted twice"})
    body = resp.data.decode()
    assert resp.status_code == 409
    assert 'id="claimed-by-other"' in body and 'id="not-saved"' in body and 'id="task-form"' not in body
    assert "pallets counted twice" in body
