"""Hostile inputs that reach outside or bend the service (issue 13, items 2 and 6): one test per class."""
from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from orderflow.core.errors import InvalidInput
from orderflow.workflow.forms import validate
from tests.support.event_samples import _defs, _flow, _user
from tests.support.helpers import Api


def _form_process(pid: str = "reach") -> str:
    return _defs(f'<bpmn:process id="{pid}" isExecutable="true">'
                 '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
                 + _user("t", "f1", "f2", form="reach.json")
                 + '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
                 + _flow("f1", "s", "t") + _flow("f2", "t", "e") + '</bpmn:process>')


def upload(api: Api, files: dict[str, str]):
    data = {"files": [(io.BytesIO(text.encode()), name) for name, text in files.items()]}
    return api.client.post("/api/v1/processes", data=data, headers=api.auth("owner1"),
                           content_type="multipart/form-data")


@pytest.fixture
def counting_server():
    """A loopback HTTP server that counts the requests it gets."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = b'{"type": "integer"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/x.json", hits
    server.shutdown()
    server.server_close()


def test_a_form_ref_never_reaches_the_network_or_files(api: Api, counting_server):
    url, hits = counting_server
    for ref in (url, "file:///etc/passwd"):
        form = {"type": "object", "properties": {"amount": {"$ref": ref}}}
        resp = upload(api, {"reach.bpmn": _form_process(), "reach.json": json.dumps(form)})
        assert resp.status_code == 422, resp.json
        reasons = [p["message"] for p in resp.json["error"]["problems"]]
        assert any("form 'reach'" in r and ref in r for r in reasons), reasons
        with pytest.raises(InvalidInput) as refused:  # a form that got in anyway: refused, never fetched
            validate(form, {"amount": 5})
        assert ref in refused.value.message
    local = {"type": "object", "$defs": {"n": {"type": "integer"}}, "properties": {"amount": {"$ref": "#/$defs/n"}}}
    validate(local, {"amount": 5})
    with pytest.raises(InvalidInput) as wrong:
        validate(local, {"amount": "five"})
    assert "amount" in wrong.value.fields
    assert hits == []


def _one_task(pid: str) -> str:
    return _defs(f'<bpmn:process id="{pid}" isExecutable="true">'
                 '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
                 '<bpmn:endEvent id="e"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>'
                 + _flow("f1", "s", "e") + '</bpmn:process>')


@pytest.mark.parametrize("pid", ['a&quot;b', "a&#10;b", "a/b", "a b", "1abc"])
def test_process_ids_are_checked_at_deploy(api: Api, pid: str):
    resp = upload(api, {"p.bpmn": _one_task(pid)})
    assert resp.status_code == 422, resp.json
    problems = resp.json["error"]["problems"]
    assert any("process id" in p["message"] and p["element_id"] for p in problems), problems
    assert upload(api, {"p.bpmn": _one_task("plain.id-1")}).status_code == 201


def test_downloads_are_attachments_and_the_banner_names_no_version(api: Api):
    resp = api.get("owner1", "/api/v1/processes/order_flow/bpmn")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"] == 'attachment; filename="order_flow-v1.bpmn"'
    assert resp.mimetype == "application/xml" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "form-action 'self'" in resp.headers["Content-Security-Policy"]
    for answer in (resp, api.client.get("/login"), api.client.get("/healthz")):
        assert answer.headers["Server"] == "orderflow"


@pytest.mark.parametrize("payload", [b'{"o": Infinity}', b'{"o": NaN}', b'{"o": 1e400}', b'{"o": -Infinity}',
                                     b'{"o": ' + b"9" * 5000 + b"}", b"[" * 100 + b"]" * 100, b'{"o": "x"}',
                                     b'["o"]', b"\xff\xfe", b"not json"])
def test_forged_cursors_are_refused_not_a_500(api: Api, payload: bytes):
    import base64
    for cursor in (base64.urlsafe_b64encode(payload).decode(), "%%%not-base64", "a" * 5000, "é"):
        resp = api.get("manager1", f"/api/v1/instances?cursor={cursor}")
        assert resp.status_code in (400, 422), (cursor[:40], resp.status_code)


def test_like_wildcards_in_searches_match_themselves(api: Api):
    from tests.support.helpers import login
    api.start_order()
    assert api.get("admin", "/api/v1/admin/users?q=sales").json["items"]
    assert api.get("manager1", "/api/v1/board?q=Shenzhen Bright").json["items"]
    # as typed, '%' and '_' match themselves: as wildcards, each of these would match
    for users, orders in (("%25", "%25"), ("s_les", "Shenzhen_Bright")):
        assert api.get("admin", f"/api/v1/admin/users?q={users}").json["items"] == []
        assert api.get("manager1", f"/api/v1/board?q={orders}").json["items"] == []
    login(api.client, "manager1")
    assert "Shenzhen Bright" in api.client.get("/orders?q=Bright").data.decode()
    for wildcard in ("%25", "Shenzhen_Bright", "Bright%25"):
        assert "Shenzhen Bright" not in api.client.get(f"/orders?q={wildcard}").data.decode()


def test_werkzeugs_own_server_names_no_version(app):
    import urllib.request

    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/healthz", timeout=10) as resp:
            assert resp.headers.get_all("Server") == ["orderflow"]
    finally:
        server.shutdown()
        server.server_close()
