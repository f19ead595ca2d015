"""Just enough of Flask's test client over real HTTP, so ``tests.support.helpers.Api`` can drive a
live server (the browser tests' ``live_server``)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from types import SimpleNamespace

from tests.support.browser import PATIENCE_MS


class LiveClient:
    """Just enough of Flask's test client for ``tests.helpers.Api``, over real HTTP to the live server."""

    def __init__(self, base: str):
        self.base = base

    def get(self, path: str, headers=None, **kw):
        return self._send("GET", path, headers, None)

    def post(self, path: str, headers=None, json=None, **kw):
        return self._send("POST", path, headers, json)

    def _send(self, method: str, path: str, headers, body):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            **(headers or {}), "Accept": "application/json", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=PATIENCE_MS / 1000) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return SimpleNamespace(status_code=status, json=json.loads(raw) if raw else None)
