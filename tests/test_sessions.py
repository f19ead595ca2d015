"""Sessions and redirects: logout ends the server-side session, ``next`` stays on this site,
and two claims of one task at the same moment cannot both win."""
from __future__ import annotations

import re
import threading

import pytest

from orderflow.core.models import HumanTask
from tests.support.helpers import Api, login


def _copy_session(app, client):
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value)
    return stolen


def test_a_cookie_copied_before_logout_stops_working(app, client):
    token = login(client, "sales1")
    stolen = _copy_session(app, client)
    assert stolen.get("/inbox").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert stolen.get("/inbox").status_code == 302  # back to the log-in page
    assert stolen.get("/api/v1/tasks").status_code == 401
    again = app.test_client()
    login(again, "sales1")  # a fresh log-in works as before
    assert again.get("/inbox").status_code == 200


def test_logout_ends_every_earlier_session_of_the_user_only(app, client):
    token = login(client, "sales1")
    other_device, colleague = app.test_client(), app.test_client()
    login(other_device, "sales1")
    login(colleague, "sales2")
    client.post("/logout", data={"csrf_token": token})
    assert other_device.get("/inbox").status_code == 302
    assert colleague.get("/inbox").status_code == 200


@pytest.mark.parametrize("target", [
    "//evil.example/x", "/\\evil.example", "/\\/evil.example", "https://evil.example/",
    "http:/evil.example", "javascript:alert(1)", "evil.example", "/\tevil", "/inbox\r\nX: y",
    "\\\\evil.example", "", "/%0a/evil",
])
def test_next_after_login_only_follows_paths_on_this_site(app, client, target):
    page = client.get("/login").data.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", query_string={"next": target},
                       data={"username": "sales1", "password": "demo", "csrf_token": token})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    if target == "/%0a/evil":  # percent-encoded: a path on this site, harmless
        assert location == target
    else:
        assert location == "/inbox", (target, location)


def test_next_follows_a_plain_path_with_its_query(app, client):
    page = client.get("/login").data.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", query_string={"next": "/board?process=order"},
                       data={"username": "sales1", "password": "demo", "csrf_token": token})
    assert resp.headers["Location"] == "/board?process=order"


def test_the_language_switch_does_not_redirect_off_site(app, client):
    token = login(client, "sales1")
    for target in ("//evil.example", "/\\evil.example", "https://evil.example/x"):
        resp = client.post("/language", data={"lang": "en", "next": target, "csrf_token": token})
        assert resp.headers["Location"] == "/inbox", target


def test_two_claims_at_the_same_moment_one_wins_one_gets_409(app, api: Api):
    task_id = api.start_order()["open_tasks"][0]["id"]
    users = ["warehouse1", "warehouse2"] * 3
    barrier = threading.Barrier(len(users))
    statuses = [0] * len(users)

    def claim(i: int, user: str) -> None:
        client = app.test_client()
        barrier.wait()
        statuses[i] = client.post(f"/api/v1/tasks/{task_id}/claim", headers=Api.auth(user)).status_code

    threads = [threading.Thread(target=claim, args=(i, u)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.extensions["orderflow.db"].session() as s:
        winner = s.get(HumanTask, task_id).assignee
    # the winner may claim again (idempotent), the other user never gets 200
    assert winner in {"warehouse1", "warehouse2"}
    loser_statuses = [st for st, u in zip(statuses, users) if u != winner]
    assert loser_statuses and set(loser_statuses) == {409}, statuses
    assert 200 in statuses, statuses


def test_a_claim_that_finds_the_task_taken_at_write_time_is_refused(app, api: Api, monkeypatch):
    """The compare-and-set itself: the task was read unclaimed, someone claims it before the write."""
    from orderflow.workflow import tasks
    task_id = api.start_order()["open_tasks"][0]["id"]
    real_open_for = tasks._open_for

    def claimed_meanwhile(actor, task):
        real_open_for(actor, task)
        with app.extensions["orderflow.db"].session() as other:
            other.get(HumanTask, task_id).assignee = "warehouse2"
            other.commit()
    monkeypatch.setattr(tasks, "_open_for", claimed_meanwhile)
    resp = api.post("warehouse1", f"/api/v1/tasks/{task_id}/claim")
    assert resp.status_code == 409 and resp.json["error"]["code"] == "lost_race", resp.json
    with app.extensions["orderflow.db"].session() as s:
        assert s.get(HumanTask, task_id).assignee == "warehouse2"
