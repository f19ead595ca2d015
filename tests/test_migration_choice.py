"""Moving running orders by choice: narrowed to the orders waiting at one step, one by one with a
checkbox each, and a dry run that says per order what changes on its step (time limit and due
time, form fields, group)."""
from __future__ import annotations

import copy
import re

from tests.support.helpers import Api, login


def _new_version(api: Api) -> None:
    """Version 2 of the order flow: check stock gets five hours and a required field."""
    draft = api.get("owner1", "/api/v1/processes/order_flow/draft").json
    bpmn = draft["bpmn"].replace('<spiffworkflow:property name="sla" value="PT3H"/>',
                                 '<spiffworkflow:property name="sla" value="PT5H"/>', 1)
    form = copy.deepcopy(api.get("owner1", "/api/v1/forms/check_stock?process=order_flow").json["schema"])
    form["properties"]["checked_by"] = {"type": "string", "title": "Checked by"}
    form["required"] = [*form.get("required", []), "checked_by"]
    saved = api.client.put("/api/v1/processes/order_flow/draft", headers=api.auth("owner1"),
                           json={"bpmn": bpmn, "forms": {"check_stock": form}})
    assert saved.status_code == 200, saved.json
    assert api.post("owner1", "/api/v1/processes/order_flow/draft/deploy", {"note": "5 h"}).status_code == 201


def _version(api: Api, order: int) -> int:
    return api.get("manager1", f"/api/v1/instances/{order}").json["version"]


def test_a_dry_run_says_what_changes_on_each_orders_step(api: Api):
    order = api.start_order()["id"]
    _new_version(api)
    report = api.post("owner1", "/api/v1/processes/order_flow/migrations", {"from": 1, "to": 2}).json
    [result] = report["results"]
    assert result["instance_id"] == order and result["can_move"] is True
    notes = " ".join(result["notes"])
    assert "'Check stock' is due" in notes and "its time limit changes" in notes
    assert "gets new required fields: Checked by" in notes
    assert _version(api, order) == 1


def test_the_move_is_narrowed_by_step_and_by_the_boxes_checked(api: Api, client):
    first, second, third = (api.start_order()["id"] for _ in range(3))
    api.drive_to(third, "review_order")                       # third waits further on
    _new_version(api)
    by_step = api.post("owner1", "/api/v1/processes/order_flow/migrations",
                       {"from": 1, "to": 2, "step": "check_stock"}).json
    assert sorted(r["instance_id"] for r in by_step["results"]) == [first, second]

    token = login(client, "owner1")
    page = client.get("/processes/order_flow/versions").get_data(as_text=True)
    assert re.search(r'<option value="check_stock"[^>]*>Check stock \(2\)', page), "the steps orders wait at"
    dry = client.post("/processes/order_flow/migrate", data={"csrf_token": token, "from": "1", "to": "2",
                                                             "step": "check_stock", "action": "dry_run"})
    html = dry.get_data(as_text=True)
    assert html.count('class="form-check-input move-choice"') == 2 and f'value="{third}"' not in html
    assert "its time limit changes" in html
    none = client.post("/processes/order_flow/migrate", data={"csrf_token": token, "from": "1", "to": "2",
                                                              "action": "migrate", "chosen": "1"})
    assert none.status_code == 422 and "Check the orders to move" in none.get_data(as_text=True)
    assert {_version(api, o) for o in (first, second, third)} == {1}
    moved = client.post("/processes/order_flow/migrate", data={"csrf_token": token, "from": "1", "to": "2",
                                                               "action": "migrate", "chosen": "1", "step": "check_stock",
                                                               "instance_ids": [str(first)]})
    assert moved.status_code == 200
    assert (_version(api, first), _version(api, second), _version(api, third)) == (2, 1, 1)
