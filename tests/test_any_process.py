"""Any process, end to end in the UI: a Start page lists every process one may start, and process
owners upload a bundle (.bpmn, .dmn, forms) with a release note from the processes page."""
from __future__ import annotations

import io
from pathlib import Path

from tests.support.helpers import Api, login

BENCH = Path(__file__).resolve().parent.parent / "bench"
BUNDLE = ("small.bpmn", "bench_small_start.json", "bench_small_step.json")


def test_the_start_page_lists_the_processes_one_may_start(client):
    login(client, "service1")                          # customer service starts after-sales cases
    page = client.get("/start").get_data(as_text=True)
    assert 'data-process="after_sales"' in page and 'data-process="order_flow"' not in page
    assert 'id="nav-start"' in page
    login(client, "sales1")
    page = client.get("/start").get_data(as_text=True)
    assert 'data-process="order_flow"' in page and 'data-process="after_sales"' not in page
    assert 'id="nav-start"' not in page                # the order flow has its own "New order"
    login(client, "warehouse1")
    assert 'id="start-empty"' in client.get("/start").get_data(as_text=True)


def _upload(client, token: str, files: dict[str, bytes], note: str):
    return client.post("/processes/upload", data={
        "csrf_token": token, "note": note, "files": [(io.BytesIO(text), name) for name, text in files.items()]},
        content_type="multipart/form-data", follow_redirects=True)


def test_a_process_owner_uploads_a_bundle_with_a_note(client, api: Api):
    token = login(client, "owner1")
    page = _upload(client, token, {name: (BENCH / name).read_bytes() for name in BUNDLE}, "Six steps.")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "bench_small v1" in html
    assert api.get("owner1", "/api/v1/processes/bench_small/versions").json["items"][0]["note"] == "Six steps."
    broken = (BENCH / "small.bpmn").read_text().replace('targetRef="step_1"', 'targetRef="nowhere"', 1)
    refused = _upload(client, token, {"broken.bpmn": broken.replace("bench_small", "broken_small").encode()}, "")
    assert "not deployed" in refused.get_data(as_text=True)
    assert api.get("owner1", "/api/v1/processes/broken_small").status_code == 404
    sales = login(client, "sales1")
    assert _upload(client, sales, {"x.bpmn": b"<x/>"}, "").status_code == 403           # not theirs
