"""Saved filters can be renamed, and deleted, by who saved them or an administrator (inbox and
board, pages and API); others who see a shared filter get a 403 saying who may; a bad name is a
422 naming the field, in the reader's language."""
from __future__ import annotations

import re

import pytest

from orderflow.access import accounts
from tests.support.helpers import Api, login

INBOX, BOARD = "/api/v1/tasks/filters", "/api/v1/board/filters"


def _patch(api: Api, user: str, path: str, body: object, **headers):
    return api.client.patch(path, json=body, headers={**api.auth(user), **headers})


def _delete(api: Api, user: str, path: str):
    return api.client.delete(path, headers=api.auth(user))


@pytest.fixture
def manager9(app) -> str:
    """A second manager: sees the board's shared filters, did not save them."""
    with app.extensions["orderflow.db"].session() as session:
        accounts.create_user(session, "manager9", "demo", ["manager"], hash_method="pbkdf2:sha256:1000")
        session.commit()
    return "manager9"


def test_an_inbox_filter_is_renamed_by_its_owner_or_an_administrator(api: Api):
    shared = api.post("warehouse1", INBOX, {"name": "Warehouse: late", "query": "overdue=1", "group": "warehouse"})
    assert api.post("warehouse1", INBOX, {"name": "Mine", "query": "sort=-value"}).status_code == 201
    url = f"{INBOX}/{shared.json['id']}"
    resp = _patch(api, "warehouse1", url, {"name": "  Late in the warehouse "})
    assert resp.status_code == 200 and resp.json["name"] == "Late in the warehouse"
    assert resp.json["query"] == "overdue=1" and resp.json["group"] == "warehouse"
    refused = _patch(api, "warehouse2", url, {"name": "Mine now"})          # a member who did not save it
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert refused.json["error"]["message"] \
        == "Only warehouse1, who saved the filter “Late in the warehouse”, or an administrator may rename it."
    assert _patch(api, "finance1", url, {"name": "x"}).status_code == 404   # cannot see it
    assert _patch(api, "admin", url, {"name": "Warehouse backlog"}).status_code == 200
    names = [f["name"] for f in api.get("warehouse2", INBOX).json["items"]]
    assert names == ["Warehouse backlog"]
    assert _delete(api, "warehouse2", url).status_code == 403
    assert _delete(api, "admin", url).status_code == 204
    assert api.get("warehouse2", INBOX).json["items"] == []


@pytest.mark.parametrize("name, problem", [("", "Enter a name."), ("   ", "Enter a name."),
                                           ("x" * 201, "Enter at most 200 characters."),
                                           ("Mine", "This name is taken."), (7, "Enter a name.")])
def test_a_bad_new_name_is_a_422_naming_the_field(api: Api, name, problem):
    assert api.post("warehouse1", INBOX, {"name": "Mine", "query": ""}).status_code == 201
    other = api.post("warehouse1", INBOX, {"name": "Other", "query": "overdue=1"}).json
    resp = _patch(api, "warehouse1", f"{INBOX}/{other['id']}", {"name": name})
    assert resp.status_code == 422 and resp.json["error"]["fields"] == {"name": problem}
    assert [f["name"] for f in api.get("warehouse1", INBOX).json["items"]] == ["Mine", "Other"]


def test_the_messages_are_in_the_reader_s_language(api: Api):
    assert api.post("warehouse1", INBOX, {"name": "Mine", "query": ""}).status_code == 201
    other = api.post("warehouse1", INBOX, {"name": "Other", "query": "", "group": "warehouse"}).json
    url = f"{INBOX}/{other['id']}"
    taken = _patch(api, "warehouse1", url, {"name": "Mine"}, **{"Accept-Language": "zh"})
    assert taken.status_code == 422 and taken.json["error"]["fields"]["name"] == "此名称已被使用。"
    assert "Mine" in taken.json["error"]["message"] and "already" not in taken.json["error"]["message"]
    refused = _patch(api, "warehouse2", url, {"name": "x"}, **{"Accept-Language": "zh"})
    assert refused.status_code == 403 and "warehouse1" in refused.json["error"]["message"]
    assert "Only" not in refused.json["error"]["message"]


def test_renaming_from_the_inbox_page(client, api: Api):
    mine = api.post("warehouse1", INBOX, {"name": "Mine", "query": "overdue=1", "group": "warehouse"}).json
    token = login(client, "warehouse1")
    html = client.get("/inbox").get_data(as_text=True)
    assert f'action="/inbox/filters/{mine["id"]}/rename"' in html and 'value="Mine"' in html
    resp = client.post(f"/inbox/filters/{mine['id']}/rename",
                       data={"csrf_token": token, "name": "Overdue", "next": "/inbox?scope=mine"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/inbox?scope=mine")
    html = client.get("/inbox").get_data(as_text=True)
    assert "The filter is now called “Overdue”." in html and ">Overdue</a>" in html
    resp = client.post(f"/inbox/filters/{mine['id']}/rename", data={"csrf_token": token, "name": ""})
    assert resp.status_code == 302                                      # refused with the reason, nothing changed
    assert "Give the filter a name of 1 to 200 characters." in client.get("/inbox").get_data(as_text=True)
    assert client.post(f"/inbox/filters/{mine['id']}/rename", data={"name": "no token"}).status_code == 400
    other = client.application.test_client()
    other_token = login(other, "warehouse2")
    html = other.get("/inbox").get_data(as_text=True)
    assert ">Overdue</a>" in html and f'/inbox/filters/{mine["id"]}/rename' not in html   # not theirs to rename
    assert other.post(f"/inbox/filters/{mine['id']}/rename",
                      data={"csrf_token": other_token, "name": "Taken over"}).status_code == 403


def test_a_board_filter_is_renamed_by_its_owner_or_an_administrator(api: Api, manager9: str):
    saved = api.post("manager1", BOARD, {"name": "Big orders", "query": "amount_min=150000&page=2", "shared": True})
    assert saved.status_code == 201 and saved.json["query"] == "amount_min=150000" and saved.json["shared"] is True
    assert api.post("manager1", BOARD, {"name": "Late", "query": "overdue=1"}).status_code == 201
    url = f"{BOARD}/{saved.json['id']}"
    assert [f["name"] for f in api.get(manager9, BOARD).json["items"]] == ["Big orders"]
    refused = _patch(api, manager9, url, {"name": "Mine"})
    assert refused.status_code == 403
    assert "Only manager1, who saved the filter “Big orders”, or an administrator" in refused.json["error"]["message"]
    assert _delete(api, manager9, url).status_code == 403
    taken = _patch(api, "manager1", url, {"name": "Late"})
    assert taken.status_code == 422 and taken.json["error"]["fields"] == {"name": "This name is taken."}
    assert _patch(api, "manager1", url, {"name": "Orders over 150,000"}).json["name"] == "Orders over 150,000"
    assert _patch(api, "admin", url, {"name": "Large orders"}).status_code == 200
    assert api.get("sales1", BOARD).status_code == 403                  # the board is the overseers'
    assert api.post("manager1", BOARD, {"name": "bad", "query": "amount_min=abc"}).status_code == 422
    assert _delete(api, "admin", url).status_code == 204
    assert _delete(api, "manager1", url).status_code == 404


def test_renaming_from_the_board_page(app, client, api: Api, manager9: str):
    saved = api.post("manager1", BOARD, {"name": "Big orders", "query": "amount_min=1", "shared": True}).json
    token = login(client, "manager1")
    html = client.get("/board").get_data(as_text=True)
    assert f'action="/board/filters/{saved["id"]}/rename"' in html
    resp = client.post(f"/board/filters/{saved['id']}/rename",
                       data={"csrf_token": token, "name": "Any amount", "next": "/board?process=all"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/board?process=all")
    assert re.search(r">Any amount</a>", client.get("/board").get_data(as_text=True))
    other = app.test_client()
    login(other, manager9)
    html = other.get("/board").get_data(as_text=True)
    assert ">Any amount</a>" in html and f'/board/filters/{saved["id"]}/rename' not in html
