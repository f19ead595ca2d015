"""Hostile inputs that reach outside or bend the service (issue 13, items 2 and 6): one test per class."""
from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from orderflow.errors import InvalidInput
from orderflow.forms import validate
from tests.event_samples import _defs, _flow, _user
from tests.helpers import Api


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
        def do_GET(self):  # noqa: N802
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
