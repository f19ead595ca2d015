"""The permissions matrix, walked cell by cell: for every action and a user of every role, the page
and the API endpoint that perform it answer 2xx/3xx where the matrix says yes and 403 where it says
no; nobody logged in gets 401 (API) or the login page. The expected outcome comes from
``permissions.MATRIX`` itself, the routes from ``ROUTES`` below: an action without a route fails."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from handlers import REGISTRY
from orderflow.access.permissions import MATRIX, ROLES, permissions_table
from orderflow.core.models import HumanTask, Incident, Instance, ProcessVersion
from tests.support import bpmn_samples as samples
from tests.support.helpers import NEW_ORDER, Api, login

ROOT = Path(__file__).resolve().parent.parent
REPRESENTATIVES = {"sales1": "staff", "sales_manager1": "staff", "vp1": "staff", "finance1": "staff",
                   "warehouse1": "staff", "owner1": "process_owner", "manager1": "manager", "admin": "admin",
                   "bank1": "integration"}
GROUP_OF = {"owner1": "process_owner", "manager1": "manager", "admin": "admin", "bank1": "integration"}
START_FORM = {"customer": NEW_ORDER["customer"], "customer_tier": "standard", "channel": "email",
              "lines-0-product": "TV-32", "lines-0-spec": "32 inch", "lines-0-quantity": "200",
              "lines-0-unit_price": "85.5", "promised_date": NEW_ORDER["promised_date"], "payment_terms": "tt",
              "shipping_address": "Hong Kong", "contact_name": "Ms Li", "contact_phone": "+852 5555 0101"}


@dataclass
class Route:
    """How to perform an action: ``page`` and ``api`` are (method, url, body) or None; ``setup``
    names the Scene method that makes fresh objects for one call; "{name}" in urls and bodies is
    replaced by what it returns."""

    page: tuple[str, str, Any] | None
    api: tuple[str, str, Any] | None
    setup: str = "nothing"
    extra: dict = field(default_factory=dict)


ROUTES: dict[str, Route] = {
    "task.work": Route(("POST", "/tasks/{task}/claim", None), ("POST", "/api/v1/tasks/{task}/claim", None), "own_task"),
    "task.reassign": Route(("POST", "/tasks/{task}/reassign", {"group": "{group}"}),
                           ("POST", "/api/v1/tasks/{task}/reassign", {"group": "{group}"}), "open_task"),
    "order.start": Route(("POST", "/processes/order_flow/start", START_FORM),
                         ("POST", "/api/v1/processes/order_flow/instances", {"data": NEW_ORDER}), "start_group"),
    "order.read_own": Route(("GET", "/orders/{order}", None), ("GET", "/api/v1/instances/{order}", None), "own_order"),
    "order.read_all": Route(("GET", "/orders/{order}", None), ("GET", "/api/v1/instances/{order}", None),
                            "others_order"),
    "order.suspend": Route(("POST", "/orders/{order}/suspend", None), ("POST", "/api/v1/instances/{order}/suspend", None),
                           "running_order"),
    "order.resume": Route(("POST", "/orders/{order}/resume", None), ("POST", "/api/v1/instances/{order}/resume", None),
                          "suspended_order"),
    "order.terminate": Route(("POST", "/orders/{order}/terminate", None),
                             ("POST", "/api/v1/instances/{order}/terminate", None), "running_order"),
    "incident.read": Route(None, ("GET", "/api/v1/incidents", None)),
    "incident.retry": Route(("POST", "/incidents/{incident}/retry", None),
                            ("POST", "/api/v1/incidents/{incident}/retry", None), "incident"),
    "incident.complete": Route(("POST", "/incidents/{incident}/complete", {"result": '{"status": "paid"}'}),
                               ("POST", "/api/v1/incidents/{incident}/complete", {"data": {"status": "paid"}}),
                               "incident"),
    "board.read": Route(("GET", "/board", None), ("GET", "/api/v1/board", None)),
    "monitor.read": Route(("GET", "/monitor", None), ("GET", "/api/v1/monitor/elements?process=order_flow", None)),
    "analytics.read": Route(("GET", "/analytics", None), ("GET", "/api/v1/analytics", None)),
    "outbox.read": Route(("GET", "/outbox", None), None),
    "customer.read": Route(("GET", "/customers/{customer}", None), ("GET", "/api/v1/customers/{customer}", None),
                           "customer"),
    "process.read_versions": Route(("GET", "/processes/order_flow/versions", None),
                                   ("GET", "/api/v1/processes/order_flow/versions", None)),
    "process.deploy": Route(("POST", "/processes/new", {"key": "{key}", "name": "New"}),
                            ("POST", "/api/v1/processes", samples.script_process("x = 1", pid="{key}")), "fresh_key"),
    "process.migrate": Route(("POST", "/processes/timed/migrate", {"from": "1", "to": "2"}),
                             ("POST", "/api/v1/processes/timed/migrations", {"from": 1, "to": 2}), "two_versions"),
    "metrics.read": Route(None, ("GET", "/metrics", None)),
    "message.deliver": Route(None, ("POST", "/api/v1/messages/payment_received",
                                    {"correlation": {"order_ref": "{ref}"}, "payload": {"amount": 1}}), "receiver"),
    "token.own": Route(None, ("POST", "/api/v1/tokens", {"name": "mine"})),
    "admin.users": Route(("POST", "/admin/users", {"username": "{key}", "display_name": "New", "password": "long enough",
                                                   "groups": "sales"}),
                         ("POST", "/api/v1/admin/users", {"username": "{key}", "display_name": "New",
                                                          "password": "long enough", "groups": ["sales"]}), "fresh_key"),
    "admin.groups": Route(("POST", "/admin/groups", {"id": "{key}", "name": "New"}),
                          ("POST", "/api/v1/admin/groups", {"id": "{key}", "name": "New"}), "fresh_key"),
    "admin.tokens": Route(("POST", "/admin/tokens", {"user": "sales2", "name": "t"}),
                          ("POST", "/api/v1/admin/tokens", {"user": "sales2", "name": "t"})),
}


def fill(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, str):
        for name, replacement in params.items():
            value = value.replace("{" + name + "}", str(replacement))
        return value
    if isinstance(value, dict):
        return {k: fill(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, params) for v in value]
    return value


class Scene:
    """Fresh objects for each call, and a logged-in browser per user."""

    def __init__(self, app, api: Api, monkeypatch):
        self.app, self.api, self.monkeypatch = app, api, monkeypatch
        self.db = app.extensions["orderflow.db"]
        self.browsers: dict[str, tuple[Any, str]] = {}
        self.counter = itertools.count(1)
        self.deployed: set[str] = set()

    def browser(self, user: str | None):
        if user not in self.browsers:
            client = self.app.test_client()
            if user is None:  # a session with a CSRF token but nobody logged in
                token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").data.decode()).group(1)
            else:
                token = login(client, user)
            self.browsers[user] = (client, token)
        return self.browsers[user]

    def call(self, kind: str, spec: tuple[str, str, Any], user: str | None, params: dict[str, Any]):
        method, url, body = spec
        url, body = fill(url, params), fill(body, params)
        if kind == "page":
            client, token = self.browser(user)
            return client.open(url, method=method, data={**(body or {}), "csrf_token": token} if method == "POST" else None)
        headers = self.api.auth(user) if user else {}
        if isinstance(body, str):
            return self.api.client.open(url, method=method, data=body, headers={**headers, "Content-Type": "application/xml"})
        return self.api.client.open(url, method=method, json=body, headers=headers)

    def _deploy(self, xml: str, name: str) -> None:
        if name not in self.deployed:
            resp = self.api.client.post("/api/v1/processes", data=xml.encode(),
                                        headers={**self.api.auth("owner1"), "Content-Type": "application/xml"})
            assert resp.status_code == 201, resp.json
            self.deployed.add(name)

    def _change(self, statement) -> None:
        with self.db.session() as s:
            s.execute(statement)
            s.commit()

    # -- setups: each returns the "{name}" values of one call ------------------------------------

    def nothing(self, user: str) -> dict:
        return {}

    def fresh_key(self, user: str) -> dict:
        return {"key": f"k{next(self.counter)}_{user}"}

    def open_task(self, user: str) -> dict:
        task = self.api.start_order("admin")["open_tasks"][0]
        return {"task": task["id"], "group": task["group"]}  # reassigned within its diagram's groups

    def own_task(self, user: str) -> dict:
        """An open task in the user's own group, so only the matrix can say no."""
        found = self.open_task(user)
        self._change(update(HumanTask).where(HumanTask.id == found["task"])
                     .values(group_id=GROUP_OF.get(user, re.sub(r"\d+$", "", user))))
        return found

    def customer(self, user: str) -> dict:
        """A customer with an order (started once), by name as the URL carries it."""
        if "customer" not in self.deployed:
            self.api.start_order("admin")
            self.deployed.add("customer")
        return {"customer": quote(NEW_ORDER["customer"])}

    def running_order(self, user: str) -> dict:
        return {"order": self.api.start_order("admin")["id"]}

    def suspended_order(self, user: str) -> dict:
        found = self.running_order(user)
        assert self.api.post("admin", f"/api/v1/instances/{found['order']}/suspend").status_code == 200
        return found

    def _order_of(self, user: str, started_by: str) -> dict:
        found = self.running_order(user)
        self._change(update(Instance).where(Instance.id == found["order"]).values(started_by=started_by))
        self._change(update(HumanTask).where(HumanTask.instance_id == found["order"]).values(group_id="design"))
        return found

    def own_order(self, user: str) -> dict:
        return self._order_of(user, user)

    def others_order(self, user: str) -> dict:
        return self._order_of(user, "somebody_else")

    def start_group(self, user: str) -> dict:
        """order_flow startable by the user's group, so only the matrix can say no."""
        self._change(update(ProcessVersion).where(ProcessVersion.key == "order_flow")
                     .values(start_group=GROUP_OF.get(user, re.sub(r"\d+$", "", user))))
        return {}

    def incident(self, user: str) -> dict:
        def always_fails(ctx):
            """Fails, for incidents."""
            raise ConnectionError("unreachable")
        self.monkeypatch.setitem(REGISTRY, "always_fails", always_fails)
        self._deploy(samples.service_then_task("always_fails"), "calling")
        started = self.api.post("admin", "/api/v1/processes/calling/instances", {"data": {}})
        assert started.status_code == 201, started.json
        with self.db.session() as s:
            return {"incident": s.scalar(select(Incident.id).where(Incident.instance_id == started.json["id"]))}

    def two_versions(self, user: str) -> dict:
        self._deploy(samples.timer_process("PT1H"), "timed-1")
        self._deploy(samples.timer_process("PT2H"), "timed-2")
        return {}

    def receiver(self, user: str) -> dict:
        self._deploy(samples.MESSAGE_WAIT, "paying")
        ref = f"R-{next(self.counter)}"
        assert self.api.post("admin", "/api/v1/processes/paying/instances", {"data": {"order_ref": ref}}).status_code == 201
        return {"ref": ref}


@pytest.fixture
def scene(app, api, monkeypatch) -> Scene:
    return Scene(app, api, monkeypatch)


def test_every_action_has_a_route_and_every_role_a_representative():
    assert set(ROUTES) == set(MATRIX), "an action needs its page/API route in ROUTES (and a gone one leaves)"
    assert all(route.page or route.api for route in ROUTES.values())
    assert set(REPRESENTATIVES.values()) == set(ROLES)
    assert all("admin" in roles for roles in MATRIX.values()), "administrators may do everything"


@pytest.mark.parametrize("action", list(MATRIX))
def test_the_matrix_holds_for_pages_and_api(action: str, scene: Scene):
    route = ROUTES[action]
    for user, role in REPRESENTATIVES.items():
        allowed = role in MATRIX[action]
        for kind, spec in (("page", route.page), ("api", route.api)):
            if spec is None:
                continue
            resp = scene.call(kind, spec, user, getattr(scene, route.setup)(user))
            detail = (action, kind, user, resp.status_code, resp.get_data(as_text=True)[:300])
            if allowed:
                assert resp.status_code < 400 and "/login" not in (resp.location or ""), detail
            else:
                assert resp.status_code == 403, detail
    for kind, spec in (("page", route.page), ("api", route.api)):
        if spec is None:
            continue
        resp = scene.call(kind, spec, None, getattr(scene, route.setup)("admin"))
        if kind == "api":
            assert resp.status_code == 401, (action, resp.status_code)
        else:
            assert resp.status_code == 302 and "/login" in resp.location, (action, resp.status_code)


def test_denials_say_who_may(api: Api):
    resp = api.post("sales1", "/api/v1/admin/groups", {"id": "x1", "name": "X"})
    assert resp.json["error"]["message"] == "Only administrators may manage groups."
    resp = api.post("manager1", "/api/v1/processes/timed/migrations", {"from": 1, "to": 2})
    assert resp.json["error"]["message"] == "Only process owners and administrators may move running orders to another version."


def test_the_readme_table_is_the_matrix():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert permissions_table() in readme, "README's permissions table is stale: paste permissions_table()"
