"""The customer's own steps: links that work once, refused when used, expired, replaced or tampered
with, and staff completing the step for the customer — each recorded as such."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from orderflow.core.models import AuditEvent, CustomerLink, HumanTask, Instance, Mail
from orderflow.workflow import jobs
from tests.support.customer_links import ANSWER, CUSTOMER_LANE, FACTS, post_answer
from tests.support.helpers import Api

# one step in a ``customer`` lane: confirm the receipt (a form from forms/); staff of the default
# customer-step group (sales) may act for the customer


@pytest.fixture
def db(app):
    with app.extensions["orderflow.db"].session() as session:
        yield session


@pytest.fixture
def case(api: Api, app, db):
    resp = api.client.post("/api/v1/processes", data=CUSTOMER_LANE.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json
    # a customer lane is not "no group"; the start event, in no lane, is for administrators only (said so)
    assert [w["element_id"] for w in resp.json["warnings"]] == ["start"]
    started = api.post("admin", "/api/v1/processes/receipt_only/instances", {"data": FACTS})
    assert started.status_code == 201, started.json
    return started.json["id"]


def link_from_mail(db, to: str = "buyer@acme.example") -> str:
    db.expire_all()
    mail = db.scalars(select(Mail).where(Mail.to == to).order_by(Mail.id.desc())).first()
    assert mail is not None, "no mail to the customer"
    return re.search(r"http://[^/]+(/c/\S+)", mail.body).group(1)


def task_row(db, instance_id: int) -> HumanTask:
    db.expire_all()
    return db.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).one()


def test_a_customer_step_mails_a_link_that_shows_only_that_steps_form(app, db, case):
    task = task_row(db, case)
    assert task.customer_step and task.group_id == "sales" and task.status == "ready"
    path = link_from_mail(db)
    mail = db.scalars(select(Mail).where(Mail.to == "buyer@acme.example")).one()
    assert "SO-TEST-1" in mail.subject and "works once" in mail.body and "仅可使用一次" in mail.body
    stored = db.scalars(select(CustomerLink)).one()
    assert stored.secret_sha256 not in path  # only the digest is kept

    anonymous = app.test_client()
    page = anonymous.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "SO-TEST-1" in text and "SF123" in text and 'name="received_date"' in text
    assert "99999" not in text and "Inbox" not in text  # no other order facts, no staff navigation
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"


def test_a_link_works_once_then_is_refused(app, db, case):
    path = link_from_mail(db)
    customer = app.test_client()
    done = post_answer(customer, path)
    assert done.status_code == 200 and "Thank you" in done.get_data(as_text=True)
    task = task_row(db, case)
    assert (task.status, task.completed_by, task.completed_via) == ("completed", "customer", "customer_link")
    assert task.data["received_date"] == "2026-11-20"
    assert db.get(Instance, case).status == "completed"
    actions = [a for (a,) in db.execute(select(AuditEvent.action).where(AuditEvent.instance_id == case)
                                        .order_by(AuditEvent.id))]
    assert actions[-3:] == ["customer_link_used", "task_completed", "instance_completed"]

    again = customer.get(path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    events = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.instance_id == case))
    replay = post_answer(app.test_client(), path, received_date="2026-11-21")
    assert replay.status_code == 410
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.instance_id == case)) == events
    assert task_row(db, case).data["received_date"] == "2026-11-20"


def test_bad_input_reshows_the_form_and_keeps_the_link(app, db, case):
    path = link_from_mail(db)
    customer = app.test_client()
    bad = post_answer(customer, path, received_date="not a date", receipt_notes="kept text")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'id="form-errors"' in text and "kept text" in text
    db.expire_all()
    assert db.scalars(select(CustomerLink)).one().used_at is None
    assert task_row(db, case).status == "ready"
    assert post_answer(customer, path).status_code == 200


def test_read_only_facts_cannot_be_changed_through_the_link(app, db, case):
    path = link_from_mail(db)
    assert post_answer(app.test_client(), path, tracking_no="FORGED", order_no="SO-OTHER").status_code == 200
    data = task_row(db, case).data
    assert data.get("tracking_no") in (None, "SF123") and data.get("order_no") in (None, "SO-TEST-1")


@pytest.mark.parametrize("tamper", [
    # inside the signature (its last base64 character may carry only padding bits)
    lambda t: t[:-5] + ("A" if t[-5] != "A" else "B") + t[-4:],
    lambda t: ("X" if t[0] != "X" else "Y") + t[1:],           # the payload
    lambda t: "garbage",
])
def test_a_tampered_link_is_refused_and_changes_nothing(app, db, case, tamper):
    path = link_from_mail(db)
    token = path.removeprefix("/c/")
    forged = "/c/" + tamper(token)
    page = app.test_client().get(forged)
    assert page.status_code == 404 and "not valid" in page.get_data(as_text=True)
    assert app.test_client().post(forged, data=ANSWER).status_code in (400, 404)
    assert task_row(db, case).status == "ready"
    assert post_answer(app.test_client(), path).status_code == 200  # the real one still works


def test_an_expired_link_is_refused(app, db, case, clock):
    path = link_from_mail(db)
    clock.advance(days=15)  # ORDERFLOW_CUSTOMER_LINK_TTL is P14D
    page = app.test_client().get(path)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert post_answer(app.test_client(), path).status_code == 410
    assert task_row(db, case).status == "ready"


def test_staff_can_send_a_new_link_which_replaces_the_old_one(api, app, db, case):
    old = link_from_mail(db)
    task = task_row(db, case)
    bad = api.post("sales1", f"/api/v1/tasks/{task.id}/customer-link", {"email": "not-an-address"})
    assert bad.status_code == 422 and bad.json["error"]["fields"]["email"]
    assert api.post("finance1", f"/api/v1/tasks/{task.id}/customer-link",
                    {"email": "x@y.example"}).status_code == 403  # not the step's group
    sent = api.post("sales1", f"/api/v1/tasks/{task.id}/customer-link", {"email": "boss@acme.example"})
    assert sent.status_code == 200 and sent.json["url"] is None  # staff send the link, never read it
    new = link_from_mail(db, "boss@acme.example")
    assert new.removeprefix("/c/") not in sent.get_data(as_text=True)
    refused = app.test_client().get(old)
    assert refused.status_code == 410 and "newer one" in refused.get_data(as_text=True)
    assert post_answer(app.test_client(), new).status_code == 200


def test_staff_complete_the_step_for_the_customer_and_it_is_recorded(api, app, db, case):
    path = link_from_mail(db)
    task = task_row(db, case)
    assert api.get("sales1", f"/api/v1/tasks/{task.id}").json["customer_step"] is True
    page = api.get("sales1", f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="customer-step"' in page
    done = api.complete("sales1", task.id, "confirm")
    assert done.status_code == 200, done.json
    task = task_row(db, case)
    assert (task.completed_by, task.completed_via) == ("sales1", "on_behalf")
    history = api.get("manager1", f"/api/v1/instances/{case}").json["history"]
    assert history[-1]["completed_via"] == "on_behalf"
    late = app.test_client().get(path)
    assert late.status_code == 410 and "no longer waiting" in late.get_data(as_text=True)


def test_without_an_address_no_mail_goes_out(api, app, db):
    resp = api.client.post("/api/v1/processes", data=CUSTOMER_LANE.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201
    started = api.post("admin", "/api/v1/processes/receipt_only/instances",
                       {"data": {**FACTS, "customer_email": "not an address"}})
    assert started.status_code == 201
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(CustomerLink)) == 0
    assert db.scalar(select(func.count()).select_from(Mail).where(Mail.to.contains("acme"))) == 0
    assert task_row(db, started.json["id"]).customer_step


def test_an_unanswered_step_reminds_the_customer_once_with_a_fresh_link(api, app, db, clock):
    limited = CUSTOMER_LANE.replace(
        '<spiffworkflow:property name="formJsonSchemaFilename" value="confirm_receipt.json"/>',
        '<spiffworkflow:property name="formJsonSchemaFilename" value="confirm_receipt.json"/>'
        '<spiffworkflow:property name="sla" value="PT2H"/>')
    assert 'name="sla"' in limited
    assert api.client.post("/api/v1/processes", data=limited.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"}).status_code == 201
    case = api.post("admin", "/api/v1/processes/receipt_only/instances", {"data": FACTS}).json["id"]
    first = link_from_mail(db)
    clock.advance(hours=3)
    jobs.run_due(app.extensions["orderflow.db"], "test-worker")
    db.expire_all()
    subjects = list(db.scalars(select(Mail.subject).where(Mail.to == "buyer@acme.example").order_by(Mail.id)))
    assert len(subjects) == 2 and subjects[1].startswith("Reminder / 提醒: SO-TEST-1")
    second = link_from_mail(db)
    assert second != first and app.test_client().get(first).status_code == 410
    clock.advance(hours=5)  # the staff reminder at ORDERFLOW_REMINDER_INTERVAL: no more customer mail
    jobs.run_due(app.extensions["orderflow.db"], "test-worker")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Mail).where(Mail.to == "buyer@acme.example")) == 2
    assert post_answer(app.test_client(), second).status_code == 200
    assert task_row(db, case).status == "completed"


FORM = '<spiffworkflow:property name="formJsonSchemaFilename" value="confirm_receipt.json"/>'


@pytest.mark.parametrize("properties, words", [
    ("", "choose its form in the panel's Form list"),
    (FORM + '<spiffworkflow:property name="signature" value="true"/>', "cannot be an electronic signature"),
])
def test_deploy_refuses_a_customer_step_the_link_could_not_serve(api, properties, words):
    xml = CUSTOMER_LANE.replace(FORM, properties)
    resp = api.client.post("/api/v1/processes", data=xml.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 422 and words in str(resp.json), resp.json


def test_deploy_refuses_an_unknown_related_order_state(api):
    xml = CUSTOMER_LANE.replace(
        '<bpmn:startEvent id="start">',
        '<bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="relatedOrder" value="shipped"/></spiffworkflow:properties>'
        '</bpmn:extensionElements>')
    resp = api.client.post("/api/v1/processes", data=xml.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 422 and "relatedOrder must be one of completed, any" in str(resp.json), resp.json
