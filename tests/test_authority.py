"""Authority follows the diagram, not the clicker: each row of ``permissions.RULES`` (README's second
permissions table) tested through the pages and the API, for the roles that could try it."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select, update

from orderflow.access.permissions import RULES, rules_table
from orderflow.core.models import ApiToken, HumanTask, Instance, Mail
from tests.support.customer_links import CUSTOMER_LANE, FACTS, post_answer
from tests.support.helpers import NEW_ORDER, Api, login

ROOT = Path(__file__).resolve().parent.parent
# rule -> the tests below that hold it
TESTED = {
    "task.reassign.diagram": ["test_a_step_moves_only_within_its_diagrams_groups"],
    "task.reassign.signature": ["test_the_release_signature_never_leaves_its_group"],
    "task.sign.diagram": ["test_nobody_outside_the_diagrams_groups_signs_whatever_the_assignment"],
    "customer_link.secret": ["test_staff_send_a_customer_link_but_never_read_it"],
    "customer_link.staff_session": ["test_a_customer_link_in_a_staff_session_is_refused"],
    "customer.file.totals": ["test_a_customer_file_shows_totals_only_of_orders_the_reader_may_open"],
    "token.mint": ["test_an_api_token_mints_no_token_through_the_page_or_the_api",
                   "test_token_lifetime_has_one_rule_for_page_and_api"],
}


def test_every_rule_is_tested_and_in_the_readme():
    assert set(TESTED) == set(RULES)
    assert all(name in globals() for names in TESTED.values() for name in names)
    assert rules_table() in (ROOT / "README.md").read_text(encoding="utf-8"), "paste rules_table() into README"


def _db(app):
    return app.extensions["orderflow.db"]


def _reassign_page(client, token: str, task_id: int, to: str):
    return client.post(f"/tasks/{task_id}/reassign", data={"csrf_token": token, "to": to})


# -- reassigning and signing ----------------------------------------------------------------------

def test_a_step_moves_only_within_its_diagrams_groups(app, api: Api, client):
    task = api.start_order()["open_tasks"][0]  # check_stock: the warehouse's
    url = f"/api/v1/tasks/{task['id']}/reassign"
    for who in ("manager1", "admin"):
        refused = api.post(who, url, {"group": "manager"})
        assert refused.status_code == 403 and "diagram" in refused.json["error"]["message"], refused.json
        assert api.post(who, url, {"group": "purchasing"}).status_code == 403
    assert api.post("manager1", url, {"user": "manager1"}).status_code == 422  # not in the task's groups
    token = login(client, "manager1")
    assert _reassign_page(client, token, task["id"], "group:manager").status_code == 403
    assert api.get("manager1", f"/api/v1/tasks/{task['id']}").json["group"] == "warehouse"
    assert api.post("manager1", url, {"group": "warehouse"}).status_code == 200  # within: fine
    assert api.post("manager1", url, {"user": "warehouse2"}).status_code == 200
    assert api.post("sales1", url, {"group": "warehouse"}).status_code == 403  # the matrix: managers only


def test_the_release_signature_never_leaves_its_group(app, api: Api, client):
    started = api.start_order()
    sign = api.drive_to(started["id"], "sign_release")
    url = f"/api/v1/tasks/{sign['id']}/reassign"
    for who in ("manager1", "admin"):
        for body in ({"group": "manager"}, {"group": "sales"}):
            assert api.post(who, url, body).status_code == 403, (who, body)
        assert api.post(who, url, {"user": who}).status_code in (403, 422)
    token = login(client, "manager1")
    assert _reassign_page(client, token, sign["id"], "group:manager").status_code == 403
    assert api.post("manager1", url, {"group": sign["group"]}).status_code == 200  # stays: fine
    assert api.get("manager1", f"/api/v1/tasks/{sign['id']}").json["group"] == sign["group"]
    assert api.complete("vp1", sign["id"], password="demo").status_code == 200


def test_nobody_outside_the_diagrams_groups_signs_whatever_the_assignment(app, api: Api):
    started = api.start_order()
    sign = api.drive_to(started["id"], "sign_release")
    # a row moved by the old reassignment (or by hand): the manager group, assigned to manager1
    with _db(app).session() as s:
        s.execute(update(HumanTask).where(HumanTask.id == sign["id"]).values(group_id="manager", assignee="manager1"))
        s.commit()
    for who in ("manager1",):
        resp = api.post(who, f"/api/v1/tasks/{sign['id']}/complete",
                        {"data": {"decision": "approve"}, "password": "demo"})
        assert resp.status_code == 403 and "diagram" in resp.json["error"]["message"], resp.json
    with _db(app).session() as s:
        assert s.get(HumanTask, sign["id"]).status == "ready"


# -- customer links -------------------------------------------------------------------------------

def _customer_case(api: Api) -> int:
    resp = api.client.post("/api/v1/processes", data=CUSTOMER_LANE.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json
    started = api.post("admin", "/api/v1/processes/receipt_only/instances", {"data": FACTS})
    assert started.status_code == 201, started.json
    return started.json["id"]


def _tokens_in_mails(app) -> list[str]:
    with _db(app).session() as s:
        return [m.group(1) for mail in s.scalars(select(Mail))
                for m in re.finditer(r"/c/([A-Za-z0-9_.\-]+)", mail.body)]


def _task_of(app, instance_id: int) -> HumanTask:
    with _db(app).session() as s:
        return s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).one()


def test_staff_send_a_customer_link_but_never_read_it(app, api: Api, client):
    case = _customer_case(api)
    task = _task_of(app, case)
    sent = api.post("sales1", f"/api/v1/tasks/{task.id}/customer-link", {"email": "boss@acme.example"})
    assert sent.status_code == 200 and sent.json["url"] is None
    token = login(client, "sales1")
    page = client.post(f"/tasks/{task.id}/customer-link", data={"csrf_token": token, "email": "b2@acme.example"},
                       follow_redirects=True)
    assert page.status_code == 200
    secrets_ = _tokens_in_mails(app)
    assert len(secrets_) >= 3
    bodies = [page.get_data(as_text=True), sent.get_data(as_text=True),
              client.get(f"/tasks/{task.id}").get_data(as_text=True)]
    manager = app.test_client()
    login(manager, "manager1")
    outbox = manager.get("/outbox").get_data(as_text=True)
    assert "link hidden" in outbox
    bodies += [outbox, api.get("sales1", f"/api/v1/tasks/{task.id}").get_data(as_text=True),
               api.get("manager1", f"/api/v1/instances/{case}/audit").get_data(as_text=True),
               api.get("sales1", "/api/v1/notifications").get_data(as_text=True)]
    for secret in secrets_:
        assert all(secret not in body for body in bodies)


def test_a_customer_link_in_a_staff_session_is_refused(app, api: Api, client):
    case = _customer_case(api)
    secret = _tokens_in_mails(app)[-1]
    login(client, "sales1")
    assert client.get(f"/c/{secret}").status_code == 403
    resp = post_answer(client, f"/c/{secret}")
    assert resp.status_code == 403 and _task_of(app, case).status == "ready"
    done = post_answer(app.test_client(), f"/c/{secret}")  # the customer, outside any session
    assert done.status_code == 200
    task = _task_of(app, case)
    assert (task.completed_by, task.completed_via) == ("customer", "customer_link")


# -- minting tokens -------------------------------------------------------------------------------

def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _count_tokens(app) -> int:
    with _db(app).session() as s:
        return len(s.scalars(select(ApiToken.id)).all())


def test_an_api_token_mints_no_token_through_the_page_or_the_api(app, api: Api):
    admin_token = api.post("admin", "/api/v1/tokens", {"name": "ops"}).json["token"]
    before = _count_tokens(app)
    # the page with the token, past the CSRF check too (its form's token): the rule itself refuses
    form = api.client.get("/admin/tokens", headers=_bearer(admin_token)).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    page = api.client.post("/admin/tokens", headers=_bearer(admin_token),
                           data={"csrf_token": csrf, "user": "sales2", "name": "forever", "expires_in_days": "0"})
    assert page.status_code == 403, page.get_data(as_text=True)[:500]
    for path, body in (("/api/v1/admin/tokens", {"user": "sales2", "name": "t", "expires_in_days": 0}),
                       ("/api/v1/tokens", {"name": "t", "expires_in_days": 0})):
        assert api.client.post(path, headers=_bearer(admin_token), json=body).status_code == 403
    assert _count_tokens(app) == before


def test_token_lifetime_has_one_rule_for_page_and_api(app, api: Api, client, monkeypatch):
    monkeypatch.setitem(app.config, "ORDERFLOW_TOKEN_MAX_DAYS", 30)
    before = _count_tokens(app)
    for days in (0, 31):
        assert api.post("admin", "/api/v1/admin/tokens",
                        {"user": "sales2", "name": "t", "expires_in_days": days}).status_code == 422
        assert api.post("sales1", "/api/v1/tokens", {"name": "t", "expires_in_days": days}).status_code == 422
        token = login(client, "admin")
        page = client.post("/admin/tokens", data={"csrf_token": token, "user": "sales2", "name": "t",
                                                  "expires_in_days": str(days)})
        assert page.status_code == 422
    assert _count_tokens(app) == before
    assert api.post("sales1", "/api/v1/tokens", {"name": "t", "expires_in_days": 30}).status_code == 201


# -- customer files -------------------------------------------------------------------------------

def test_a_customer_file_shows_totals_only_of_orders_the_reader_may_open(app, api: Api, client):
    own = api.start_order("sales1")["id"]
    other = api.start_order("sales1")["id"]
    with _db(app).session() as s:  # an order sales1 took no part in
        s.execute(update(Instance).where(Instance.id == other).values(started_by="somebody_else"))
        s.execute(update(HumanTask).where(HumanTask.instance_id == other).values(group_id="design"))
        s.commit()
    url = f"/api/v1/customers/{quote(NEW_ORDER['customer'])}"
    staff = api.get("sales1", url).json
    totals = {o["id"]: o["total"] for o in staff["orders"]}
    assert totals[own] and totals[other] is None
    assert staff["totals"]["order_value"] == totals[own]
    manager = api.get("manager1", url).json
    assert {o["id"]: o["total"] for o in manager["orders"]}[other] == totals[own]
    assert manager["totals"]["order_value"] == 2 * totals[own]
    login(client, "sales1")
    page = client.get(f"/customers/{quote(NEW_ORDER['customer'])}").get_data(as_text=True)
    assert f"{2 * totals[own]:,.2f}" not in page
