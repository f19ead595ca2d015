"""Test helpers: an API client per demo user and a form filler driven by the JSON Schemas.

The filler reads only what the API gives (the form schema and the pre-filled values),
so the story test proves an order can be driven by the demo users and the schemas alone.
"""
from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from jsonschema import Draft202012Validator

from orderflow.workflow import form_conditions, jobs


def basic(user: str, password: str = "demo") -> dict[str, str]:
    """HTTP Basic credentials of a demo user."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


#: where a fake clock starts on today's (UTC) date: a fixed time of day, so that no test's outcome
#: depends on the hour it runs at (10:00 in the demo company's Asia/Shanghai, far from either
#: midnight; a test that starts at 11:00 UTC and moves five hours on used to cross the company's)
START_OF_TEST_DAY = time(2, 0)


class FakeClock:
    """The platform's clock, moved by hand: timers and SLAs without waiting."""

    def __init__(self, value: datetime | None = None):
        self.value = value or datetime.combine(datetime.now(UTC).date(), START_OF_TEST_DAY, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta: float) -> None:
        self.value += timedelta(**delta)


def service_today() -> date:
    """The service's ``today()`` on its real clock: the UTC date, whatever this machine's time zone
    (a local date runs a day ahead of it for hours each day east of Greenwich)."""
    return datetime.now(UTC).date()


NEW_ORDER = {
    "customer": "Shenzhen Bright Electronics", "customer_tier": "standard", "channel": "email",
    "lines": [{"product": "TV-32", "spec": "32 inch, DVB-T2", "quantity": 200, "unit_price": 85.5}],
    "promised_date": (service_today() + timedelta(days=60)).isoformat(), "payment_terms": "tt",
    "shipping_address": "Room 5, Harbour Road, Hong Kong", "contact_name": "Ms Li", "contact_phone": "+852 5555 0101",
}


class Api:
    def __init__(self, client):
        self.client = client

    @staticmethod
    def auth(user: str, password: str = "demo") -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    def get(self, user: str, path: str, **kw):
        return self.client.get(path, headers=self.auth(user), **kw)

    def post(self, user: str, path: str, json: Any = None, **kw):
        return self.client.post(path, headers=self.auth(user), json=json, **kw)

    def start_order(self, user: str = "sales1", **overrides) -> dict:
        resp = self.post(user, "/api/v1/processes/order_flow/instances", {"data": {**NEW_ORDER, **overrides}})
        assert resp.status_code == 201, resp.json
        return resp.json

    def open_tasks(self, instance_id: int) -> list[dict]:
        return self.get("manager1", f"/api/v1/instances/{instance_id}").json["open_tasks"]

    def task(self, instance_id: int, element_id: str) -> dict:
        found = [t for t in self.open_tasks(instance_id) if t["element_id"] == element_id]
        assert found, f"{element_id} not open; open: {[t['element_id'] for t in self.open_tasks(instance_id)]}"
        return found[0]

    def drive_to(self, instance_id: int, *elements: str, limit: int = 60) -> dict:
        """Complete the first open task as '<group>1' until one of ``elements`` is open; returns it."""
        for _ in range(limit):
            open_tasks = self.open_tasks(instance_id)
            found = [t for t in open_tasks if t["element_id"] in elements]
            if len(found) == len(elements) or (found and len(elements) == 1):
                return found[0]
            task = open_tasks[0]
            password = "demo" if task["element_id"] == "sign_release" else None
            assert self.complete(f"{task['group']}1", task["id"], password=password).status_code == 200
        raise AssertionError(f"never reached {elements}")

    def complete(self, user: str, task_id: int, decision: str | None = None, password: str | None = None,
                 **values) -> Any:
        detail = self.get(user, f"/api/v1/tasks/{task_id}")
        assert detail.status_code == 200, detail.json
        data = fill(detail.json["form"], detail.json["values"], decision, **values)
        body: dict[str, Any] = {"data": data}
        if password is not None:
            body["password"] = password
        return self.post(user, f"/api/v1/tasks/{task_id}/complete", body)


def _sample(name: str, prop: dict) -> Any:
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        if "maximum" in prop:
            return prop["maximum"]
        return max(prop.get("minimum", 1), 1)
    if kind == "array":
        item = prop.get("items", {})
        return [_sample(name, item)] if item else []
    if kind == "object":
        return {k: _sample(k, p) for k, p in prop.get("properties", {}).items()}
    if prop.get("format") == "date":
        return service_today().isoformat()
    if prop.get("format") == "attachment":
        return None
    return f"{name} text"


def fill(schema: dict, values: dict, decision: str | None = None, **overrides) -> dict:
    """Every field the form accepts, with the pre-filled values kept and a decision chosen."""
    readonly = set((schema.get("ui") or {}).get("readonly") or [])
    data = {}
    for name, prop in form_conditions.whole(schema).get("properties", {}).items():  # show-if fields too
        if name in readonly:
            continue
        value = values.get(name, _sample(name, prop))
        if value is not None:
            data[name] = value
    if decision is not None:
        data["decision"] = decision
    data.update(overrides)
    errors = list(Draft202012Validator({k: v for k, v in schema.items() if k != "ui"}).iter_errors(
        {**{k: values[k] for k in readonly if k in values}, **data}))
    assert not errors, [e.message for e in errors]
    return data


def login(client, user: str, password: str = "demo") -> str:
    """Log in through the form like a person; returns a CSRF token for later posts."""
    import re
    def token_in(page: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found is not None, page[:300]
        return found.group(1)
    token = token_in(client.get("/login").data.decode())
    resp = client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.data[:300]
    return token_in(client.get("/inbox").data.decode())


def run_jobs(app) -> int:
    """Run the jobs that are due now, as one scheduler sweep would; how many ran."""
    return jobs.run_due(app.extensions["orderflow.db"], "test-worker")


def seed(app) -> None:
    """What ``make run`` does to a new database: the schema, processes/ deployed, the demo users."""
    runner = app.test_cli_runner()
    for command in (["init-db"], ["deploy"], ["seed-demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output


def sqlite_plan(conn, sql: str) -> str:
    """SQLite's plan of ``sql`` (its ``?`` parameters left blank), its steps joined by ' | '."""
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (None,) * sql.count("?"))
    return " | ".join(row[-1] for row in rows)
