"""Files on forms: stored with the order, downloadable by its participants only."""
from __future__ import annotations

import io
import json
import re

from tests.support.helpers import Api, fill


def test_api_upload_with_the_form_and_download(api: Api):
    started = api.start_order()
    task = api.drive_to(started["id"], "draft_contract")
    detail = api.get("sales1", f"/api/v1/tasks/{task['id']}").json
    data = fill(detail["form"], detail["values"])
    data.pop("contract_file", None)
    resp = api.client.post(f"/api/v1/tasks/{task['id']}/complete", headers=api.auth("sales1"),
                           data={"data": json.dumps(data),
                                 "contract_file": (io.BytesIO(b"%PDF-1.4 contract"), "contract.pdf")},
                           content_type="multipart/form-data")
    assert resp.status_code == 200, resp.json
    history = api.get("manager1", f"/api/v1/instances/{started['id']}").json["history"]
    ref = next(h for h in history if h["element_id"] == "draft_contract")["data"]["contract_file"]
    attachment_id = int(re.match(r"attachment:(\d+):contract.pdf$", ref).group(1))
    assert api.get("sales1", f"/attachments/{attachment_id}").data == b"%PDF-1.4 contract"
    assert api.get("finance1", f"/attachments/{attachment_id}").status_code == 403  # took no part yet


def test_a_form_cannot_claim_another_orders_file(api: Api):
    first, second = api.start_order(), api.start_order()
    task1 = api.drive_to(first["id"], "draft_contract")
    detail = api.get("sales1", f"/api/v1/tasks/{task1['id']}").json
    data = fill(detail["form"], detail["values"])
    resp = api.client.post(f"/api/v1/tasks/{task1['id']}/complete", headers=api.auth("sales1"),
                           data={"data": json.dumps(data), "contract_file": (io.BytesIO(b"secret"), "a.pdf")},
                           content_type="multipart/form-data")
    ref = next(h for h in api.get("manager1", f"/api/v1/instances/{first['id']}").json["history"]
           if h["element_id"] == "draft_contract")["data"]["contract_file"]
    task2 = api.drive_to(second["id"], "draft_contract")
    detail = api.get("sales1", f"/api/v1/tasks/{task2['id']}").json
    resp = api.post("sales1", f"/api/v1/tasks/{task2['id']}/complete",
                    {"data": fill(detail["form"], detail["values"], contract_file=ref)})
    assert resp.status_code == 422
    assert "contract_file" in resp.json["error"]["fields"]
