"""The load bench's client: one keep-alive HTTP connection per client thread, every call timed by
kind; a whole order driven over the API (start, then per task get its form and complete it); the
small diagram deployed through the API. Used by bench/load.py."""
from __future__ import annotations

import base64
import http.client
import json
import threading
import time
import uuid
from typing import Any

from bench.servers import PATIENCE, ROOT
from bench.throughput import form_data
from tests.support.helpers import NEW_ORDER

SMALL_FILES = ("small.bpmn", "bench_small_start.json", "bench_small_step.json")
SMALL_START = {"reference": "load bench"}
KINDS = ("start", "get", "complete")
PROCESS_KEYS = {"small": "bench_small", "order_flow": "order_flow"}


class CallFailed(Exception):
    pass


def _auth(user: str, password: str = "demo") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Client:
    """One keep-alive connection; every call is timed by kind."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        self.reconnects = 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(self, method: str, path: str, user: str, body: Any = None, kind: str | None = None,
             expect: int = 200, raw: bytes | None = None, content_type: str = "application/json") -> Any:
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {"Authorization": _auth(user), "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=PATIENCE)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed an idle keep-alive connection before reading the request
                self.close()
                if attempt == 2:
                    raise
                self.reconnects += 1
                continue
            elapsed = time.perf_counter() - started
            if response.status != expect:
                raise CallFailed(f"{method} {path} as {user}: {response.status} {data[:500]!r}")
            if kind is not None:
                self.times[kind].append(elapsed)
            return json.loads(data) if data else None
        raise AssertionError("unreachable")


_FILLED: dict[str, dict] = {}
_FILLED_LOCK = threading.Lock()


def filled(form: dict, values: dict) -> dict:
    """form_data, remembered for identical (form, values): the small diagram's forms repeat, and the
    client's own work should take as little of the machine's two cores from the server as it can."""
    key = json.dumps([form, values], sort_keys=True, default=str)
    with _FILLED_LOCK:
        found = _FILLED.get(key)
    if found is None:
        found = form_data(form, values)
        with _FILLED_LOCK:
            if len(_FILLED) < 10_000:
                _FILLED[key] = found
    return found


def drive_order(client: Client, diagram: str) -> int:
    """One whole order: start it, then per open task get its form and complete it. Its instance id."""
    key = PROCESS_KEYS[diagram]
    start = SMALL_START if diagram == "small" else NEW_ORDER
    started = client.call("POST", f"/api/v1/processes/{key}/instances", "sales1", {"data": start},
                          kind="start", expect=201)
    open_tasks = started["open_tasks"]
    while open_tasks:
        task = open_tasks[0]
        user = f"{task['group']}1"
        form = client.call("GET", f"/api/v1/tasks/{task['id']}", user, kind="get")
        body = {"data": filled(form["form"], form["values"]), "password": "demo"}
        done = client.call("POST", f"/api/v1/tasks/{task['id']}/complete", user, body, kind="complete")
        open_tasks = done["open_tasks"]
    return int(started["id"])


def deploy_small(port: int) -> None:
    """bench/small.bpmn and its two forms, deployed through the API as the process owner."""
    boundary = uuid.uuid4().hex
    parts = []
    for name in SMALL_FILES:
        kind = "application/xml" if name.endswith(".bpmn") else "application/json"
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                     f"Content-Type: {kind}\r\n\r\n".encode() + (ROOT / "bench" / name).read_bytes() + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    client = Client(port)
    try:
        client.call("POST", "/api/v1/processes", "owner1", raw=body, expect=201,
                    content_type=f"multipart/form-data; boundary={boundary}")
    finally:
        client.close()
