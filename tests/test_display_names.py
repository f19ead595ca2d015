"""People are shown by their display names on every page and in the API, and a request reads the
names of the people it shows: never the whole user table (a company has thousands of users)."""
from __future__ import annotations

import re

from sqlalchemy import event

from orderflow.access import accounts
from orderflow.core.models import User
from tests.support.helpers import Api, login

_WHOLE_TABLE = re.compile(r"FROM users\s*$", re.I)


def _claimed_order(api: Api) -> tuple[int, int]:
    started = api.start_order()
    task = started["open_tasks"][0]
    assert api.post("warehouse1", f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    return started["id"], task["id"]


def test_the_claimant_is_named_in_the_api_and_on_the_pages(app, api: Api, client):
    order, task = _claimed_order(api)
    assert api.get("warehouse1", f"/api/v1/tasks/{task}").json["assignee_name"] == "Warehouse 1"
    inbox = api.get("warehouse1", "/api/v1/tasks?scope=mine").json["items"]
    assert [t["assignee_name"] for t in inbox if t["id"] == task] == ["Warehouse 1"]
    detail = api.get("manager1", f"/api/v1/instances/{order}").json
    assert detail["open_tasks"][0]["assignee_name"] == "Warehouse 1"
    board = api.get("manager1", "/api/v1/board").json["items"]
    assert [r["assignee_name"] for r in board if r["task_id"] == task] == ["Warehouse 1"]
    login(client, "manager1")
    page = client.get(f"/orders/{order}").data.decode()
    assert "Warehouse 1" in page and "Sales 1" in page          # the claimant; the starter and the audit's actor
    assert "Warehouse 1" in client.get("/board").data.decode()


def test_no_request_reads_every_user(app, api: Api, client):
    order, task = _claimed_order(api)
    with app.extensions["orderflow.db"].session() as session:   # many more users than any page shows
        for n in range(30):
            accounts.create_user(session, f"extra{n}", "long enough password", ["sales"], f"Extra {n}",
                                 hash_method="pbkdf2:sha256:1")
        session.commit()
    engine = app.extensions["orderflow.db"].engine
    whole: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if _WHOLE_TABLE.search(" ".join(statement.split())):
            whole.append(statement)

    login(client, "warehouse1")
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for path in ("/inbox", f"/tasks/{task}", f"/orders/{order}"):
            assert client.get(path).status_code == 200, path
        for user, path in (("warehouse1", f"/api/v1/tasks/{task}"), ("warehouse1", "/api/v1/tasks?scope=mine"),
                           ("manager1", f"/api/v1/instances/{order}"), ("manager1", "/api/v1/board")):
            assert api.get(user, path).status_code == 200, path
        login(client, "manager1")
        assert client.get("/board").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not whole, whole


def test_display_names_reads_only_the_names_asked_for(app):
    with app.extensions["orderflow.db"].session() as session:
        assert accounts.display_names(session, [None, "", None]) == {}
        names = accounts.display_names(session, ["warehouse1", "nobody", "warehouse1", None])
        assert names == {"warehouse1": session.get(User, accounts.by_username(session, "warehouse1").id).display_name}
