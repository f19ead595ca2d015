"""The after-sales story end to end: an order that the customer confirms through their links runs to
completion, a return with a refund runs to its outcome, the satisfaction survey goes out after the
delay and its answers reach the customer's file and the analytics."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from orderflow.core.models import AuditEvent, HumanTask, Instance, Mail
from orderflow.workflow import jobs
from tests.support.helpers import Api, service_today

EMAIL = "purchasing@bright.example"


def customer_link(app, to: str = EMAIL) -> str:
    with app.extensions["orderflow.db"].session() as s:
        mail = s.scalars(select(Mail).where(Mail.to == to, Mail.body.contains("/c/"))
                         .order_by(Mail.id.desc())).first()
        return re.search(r"http://[^/]+(/c/\S+)", mail.body).group(1)


def subjects(app, to: str = EMAIL) -> list[str]:
    with app.extensions["orderflow.db"].session() as s:
        return list(s.scalars(select(Mail.subject).where(Mail.to == to).order_by(Mail.id)))


def answer_through_link(app, path: str, **fields) -> None:
    customer = app.test_client()
    page = customer.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    done = customer.post(path, data={"csrf_token": token, **fields})
    assert done.status_code == 200, done.get_data(as_text=True)[:2000]


def finish(api: Api, instance_id: int, limit: int = 80) -> None:
    for _ in range(limit):
        open_tasks = api.open_tasks(instance_id)
        if not open_tasks:
            return
        task = open_tasks[0]
        password = "demo" if task["element_id"] == "sign_release" else None
        done = api.complete(f"{task['group']}1", task["id"], password=password)
        assert done.status_code == 200, done.json
    raise AssertionError("the instance never finished")


def completed_order(api: Api, app) -> dict:
    order = api.start_order(customer_email=EMAIL)
    api.drive_to(order["id"], "confirm_sample")
    answer_through_link(app, customer_link(app), decision="confirm", sample_feedback="Picture is fine")
    api.drive_to(order["id"], "confirm_receipt")
    answer_through_link(app, customer_link(app), decision="confirm", received_date=service_today().isoformat())
    finish(api, order["id"])
    detail = api.get("manager1", f"/api/v1/instances/{order['id']}").json
    assert detail["status"] == "completed" and detail["outcome"] == "completed"
    via = {h["element_id"]: h["completed_via"] for h in detail["history"]}
    assert via["confirm_sample"] == via["confirm_receipt"] == "customer_link"
    assert via.get("confirm_change", True)
    return detail


def test_a_completed_order_runs_a_return_with_refund_to_its_outcome(api: Api, app, clock):
    running = api.start_order(customer_email=EMAIL)
    refused = api.post("service1", "/api/v1/processes/after_sales/instances",
                       {"data": {"order_no": running["business_key"], "case_type": "return", "description": "x"}})
    assert refused.status_code == 422 and "order_no" in refused.json["error"]["fields"]
    unknown = api.post("service1", "/api/v1/processes/after_sales/instances",
                       {"data": {"order_no": "SO-NOPE", "case_type": "return", "description": "x"}})
    assert unknown.status_code == 422

    order = completed_order(api, app)
    page = api.get("service1", f"/orders/{order['id']}").get_data(as_text=True)
    assert 'id="open-case"' in page  # customer service may open a case from the order's page
    assert 'id="open-case"' not in api.get("sales1", f"/orders/{order['id']}").get_data(as_text=True)

    opened = api.post("service1", "/api/v1/processes/after_sales/instances", {"data": {
        "order_no": order["business_key"], "case_type": "return", "quantity": 20,
        "description": "20 sets arrived with cracked front frames", "claimed_amount": 8000}})
    assert opened.status_code == 201, opened.json
    case_id = opened.json["id"]
    case = api.get("manager1", f"/api/v1/instances/{case_id}").json
    assert re.fullmatch(r"AS-\d{8}-\d{3}", case["business_key"])
    assert case["customer"] == "Shenzhen Bright Electronics"
    assert case["data"]["order_no"] == order["business_key"] and case["data"]["lines"] == order["data"]["lines"]

    board = api.get("manager1", "/api/v1/board?process=after_sales").json
    assert [(r["business_key"], r["element_id"]) for r in board["items"]] == [(case["business_key"], "intake_case")]

    steps = []
    for element, user, decision, values in [
        ("intake_case", "service1", "accept", {}),
        ("inspect_return", "quality1", None, {"defect_confirmed": "yes", "findings": "Frames cracked in transit"}),
        ("decide_case", "service1", None, {"resolution": "refund", "case_amount": 8000,
                                          "resolution_reason": "Transport damage confirmed"}),
        ("approve_case", "sales_manager1", "approve", {}),
        ("refund_payment", "finance1", None, {"refund_amount": 8000, "refund_reference": "TT-77"}),
        ("inform_customer", "service1", None, {"informed_via": "email"}),
    ]:
        task = api.task(case_id, element)
        assert task["group"] == user[:-1]
        done = api.complete(user, task["id"], decision, **values)
        assert done.status_code == 200, (element, done.json)
        steps.append(element)

    case = api.get("manager1", f"/api/v1/instances/{case_id}").json
    assert case["status"] == "completed" and case["outcome"] == "refunded"
    assert [h["element_id"] for h in case["history"]] == steps
    with app.extensions["orderflow.db"].session() as s:
        row = s.get(Instance, case_id)
        assert (row.category, row.related_id) == ("return", order["id"])
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == case_id)))
        assert {"case_closed", "customer_notified", "instance_completed"} <= actions
    order_page = api.get("manager1", f"/orders/{order['id']}").get_data(as_text=True)
    assert case["business_key"] in order_page  # the order lists its case
    assert 'href="/customers/Shenzhen%20Bright%20Electronics"' in order_page  # and links the customer's file
    # the customer heard of each step: ship date, the sample and receipt links, shipping, the outcome
    told = subjects(app)
    key = order["business_key"]
    assert [t for t in told if "planned ship date" in t or "shipped" in t] == \
        [f"{key}: planned ship date / 计划出货日期", f"{key}: shipped / 已出货"]
    assert told[-1] == f"{case['business_key']}: your after-sales case / 售后处理结果"
    with app.extensions["orderflow.db"].session() as s:
        outcome = s.scalars(select(Mail.body).where(Mail.subject == told[-1])).one()
    assert "closed: refunded" in outcome and "已退款" in outcome

    # the satisfaction survey went out ORDERFLOW_SURVEY_DELAY (7 days) after the receipt
    with app.extensions["orderflow.db"].session() as s:
        survey = s.scalars(select(Instance).where(Instance.process_key == "satisfaction_survey")).one()
        assert survey.related_id == order["id"] and survey.business_key == f"{order['business_key']}-S"
        assert not s.scalars(select(HumanTask).where(HumanTask.instance_id == survey.id)).all()
    clock.advance(days=7, minutes=1)
    jobs.run_due(app.extensions["orderflow.db"], "test-worker")
    answer_through_link(app, customer_link(app), rating="4", delivery_rating="5", would_recommend="yes",
                        comments="Quick refund, thank you")
    with app.extensions["orderflow.db"].session() as s:
        survey = s.get(Instance, survey.id)
        assert survey.status == "completed" and survey.outcome == "answered"

    customer_file = api.get("manager1", "/api/v1/customers/Shenzhen Bright Electronics").json
    text = str(customer_file)
    assert order["business_key"] in text and case["business_key"] in text and "Quick refund" in text

    today = clock().date()
    report = api.get("manager1", f"/api/v1/analytics?from={(today - timedelta(days=30)).isoformat()}"
                                 f"&to={today.isoformat()}&process=").json
    assert "Quick refund" in str(report) and "refunded" in str(report)
