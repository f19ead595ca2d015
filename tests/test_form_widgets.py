"""The widgets the form builder offers beyond the type's own: radio buttons for a choice and money
for an amount. The editor's checks accept them only where they fit; the task page draws them, and
the server checks what comes back against the schema as for any field."""
from __future__ import annotations

import io
import json
from pathlib import Path

from orderflow.workflow import form_editor
from tests.support.helpers import Api, login

BENCH = Path(__file__).resolve().parent.parent / "bench"
STEP = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Step", "title_zh": "步骤", "type": "object",
    "properties": {
        "delivery": {"type": "string", "title": "Delivery", "title_zh": "交货方式", "enum": ["sea", "air"],
                     "enumNames": ["By sea", "By air"], "enumNames_zh": ["海运", "空运"]},
        "freight": {"type": "number", "title": "Freight", "title_zh": "运费", "minimum": 0},
        "note": {"type": "string", "title": "Note"},
    },
    "required": ["delivery", "note"],
    "ui": {"widgets": {"delivery": "radio", "freight": "money"}},
}


def _problems(schema: dict) -> list[str]:
    return [str(p.message) for p in form_editor.preview(json.dumps(schema)).errors]


def test_the_editor_takes_radio_for_choices_and_money_for_numbers_only():
    assert _problems(STEP) == []
    wrong = json.loads(json.dumps(STEP))
    wrong["ui"]["widgets"] = {"note": "radio", "delivery": "money", "freight": "slider"}
    found = " | ".join(_problems(wrong))
    assert "Radio buttons need a list of choices (enum) on 'note'" in found
    assert "give 'delivery' the type number" in found
    assert "The widget 'slider' is unknown" in found


def test_the_task_page_draws_them_and_the_server_checks_the_answers(api: Api, client):
    files = {"small.bpmn": (BENCH / "small.bpmn").read_bytes(),
             "bench_small_start.json": (BENCH / "bench_small_start.json").read_bytes(),
             "bench_small_step.json": json.dumps(STEP).encode()}
    deployed = api.client.post("/api/v1/processes", headers=api.auth("owner1"), content_type="multipart/form-data",
                               data={"files": [(io.BytesIO(body), name) for name, body in files.items()]})
    assert deployed.status_code == 201, deployed.json
    started = api.post("sales1", "/api/v1/processes/bench_small/instances", {"data": {"reference": "R-1"}})
    assert started.status_code == 201, started.json
    task = api.task(started.json["id"], "step_1")
    login(client, "sales1")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert page.count('type="radio" class="form-check-input" name="delivery"') == 2 and "By air" in page
    assert 'data-widget="money"' in page and 'step="0.01"' in page
    refused = api.post("sales1", f"/api/v1/tasks/{task['id']}/complete",
                       {"data": {"delivery": "rail", "freight": 10, "note": "n"}})
    assert refused.status_code == 422 and "delivery" in refused.json["error"]["fields"], refused.json
    done = api.post("sales1", f"/api/v1/tasks/{task['id']}/complete",
                    {"data": {"delivery": "air", "freight": 12.5, "note": "n"}})
    assert done.status_code == 200, done.json
    order = api.get("manager1", f"/api/v1/instances/{started.json['id']}").json
    assert order["data"]["delivery"] == "air" and order["data"]["freight"] == 12.5
