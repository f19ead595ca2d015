"""What every class of attack shares: the attack tables, the service with orders set up once, and the
checks that an attack was refused and left nothing behind."""
from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from orderflow import create_app
from orderflow.core.models import Base
from tests.support import dbs
from tests.support.helpers import Api, seed
from tests.support.hostile import samples as hs

JSON, XML, FORM = "application/json", "application/xml", "application/x-www-form-urlencoded"
DEPLOYS = frozenset({"process_versions", "audit*"})
ORDERS = frozenset({"*"})   # a whole order is stored: the test is how its text comes back


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str
    run: Callable[[Any], None]
    stores: frozenset[str]   # tables the attack's own carrier may add rows to ("audit*": any audit table)


class Attacks(list):
    """One class's table of attacks, filled by the ``attack`` decorator and ``request`` rows."""

    def attack(self, kind: str, stores: frozenset[str] = frozenset()):
        def register(run: Callable[[Any], None]) -> Callable[[Any], None]:
            self.append(Attack(run.__name__, kind, run, stores))
            return run
        return register

    def request(self, kind: str, name: str, method: str, path: str, body: str | bytes | None = None, *,
                user: str = "admin", ctype: str = JSON, status: int = 422, words: str = "") -> None:
        """An attack that is one request: its answer's status, and ``words`` in its body."""
        def run(ctx) -> None:
            resp = refused(ctx.send(method, path, user, data=body, headers={"Content-Type": ctype} if body else {}),
                           status)
            assert words in resp.data.decode(), resp.data[:300]
        run.__name__ = name
        self.attack(kind)(run)


SCRIPT = "<script>alert('xss')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;"
FORMULA = '=HYPERLINK("http://evil.example/","x")'
NOT_COUNTED = {"login_failures"}  # wrong passwords are counted by design (orderflow/access/throttle.py)


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


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """A service of its own per class of attack: a fresh database, the processes and demo users."""
    url = dbs.fresh_url(tmp_path_factory.mktemp("hostile"), "hostile")
    app = create_app({"TESTING": True, "SECRET_KEY": "hostile-secret-key-4f1c", "ORDERFLOW_DATABASE_URL": url})
    seed(app)
    hs.MARKER.unlink(missing_ok=True)
    yield Ctx(app)
    app.extensions["orderflow.db"].engine.dispose()
    dbs.drop(url)


def refused_and_nothing_stays(ctx: Ctx, hostile: Attack) -> None:
    """Run one attack: it is refused, nothing ran (no marker file) and no table grew but its own."""
    before = counts(ctx.app)
    hostile.run(ctx)
    after = counts(ctx.app)
    changed = {t for t in before if before[t] != after[t] and not may_change(t, hostile.stores)}
    assert not changed, {t: (before[t], after[t]) for t in changed}
    assert not hs.MARKER.exists(), "a payload ran a command"
