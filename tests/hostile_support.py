"""What tests/test_hostile.py's attacks share: the client with orders set up once, and the checks
that an attack was refused."""
from __future__ import annotations

import io
import json

from sqlalchemy import func, select

from orderflow.models import Base
from tests import hostile_samples as hs
from tests.helpers import Api

SCRIPT = "<script>alert('xss')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;"
FORMULA = '=HYPERLINK("http://evil.example/","x")'
NOT_COUNTED = {"login_failures"}  # wrong passwords are counted by design (orderflow/throttle.py)


class Ctx:
    """What every attack may use: the client, the demo users, and the orders set up once."""

    def __init__(self, app):
        self.app, self.api = app, Api(app.test_client())
        self.client = self.api.client
        self.xss_order = self.api.start_order(customer=SCRIPT + hs.TEMPLATE_TEXT, notes="<img src=x onerror=alert(1)>",
                                              lines=[{"product": "TV", "spec": SCRIPT, "quantity": 1,
                                                      "unit_price": 2.5}])
        self.formula_order = self.api.start_order(customer=FORMULA)
        self.check_stock = self.api.task(self.xss_order["id"], "check_stock")
        assert self.upload("owner1", hs.HOSTILE_FILES).status_code == 201

    def deploy(self, xml: str, user: str = "owner1"):
        return self.client.post("/api/v1/processes", data=xml.encode(),
                                headers={**self.api.auth(user), "Content-Type": "application/xml"})

    def upload(self, user: str, files: dict[str, str | bytes]):
        return self.client.post("/api/v1/processes", headers=self.api.auth(user), content_type="multipart/form-data",
                                data={"files": [(io.BytesIO(c.encode() if isinstance(c, str) else c), n)
                                                for n, c in files.items()]})

    def send(self, method: str, path: str, user: str = "admin", **kw):
        return self.client.open(path, method=method, headers={**self.api.auth(user), **kw.pop("headers", {})}, **kw)

    def json_post(self, path: str, body: str | bytes, user: str = "sales1", content_type: str = "application/json"):
        return self.send("POST", path, user, data=body, headers={"Content-Type": content_type})

    def start_hostile(self, filename: str, note: str = "n"):
        """Start the hostile process with a file: storing it is allowed, running or writing it is not."""
        return self.client.post("/api/v1/processes/hostile/instances", headers=self.api.auth("sales1"),
                                content_type="multipart/form-data",
                                data={"data": json.dumps({"note": note}), "file": (io.BytesIO(b"%PDF-1"), filename)})

    def attachment(self, started) -> int:
        ref = self.api.get("admin", f"/api/v1/instances/{started.json['id']}").json["data"]["file"]
        return int(ref.split(":")[1])


def refused(resp, status: int = 422, code: str | None = None):
    assert resp.status_code == status, (resp.status_code, resp.data[:500])
    if resp.mimetype == "application/json":
        error = resp.json["error"]
        assert error["code"] and error["message"]
        assert code is None or error["code"] == code, error
    assert b"root:x:0:0" not in resp.data  # no file content leaked
    return resp


def deploy_refused(ctx: Ctx, xml: str, words: str, element: str | None = None):
    error = refused(ctx.deploy(xml), 422, "invalid_process").json["error"]
    matching = [p for p in error["problems"] if words in p["message"]]
    assert matching, error["problems"]
    assert element is None or matching[0]["element_id"] == element, matching


def counts(app) -> dict[str, int]:
    """Rows per table (but the login throttle's)."""
    with app.extensions["orderflow.db"].session() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
                if t.name not in NOT_COUNTED}


def may_change(table: str, allowed: frozenset[str]) -> bool:
    return any(table == a or a == "*" or (a.endswith("*") and table.startswith(a[:-1])) for a in allowed)
