"""The order's rules hold on data: payments add up to what is due, by bank notice and by finance
alike; a partial payment goes on only through the vp's exception; no payment dated in the future;
QC passes only within the acceptance number; the archive asks for the documents that apply."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.helpers import Api, fill, service_today


@pytest.fixture(autouse=True)
def service_clock(clock):
    """The service's clock, held still half a day ahead: a date the tests type as today
    (``service_today()``) is never after the service's today, and the service's tomorrow
    (``clock().date() + 1 day``) is in the future however long the tests take, even at midnight."""
    clock.advance(hours=12)
    return clock


def tomorrow(clock, days: int = 1) -> str:
    return (clock().date() + timedelta(days=days)).isoformat()

# NEW_ORDER: 200 x 85.50 = 17,100.00; the deposit is 30 %: 5,130.00
TOTAL, DEPOSIT = 17100.0, 5130.0


def notice(api: Api, order: dict, part: str, **payload):
    body = {"payer": "Shenzhen Bright Electronics", "date": service_today().isoformat(), **payload}
    return api.post("bank1", f"/api/v1/messages/{part}_notice",
                    {"correlation": {"order_no": order["business_key"]}, "payload": body})


def data(api: Api, order: dict) -> dict:
    return api.get("manager1", f"/api/v1/instances/{order['id']}").json["data"]


def open_elements(api: Api, order: dict) -> list[str]:
    return [t["element_id"] for t in api.open_tasks(order["id"])]


def finance(api: Api, task: dict, decision: str, **values):
    return api.complete("finance1", task["id"], decision, **values)


def test_partial_bank_notices_add_up_and_the_rest_is_chased(api: Api):
    order = api.start_order()
    api.drive_to(order["id"], "confirm_deposit")
    assert notice(api, order, "deposit", amount=1.00, reference="B-1").status_code == 200
    # 1.00 of 5,130.00 is no deposit: sales chases the rest, production is not released
    assert open_elements(api, order) == ["chase_deposit"]
    d = data(api, order)
    assert (d["deposit_received"], d["deposit_outstanding"], d["deposit_paid"]) == (1.0, 5129.0, False)
    # the bank pays more while sales chases: each payment is kept and they add up
    assert notice(api, order, "deposit", amount=3000, reference="B-2").status_code == 200
    assert open_elements(api, order) == ["chase_deposit"]
    assert notice(api, order, "deposit", amount="2129.00", reference="B-3").status_code == 200
    assert open_elements(api, order) == ["release_order"]
    d = data(api, order)
    assert [p["amount"] for p in d["deposit_payments"]] == [1.0, 3000.0, 2129.0]
    assert {p["source"] for p in d["deposit_payments"]} == {"bank"}
    assert (d["deposit_received"], d["deposit_outstanding"], d["deposit_overpaid"]) == (DEPOSIT, 0, 0)


def test_a_bank_notice_that_breaks_a_rule_is_refused_and_changes_nothing(api: Api, clock):
    order = api.start_order()
    api.drive_to(order["id"], "confirm_deposit")
    future = tomorrow(clock)
    for payload, field in [({"amount": DEPOSIT, "date": future}, "payload.date"),
                           ({"amount": 0}, "payload.amount"), ({"amount": "lots"}, "payload.amount"),
                           ({"amount": -5}, "payload.amount"), ({"amount": DEPOSIT, "date": "soon"}, "payload.date"),
                           ({}, "payload.amount")]:
        body = {"payer": "X", "date": service_today().isoformat(), **payload}
        if not payload:
            body = {"payer": "X"}
        resp = api.post("bank1", "/api/v1/messages/deposit_notice",
                        {"correlation": {"order_no": order["business_key"]}, "payload": body})
        assert resp.status_code == 422, (payload, resp.json)
        assert field in resp.json["error"]["fields"], resp.json
        assert open_elements(api, order) == ["confirm_deposit"]
    assert "deposit_payments" in data(api, order) and data(api, order)["deposit_payments"] == []
    # the same notice twice (same bank reference) counts once
    assert notice(api, order, "deposit", amount=100, reference="REF-7").status_code == 200
    again = notice(api, order, "deposit", amount=100, reference="REF-7")
    assert again.status_code == 422 and "payload.reference" in again.json["error"]["fields"]
    assert data(api, order)["deposit_received"] == 100


def test_an_overpayment_is_recorded_and_lowers_the_balance(api: Api):
    order = api.start_order()
    api.drive_to(order["id"], "confirm_deposit")
    assert notice(api, order, "deposit", amount=6000).status_code == 200
    d = data(api, order)
    assert (d["deposit_received"], d["deposit_overpaid"]) == (6000.0, 870.0)
    task = api.drive_to(order["id"], "confirm_balance")
    detail = api.get("finance1", f"/api/v1/tasks/{task['id']}").json
    assert detail["values"]["balance_expected"] == TOTAL - 6000
    assert detail["values"]["balance_amount"] == TOTAL - 6000  # the form suggests what is still due


def test_finance_cannot_confirm_less_than_is_due_nor_date_a_payment_in_the_future(api: Api, clock):
    order = api.start_order()
    task = api.drive_to(order["id"], "confirm_deposit")
    detail = api.get("finance1", f"/api/v1/tasks/{task['id']}").json
    assert detail["values"]["deposit_amount"] == DEPOSIT and detail["values"]["deposit_outstanding"] == DEPOSIT
    short = finance(api, task, "confirm", deposit_amount=1.0)
    assert short.status_code == 422 and set(short.json["error"]["fields"]) == {"deposit_amount"}
    zh = api.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": fill(
        detail["form"], detail["values"], "confirm", deposit_amount=1.0)},
        headers={**api.auth("finance1"), "Accept-Language": "zh"})
    assert "已收款项合计低于应收预付款" in zh.json["error"]["fields"]["deposit_amount"]
    future = tomorrow(clock, 3 * 365)
    ahead = finance(api, task, "confirm", deposit_date=future)
    assert ahead.status_code == 422 and set(ahead.json["error"]["fields"]) == {"deposit_date"}
    no_payer = api.post("finance1", f"/api/v1/tasks/{task['id']}/complete", {"data": {
        "deposit_amount": DEPOSIT, "deposit_date": service_today().isoformat(), "decision": "confirm"}})
    assert no_payer.status_code == 422 and "deposit_payer" in no_payer.json["error"]["fields"]
    assert open_elements(api, order) == ["confirm_deposit"]
    # a partial payment with 'shortfall' is booked; sales chases; the rest confirms
    assert finance(api, task, "shortfall", deposit_amount=2000).status_code == 200
    chase = api.task(order["id"], "chase_deposit")
    assert api.complete("sales1", chase["id"]).status_code == 200
    task = api.task(order["id"], "confirm_deposit")
    detail = api.get("finance1", f"/api/v1/tasks/{task['id']}").json
    assert detail["values"]["deposit_received"] == 2000 and detail["values"]["deposit_amount"] == DEPOSIT - 2000
    assert finance(api, task, "confirm").status_code == 200
    assert open_elements(api, order) == ["release_order"]
    assert [p["source"] for p in data(api, order)["deposit_payments"]] == ["finance", "finance"]


def test_a_partial_deposit_goes_on_only_through_the_vps_exception(api: Api):
    order = api.start_order()
    task = api.drive_to(order["id"], "confirm_deposit")
    reason = finance(api, task, "exception", deposit_amount=1000, deposit_exception_reason="")
    assert reason.status_code == 422 and set(reason.json["error"]["fields"]) == {"deposit_exception_reason"}
    full = finance(api, task, "exception", deposit_exception_reason="long-standing customer")
    assert full.status_code == 422 and "deposit_amount" in full.json["error"]["fields"]  # nothing to excuse
    assert finance(api, task, "exception", deposit_amount=1000,
                   deposit_exception_reason="Key account; the rest is promised for Friday").status_code == 200
    vp_task = api.task(order["id"], "approve_deposit_exception")
    assert vp_task["group"] == "vp"
    for outsider in ("finance1", "manager1", "sales1"):  # only the vp grants the exception
        resp = api.post(outsider, f"/api/v1/tasks/{vp_task['id']}/complete",
                        {"data": {"decision": "approve", "deposit_exception_note": "ok"}})
        assert resp.status_code == 403, (outsider, resp.json)
    assert api.complete("vp1", vp_task["id"], "reject", deposit_exception_note="Chase first").status_code == 200
    assert open_elements(api, order) == ["chase_deposit"]
    api.complete("sales1", api.task(order["id"], "chase_deposit")["id"])
    task = api.task(order["id"], "confirm_deposit")
    assert finance(api, task, "exception", deposit_amount=0,
                   deposit_exception_reason="Customer's bank delay, letter attached").status_code == 200
    vp_task = api.task(order["id"], "approve_deposit_exception")
    detail = api.get("vp1", f"/api/v1/tasks/{vp_task['id']}").json
    assert detail["values"]["deposit_outstanding"] == DEPOSIT - 1000
    assert api.complete("vp1", vp_task["id"], "approve", deposit_exception_note="Approved: key account").status_code == 200
    assert open_elements(api, order) == ["release_order"]
    events = api.get("manager1", f"/api/v1/instances/{order['id']}/audit").json["items"]
    decided = [(e["actor"], e["detail"]["data"]["decision"]) for e in events
               if e["element_id"] == "approve_deposit_exception" and e["action"] == "task_completed"]
    assert decided == [("vp1", "reject"), ("vp1", "approve")]


def test_the_balance_follows_the_same_rules(api: Api, clock):
    order = api.start_order()
    api.drive_to(order["id"], "confirm_balance")
    balance = TOTAL - DEPOSIT
    assert data(api, order)["balance_expected"] == balance
    assert notice(api, order, "balance", amount=1000, reference="BAL-1").status_code == 200
    assert open_elements(api, order) == ["chase_balance"]  # no sales list on a partial balance
    late = notice(api, order, "balance", amount=balance - 1000,
                  date=tomorrow(clock))
    assert late.status_code == 422 and "payload.date" in late.json["error"]["fields"]
    assert notice(api, order, "balance", amount=balance - 1000, reference="BAL-2").status_code == 200
    assert open_elements(api, order) == ["prepare_sales_list"]


def test_finance_confirming_the_balance_short_is_refused(api: Api):
    order = api.start_order()
    task = api.drive_to(order["id"], "confirm_balance")
    short = finance(api, task, "confirm", balance_amount=1.0)
    assert short.status_code == 422 and set(short.json["error"]["fields"]) == {"balance_amount"}
    assert finance(api, task, "confirm").status_code == 200
    assert open_elements(api, order) == ["prepare_sales_list"]


def test_qc_passes_only_within_the_acceptance_number(api: Api):
    order = api.start_order()
    task = api.drive_to(order["id"], "qc_inspection")
    too_many = api.complete("quality1", task["id"], "pass", sample_size=50, qc_defects=2)
    assert too_many.status_code == 422 and set(too_many.json["error"]["fields"]) == {"qc_defects"}
    impossible = api.complete("quality1", task["id"], "fail", sample_size=5, qc_defects=6)
    assert impossible.status_code == 422 and "qc_defects" in impossible.json["error"]["fields"]
    assert api.complete("quality1", task["id"], "pass", sample_size=80, qc_defects=2).status_code == 200
    assert "goods_in" in open_elements(api, order)


def test_the_archive_asks_for_the_documents_that_apply_and_each_must_be_ticked(api: Api):
    tt = api.start_order()
    task = api.drive_to(tt["id"], "archive_documents")
    form = api.get("sales1", f"/api/v1/tasks/{task['id']}").json["form"]
    asked = {k for k in form["properties"] if k.startswith("archived_")}
    assert "archived_lc_copy" not in asked and "archived_change_record" not in asked  # T/T, no change
    assert {"archived_spec_sheet", "archived_accounts", "archived_contacts"} <= asked
    url = f"/api/v1/tasks/{task['id']}/complete"
    unticked = api.post("sales1", url, {"data": {**dict.fromkeys(asked, True), "archived_accounts": False}})
    assert unticked.status_code == 422 and set(unticked.json["error"]["fields"]) == {"archived_accounts"}
    slipped = api.post("sales1", f"/api/v1/tasks/{task['id']}/complete",
                       {"data": {**dict.fromkeys(asked, True), "archived_lc_copy": True}})
    assert slipped.status_code == 422 and "archived_lc_copy" in slipped.json["error"]["fields"]
    assert api.complete("sales1", task["id"]).status_code == 200

    lc = api.start_order(payment_terms="lc")
    task = api.drive_to(lc["id"], "archive_documents")
    form = api.get("sales1", f"/api/v1/tasks/{task['id']}").json["form"]
    assert "archived_lc_copy" in form["properties"] and "archived_lc_copy" in form["required"]
    asked = {k for k in form["properties"] if k.startswith("archived_")}
    missing = api.post("sales1", f"/api/v1/tasks/{task['id']}/complete",
                       {"data": {k: k != "archived_lc_copy" for k in asked}})
    assert missing.status_code == 422 and "archived_lc_copy" in missing.json["error"]["fields"]


def _with_form(form: dict) -> dict:
    import io
    import json

    from tests.support import bpmn_samples as samples
    xml = samples.process('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="pay" name="Pay"><bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="formJsonSchemaFilename" value="pay.json"/>
    <spiffworkflow:property name="candidateGroups" value="finance"/></spiffworkflow:properties>
    </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>
  <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="end"/>''', "paying_rules")
    return {"files": [(io.BytesIO(xml.encode()), "paying.bpmn"), (io.BytesIO(json.dumps(form).encode()), "pay.json")]}


def test_a_form_whose_rule_cannot_be_evaluated_is_refused_at_deploy(api: Api):
    form = {"type": "object", "properties": {"amount": {"type": "number"}},
            "rules": [{"field": "amount", "check": "amount >> open('x')", "message": "no"}]}
    resp = api.client.post("/api/v1/processes", headers=api.auth("owner1"), data=_with_form(form),
                           content_type="multipart/form-data")
    assert resp.status_code == 422, resp.json
    [problem] = [p for p in resp.json["error"]["problems"] if "rules.0.check" in p["message"]]
    assert problem["element_id"] == "pay"


def test_a_deployed_forms_rules_hold_with_the_service_clock(app, api: Api, clock):
    form = {"type": "object", "properties": {"paid_on": {"type": "string", "format": "date"}},
            "required": ["paid_on"],
            "rules": [{"field": "paid_on", "check": "paid_on <= today()", "message": "Not in the future.",
                       "message_zh": "不能晚于今天。"}]}
    resp = api.client.post("/api/v1/processes", headers=api.auth("owner1"), data=_with_form(form),
                           content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    started = api.post("admin", "/api/v1/processes/paying_rules/instances", {"data": {}}).json
    task = api.task(started["id"], "pay")
    next_day = tomorrow(clock)
    early = api.post("finance1", f"/api/v1/tasks/{task['id']}/complete", {"data": {"paid_on": next_day}})
    assert early.status_code == 422 and early.json["error"]["fields"] == {"paid_on": "Not in the future."}
    clock.advance(days=1)  # the same date is fine once the service's day has come
    assert api.post("finance1", f"/api/v1/tasks/{task['id']}/complete", {"data": {"paid_on": next_day}}).status_code == 200


def test_the_order_page_lists_each_payment_and_the_sales_list_signs_the_sums(app, api: Api):
    from tests.support.helpers import login
    order = api.start_order()
    api.drive_to(order["id"], "confirm_deposit")
    notice(api, order, "deposit", amount=1000, reference="DEP-1")
    notice(api, order, "deposit", amount=4200, reference="DEP-2")
    client = app.test_client()
    login(client, "manager1")
    page = client.get(f"/orders/{order['id']}").get_data(as_text=True)
    section = page[page.index('id="payments"'):]
    assert "DEP-1" in section and "DEP-2" in section and "1,000.00" in section and "4,200.00" in section
    assert 'data-field="deposit_overpaid">70.00' in section
    api.drive_to(order["id"], "sign_release")
    page = client.get(f"/orders/{order['id']}/sales-list").get_data(as_text=True)
    assert "5,200.00" in page  # the deposit received: the sum of both payments


def test_amounts_add_up_in_cents_not_in_floating_point(api: Api):
    # 0.7 + 0.1 < 0.8 in floating point: a payment of the exact rest must confirm
    order = api.start_order(lines=[{"product": "TV-32", "spec": "x", "quantity": 1, "unit_price": 2.67}])
    task = api.drive_to(order["id"], "confirm_deposit")   # 30 % of 2.67 = 0.80
    assert data(api, order)["deposit_expected"] == 0.8
    assert finance(api, task, "shortfall", deposit_amount=0.7).status_code == 200
    api.complete("sales1", api.task(order["id"], "chase_deposit")["id"])
    task = api.task(order["id"], "confirm_deposit")
    assert api.get("finance1", f"/api/v1/tasks/{task['id']}").json["values"]["deposit_amount"] == 0.1
    assert finance(api, task, "confirm", deposit_amount=0.1).status_code == 200
    assert open_elements(api, order) == ["release_order"]


def test_a_change_reaches_the_customer_only_after_it_passed_and_production_resumes_on_their_yes(api: Api):
    order = api.start_order()
    task = api.drive_to(order["id"], "produce")
    assert api.complete("production1", task["id"], "change_request",
                        change_description="Boot logo v2").status_code == 200
    test = api.task(order["id"], "test_change")
    assert api.complete("engineering1", test["id"], "fail", change_test_result="Logo too large").status_code == 200
    assert open_elements(api, order) == ["test_change"]  # a failed test goes back to engineering
    test = api.task(order["id"], "test_change")
    assert api.complete("engineering1", test["id"], "pass", change_test_result="OK").status_code == 200
    confirm = api.task(order["id"], "confirm_change")
    no = api.complete("sales1", confirm["id"], "reject", change_customer_reply="")
    assert no.status_code == 422 and "change_customer_reply" in no.json["error"]["fields"]
    assert api.complete("sales1", confirm["id"], "reject", change_customer_reply="Colour is off").status_code == 200
    assert open_elements(api, order) == ["test_change"]  # not accepted: no production on it
    api.complete("engineering1", api.task(order["id"], "test_change")["id"], "pass", change_test_result="OK")
    api.complete("sales1", api.task(order["id"], "confirm_change")["id"], "confirm")
    assert open_elements(api, order) == ["produce"]


def test_schedule_goods_in_and_shipping_hold_on_their_dates_and_quantities(api: Api, clock):
    order = api.start_order()
    task = api.drive_to(order["id"], "schedule_production")
    late = api.complete("pmc1", task["id"], planned_start=tomorrow(clock, 9), planned_ship_date=tomorrow(clock, 2))
    assert late.status_code == 422 and "planned_ship_date" in late.json["error"]["fields"]
    task = api.drive_to(order["id"], "goods_in")
    detail = api.get("warehouse1", f"/api/v1/tasks/{task['id']}").json
    assert detail["values"]["quantity_in"] == 200  # suggested: what the order has
    too_many = api.complete("warehouse1", task["id"], quantity_in=201)
    assert too_many.status_code == 422 and "quantity_in" in too_many.json["error"]["fields"]
    task = api.drive_to(order["id"], "ship_order")
    ahead = api.complete("logistics1", task["id"], shipped_date=tomorrow(clock))
    assert ahead.status_code == 422 and "shipped_date" in ahead.json["error"]["fields"]


def test_the_task_pages_show_the_rules_as_a_person_meets_them(app, api: Api):
    import html
    import re

    from tests.support.helpers import login
    order = api.start_order()
    task = api.drive_to(order["id"], "confirm_deposit")
    client = app.test_client()
    login(client, "finance1")
    page = html.unescape(client.get(f"/tasks/{task['id']}").get_data(as_text=True))
    assert re.search(r'name="deposit_amount"[^>]*value="5130(\.0)?"', page), "the amount still due is pre-filled"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/inbox").get_data(as_text=True)).group(1)
    assert client.post("/language", data={"lang": "zh", "csrf_token": token, "next": "/inbox"}).status_code == 302
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/tasks/{task['id']}").get_data(as_text=True)).group(1)
    short = client.post(f"/tasks/{task['id']}", data={
        "csrf_token": token, "deposit_amount": "1", "deposit_payer": "Bright", "deposit_kind": "tt",
        "deposit_date": service_today().isoformat(), "decision": "confirm"})
    assert short.status_code == 422
    assert "已收款项合计低于应收预付款" in html.unescape(short.get_data(as_text=True))
    assert open_elements(api, order) == ["confirm_deposit"]  # nothing moved

    task = api.drive_to(order["id"], "archive_documents")
    sales = app.test_client()
    login(sales, "sales1")
    archive = sales.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'name="archived_accounts"' in archive and 'name="archived_lc_copy"' not in archive
