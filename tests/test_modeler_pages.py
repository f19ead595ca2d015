"""The modeler's pages: who may open them, and a new process from the form."""
from __future__ import annotations

import json
import re

from tests.support.helpers import Api, login


def _strings(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="modeler-strings">(.*?)</script>', page, re.S)
    return json.loads(block.group(1))


def test_the_modeler_page_for_a_process_owner(app):
    client = app.test_client()
    login(client, "owner1")
    response = client.get("/processes/order_flow/edit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="modeler-canvas"' in page and "vendor/app/modeler.js" in page
    assert 'data-draft-url="/api/v1/processes/order_flow/draft"' in page
    assert re.search(r'data-csrf="[^"]+"', page)
    assert '<option value="1" selected>' in page                # the version it starts from
    assert _strings(page)["deployed"] == "Deployed as version {version}."
    assert "<script>" not in page                                # CSP: no inline code


def test_the_modeler_is_for_process_owners_and_known_processes(app):
    client = app.test_client()
    assert client.get("/processes/order_flow/edit").status_code == 302   # to the login page
    login(client, "sales1")
    assert client.get("/processes/order_flow/edit").status_code == 403
    assert client.get("/processes/new").status_code == 403
    owner = app.test_client()
    login(owner, "owner1")
    assert owner.get("/processes/nope/edit").status_code == 404


def test_a_new_process_from_the_form(app):
    client = app.test_client()
    token = login(client, "owner1")
    form = client.get("/processes/new").get_data(as_text=True)
    assert 'name="csrf_token"' in form and "/processes/order_flow/edit" in form
    assert client.post("/processes/new", data={"key": "quick_check", "name": "Quick"}).status_code == 400  # no token
    created = client.post("/processes/new", data={"key": "quick_check", "name": "Quick check", "csrf_token": token})
    assert created.status_code == 302 and created.headers["Location"].endswith("/processes/quick_check/edit")
    assert client.get("/processes/quick_check/edit").status_code == 200
    draft = Api(client).get("owner1", "/api/v1/processes/quick_check/draft").json
    assert draft["saved"] is True and 'name="Quick check"' in draft["bpmn"]

    again = client.post("/processes/new", data={"key": "quick_check", "csrf_token": token})
    assert again.status_code == 409 and "already exists" in again.get_data(as_text=True)
    bad = client.post("/processes/new", data={"key": "bad key!", "csrf_token": token})
    assert bad.status_code == 422 and 'value="bad key!"' in bad.get_data(as_text=True)
    assert "quick_check" in client.get("/processes/new").get_data(as_text=True)   # listed until deployed
