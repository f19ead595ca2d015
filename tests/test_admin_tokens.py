"""API tokens (issue, use, revoke, expiry, only a hash stored), the administration pages and API
(create a user who then logs in, the lockout guard, bad input re-shown), reassigning tasks."""
from __future__ import annotations

import re

from sqlalchemy import select

from orderflow.access import tokens
from orderflow.core.models import ApiToken, AuditEvent, Base, Notification
from tests.support.helpers import Api, login


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue(api: Api, user: str = "sales1", by: str = "admin", **extra) -> dict:
    resp = api.post(by, "/api/v1/admin/tokens", {"user": user, "name": "script", **extra})
    assert resp.status_code == 201, resp.json
    return resp.json


def csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


# -- tokens ---------------------------------------------------------------------------------------

def test_a_token_authenticates_as_its_user_without_csrf(api: Api):
    token = issue(api)["token"]
    assert token.startswith("of_")
    inbox = api.client.get("/api/v1/tasks", headers=bearer(token))
    assert inbox.status_code == 200
    started = api.client.post("/api/v1/processes/order_flow/instances", headers=bearer(token),
                              json={"data": {}})
    assert started.status_code == 422  # authenticated as sales1 (a starter): the empty form is refused, not the caller
    assert api.client.get("/api/v1/admin/users", headers=bearer(token)).status_code == 403  # sales1 is no admin


def test_only_the_hash_is_stored(app, api: Api):
    issued = issue(api)
    with app.extensions["orderflow.db"].session() as s:
        row = s.get(ApiToken, issued["id"])
        assert row.token_hash == tokens.token_hash(issued["token"]) and row.prefix == issued["token"][:8]
        for table in Base.metadata.sorted_tables:  # the secret is nowhere, not even in the audit trail
            for record in s.execute(select(table)).all():
                assert issued["token"] not in str(record), table.name
                assert issued["token"][8:] not in str(record), table.name
    listed = api.get("admin", "/api/v1/admin/tokens").json["items"]
    assert [t["prefix"] for t in listed] == [issued["token"][:8]] and "token" not in listed[0]


def test_revoked_expired_unknown_tokens_are_401(app, api: Api, clock):
    issued = issue(api, expires_in_days=1)
    headers = bearer(issued["token"])
    assert api.client.get("/api/v1/tasks", headers=headers).status_code == 200
    clock.advance(days=2)
    expired = api.client.get("/api/v1/tasks", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json["error"]["message"]
    other = issue(api)
    assert api.client.delete(f"/api/v1/admin/tokens/{other['id']}", headers=api.auth("admin")).status_code == 200
    revoked = api.client.get("/api/v1/tasks", headers=bearer(other["token"]))
    assert revoked.status_code == 401 and "revoked" in revoked.json["error"]["message"]
    unknown = api.client.get("/api/v1/tasks", headers=bearer("of_" + "x" * 43))
    assert unknown.status_code == 401 and "not known" in unknown.json["error"]["message"]
    assert api.client.get("/api/v1/tasks", headers=bearer("nonsense")).status_code == 401
    statuses = {t["id"]: t["status"] for t in api.get("admin", "/api/v1/admin/tokens").json["items"]}
    assert statuses == {issued["id"]: "expired", other["id"]: "revoked"}


def test_a_deactivated_users_token_stops_working(api: Api):
    token = issue(api, user="finance2")["token"]
    assert api.client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    assert api.client.patch("/api/v1/admin/users/finance2", json={"active": False},
                            headers=api.auth("admin")).status_code == 200
    assert api.client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(app, api: Api, clock):
    issued = issue(api)

    def last_used():
        with app.extensions["orderflow.db"].session() as s:
            return s.get(ApiToken, issued["id"]).last_used_at
    assert last_used() is None
    api.client.get("/api/v1/tasks", headers=bearer(issued["token"]))
    first = last_used()
    assert first is not None
    clock.advance(seconds=30)
    api.client.get("/api/v1/tasks", headers=bearer(issued["token"]))
    assert last_used() == first
    clock.advance(seconds=31)
    api.client.get("/api/v1/tasks", headers=bearer(issued["token"]))
    assert last_used() > first


def test_own_tokens_and_their_limits(api: Api):
    mine = api.post("sales1", "/api/v1/tokens", {"name": "my script", "expires_in_days": 0})
    assert mine.status_code == 201 and mine.json["expires_at"] is None and mine.json["user"] == "sales1"
    theirs = issue(api, user="sales2")
    assert [t["id"] for t in api.get("sales1", "/api/v1/tokens").json["items"]] == [mine.json["id"]]
    assert api.client.delete(f"/api/v1/tokens/{theirs['id']}", headers=api.auth("sales1")).status_code == 403
    assert api.client.delete(f"/api/v1/admin/tokens/{mine.json['id']}", headers=api.auth("sales1")).status_code == 403
    by_token = api.client.post("/api/v1/tokens", json={"name": "child"}, headers=bearer(mine.json["token"]))
    assert by_token.status_code == 403  # a token cannot mint tokens
    assert api.client.delete(f"/api/v1/tokens/{mine.json['id']}", headers=api.auth("sales1")).json["status"] == "revoked"
    assert api.post("admin", "/api/v1/admin/tokens", {"user": "nobody", "name": "x"}).status_code == 422
    bad = api.post("sales1", "/api/v1/tokens", {"name": "", "expires_in_days": -3})
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"name", "expires_in_days"}


def test_the_tokens_page_shows_the_secret_once(client):
    token = login(client, "admin")
    page = client.post("/admin/tokens", data={"csrf_token": token, "user": "bank1", "name": "bank gateway",
                                              "expires_in_days": "30"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-token" readonly value="(of_[^"]+)"', page.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/instances", headers=bearer(secret)).status_code == 403  # bank1 reads no orders
    listing = client.get("/admin/tokens").get_data(as_text=True)
    assert secret not in listing and secret[:8] in listing
    token_id = int(re.search(r'id="token-(\d+)"', listing).group(1))
    revoked = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 302
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 401
    bad = client.post("/admin/tokens", data={"csrf_token": token, "user": "bank1", "name": ""})
    assert bad.status_code == 422 and "is-invalid" in bad.get_data(as_text=True)


# -- administration -------------------------------------------------------------------------------

def test_an_admin_creates_a_user_who_then_logs_in_and_works(app, client, api: Api):
    token = login(client, "admin")
    assert 'id="nav-admin"' in client.get("/inbox").get_data(as_text=True)
    resp = client.post("/admin/users", data={"csrf_token": token, "username": "mei", "display_name": "Mei Lin",
                                             "email": "mei@example.com", "password": "a good password",
                                             "groups": ["warehouse"]})
    assert resp.status_code == 302 and resp.location.endswith("/admin/users/mei")
    assert "Mei Lin" in client.get("/admin/users?q=mei").get_data(as_text=True)
    task = api.start_order()["open_tasks"][0]  # check_stock: warehouse
    other = app.test_client()
    login(other, "mei", "a good password")
    assert 'id="nav-admin"' not in other.get("/inbox").get_data(as_text=True)
    claimed = api.client.post(f"/api/v1/tasks/{task['id']}/claim", headers=api.auth("mei", "a good password"))
    assert claimed.status_code == 200 and claimed.json["assignee"] == "mei"
    assert other.get("/admin/users").status_code == 403
    with app.extensions["orderflow.db"].session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "user_created"))
        assert event.instance_id is None and event.actor == "admin" and event.detail["groups"] == ["warehouse"]


def test_bad_input_is_shown_on_the_form_never_a_500(client, api: Api):
    token = login(client, "admin")
    resp = client.post("/admin/users", data={"csrf_token": token, "username": "bad name!", "display_name": "Typed",
                                             "password": "short", "groups": ["nope"], "email": "not-mail"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'value="Typed"' in text
    assert text.count("invalid-feedback") >= 4
    taken = client.post("/admin/users", data={"csrf_token": token, "username": "sales1", "display_name": "X",
                                              "password": "long enough"})
    assert taken.status_code == 422 and "This user name is taken." in taken.get_data(as_text=True)
    group = client.post("/admin/groups", data={"csrf_token": token, "id": "Sales", "name": ""})
    assert group.status_code == 422 and group.get_data(as_text=True).count("invalid-feedback") == 2
    odd = client.post("/admin/users/sales1", data={"csrf_token": token, "form": "other"})
    assert odd.status_code == 422
    assert client.get("/admin/users/nobody").status_code == 404
    api_bad = api.post("admin", "/api/v1/admin/users", {"username": "", "groups": "sales"})
    assert api_bad.status_code == 422 and "groups" in api_bad.json["error"]["fields"]
    assert api.client.patch("/api/v1/admin/users/sales1", json={"rank": 1},
                            headers=api.auth("admin")).status_code == 422


def test_an_admin_cannot_lock_themself_out(client, api: Api):
    token = login(client, "admin")
    page = client.post("/admin/users/admin", data={"csrf_token": token, "form": "active", "active": "0"})
    assert page.status_code == 409 and "cannot deactivate your own account" in page.get_data(as_text=True)
    page = client.post("/admin/users/admin", data={"csrf_token": token, "form": "details",
                                                   "display_name": "Administrator", "groups": ["manager"]})
    assert page.status_code == 409 and "cannot remove yourself from the administrators" in page.get_data(as_text=True)
    resp = api.client.patch("/api/v1/admin/users/admin", json={"groups": []}, headers=api.auth("admin"))
    assert resp.status_code == 409
    assert api.get("admin", "/api/v1/admin/users?q=admin").json["items"][0]["groups"] == ["admin"]
    # another administrator may
    assert api.post("admin", "/api/v1/admin/users", {"username": "root2", "display_name": "Second admin",
                                                     "password": "long enough", "groups": ["admin"]}).status_code == 201
    assert api.client.patch("/api/v1/admin/users/admin", json={"active": False},
                            headers=api.auth("root2", "long enough")).status_code == 200


def test_groups_edit_reset_password_and_reactivate(client, api: Api):
    token = login(client, "admin")
    assert client.post("/admin/groups", data={"csrf_token": token, "id": "packing", "name": "Packing",
                                              "name_zh": "包装"}).status_code == 302
    assert 'id="group-packing"' in client.get("/admin/groups").get_data(as_text=True)
    assert 'id="details-form"' in client.get("/admin/users/sales2").get_data(as_text=True)
    groups = {g["id"]: g for g in api.get("admin", "/api/v1/admin/groups").json["items"]}
    assert groups["packing"]["members"] == 0 and groups["packing"]["builtin"] is False
    assert groups["warehouse"]["members"] == 2
    saved = client.post("/admin/users/sales2", data={"csrf_token": token, "form": "details", "display_name": "Sam",
                                                     "email": "", "groups": ["sales", "packing"]})
    assert saved.status_code == 302
    assert api.get("admin", "/api/v1/admin/users?q=sales2").json["items"][0]["groups"] == ["packing", "sales"]
    assert client.post("/admin/users/sales2", data={"csrf_token": token, "form": "password",
                                                    "password": "new password"}).status_code == 302
    assert api.get("sales2", "/api/v1/tasks").status_code == 401
    assert api.client.get("/api/v1/tasks", headers=api.auth("sales2", "new password")).status_code == 200
    client.post("/admin/users/sales2", data={"csrf_token": token, "form": "active", "active": "0"})
    assert api.client.get("/api/v1/tasks", headers=api.auth("sales2", "new password")).status_code == 401
    client.post("/admin/users/sales2", data={"csrf_token": token, "form": "active", "active": "1"})
    assert api.client.get("/api/v1/tasks", headers=api.auth("sales2", "new password")).status_code == 200


# -- reassigning ----------------------------------------------------------------------------------

def test_a_manager_reassigns_a_task_to_a_person_or_a_group(app, api: Api, client):
    started = api.start_order()
    task = started["open_tasks"][0]  # check_stock, warehouse
    given = api.post("manager1", f"/api/v1/tasks/{task['id']}/reassign", {"user": "warehouse2"})
    assert given.status_code == 200 and given.json["assignee"] == "warehouse2"
    assert api.post("warehouse1", f"/api/v1/tasks/{task['id']}/complete", {"data": {}}).status_code == 409
    with app.extensions["orderflow.db"].session() as s:
        note = s.scalar(select(Notification).where(Notification.username == "warehouse2"))
        assert note.kind == "task_assigned" and note.link == f"/tasks/{task['id']}"
    # authority follows the diagram: check_stock is the warehouse's, it cannot go to purchasing
    assert api.post("manager1", f"/api/v1/tasks/{task['id']}/reassign", {"group": "purchasing"}).status_code == 403
    moved = api.post("manager1", f"/api/v1/tasks/{task['id']}/reassign", {"group": "warehouse"})
    assert moved.json["group"] == "warehouse" and moved.json["assignee"] is None
    assert task["id"] in [t["id"] for t in api.get("warehouse1", "/api/v1/tasks").json["items"]]
    assert api.complete("warehouse1", task["id"]).status_code == 200
    events = [e for e in api.get("manager1", f"/api/v1/instances/{started['id']}/audit").json["items"]
              if e["action"] == "task_reassigned"]
    assert [e["detail"]["to"] for e in events] == [{"group": "warehouse", "user": "warehouse2"},
                                                   {"group": "warehouse", "user": None}]
    assert api.post("manager1", f"/api/v1/tasks/{task['id']}/reassign", {"group": "sales"}).status_code == 409


def test_reassign_refuses_what_cannot_work(app, api: Api, client):
    task = api.start_order()["open_tasks"][0]
    url = f"/api/v1/tasks/{task['id']}/reassign"
    for body in ({"user": "sales1"}, {"user": "nobody"}, {"group": "nope"}, {"group": "integration"}, {},
                 {"user": "warehouse2", "group": "warehouse"}, {"user": 5}):
        assert api.post("manager1", url, body).status_code == 422, body
    assert api.post("warehouse1", url, {"user": "warehouse2"}).status_code == 403
    assert api.post("manager1", "/api/v1/tasks/999999/reassign", {"group": "sales"}).status_code == 404
    token = login(client, "manager1")
    page = client.get(f"/orders/{task['instance_id']}").get_data(as_text=True)
    assert f'id="reassign-{task["id"]}"' in page and 'value="user:warehouse2"' in page
    resp = client.post(f"/tasks/{task['id']}/reassign", data={"csrf_token": token, "to": "user:sales1"})
    assert resp.status_code == 302  # refused with a message on the order page
    assert "is not an active member" in client.get(resp.location).get_data(as_text=True)
    resp = client.post(f"/tasks/{task['id']}/reassign", data={"csrf_token": token, "to": "group:logistics"})
    assert resp.status_code == 403  # outside the step's groups in the diagram
    assert api.get("manager1", f"/api/v1/tasks/{task['id']}").json["group"] == "warehouse"
    sales = app.test_client()
    login(sales, "sales1")
    assert 'class="d-flex gap-1 mt-2 reassign-form"' not in sales.get(f"/orders/{task['instance_id']}").get_data(as_text=True)


def test_groups_an_administrator_adds_show_their_names(app):
    from orderflow.core.models import Group
    from orderflow.web.present import group_label
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        s.add(Group(id="export_desk", name="Export desk", name_zh="出口组"))
        s.commit()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert group_label("export_desk") == "Export desk" and group_label("sales") == "Sales"
        assert group_label("nobody") == "nobody"


def test_a_password_reset_ends_the_sessions_opened_with_the_old_password(app, client, api: Api):
    from flask.testing import FlaskClient
    theirs: FlaskClient = app.test_client()
    login(theirs, "sales2")
    assert theirs.get("/inbox").status_code == 200
    token = login(client, "admin")
    assert client.post("/admin/users/sales2", data={"csrf_token": token, "form": "password",
                                                    "password": "new password"}).status_code == 302
    assert theirs.get("/inbox").status_code == 302  # back to the log-in page
    assert client.get("/inbox").status_code == 200  # the administrator's own session is untouched
    login(theirs, "sales2", "new password")
    assert theirs.get("/inbox").status_code == 200
