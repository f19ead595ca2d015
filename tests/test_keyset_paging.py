"""The API's lists page by the last row shown (orderflow/core/keyset.py), not by a count of rows:
every sort and direction pages through exactly the whole list, NULLs last and ties by id; a client
that works through its inbox page by page (the tasks it saw leave the list) misses none of the
rest; a cursor from another order or a forged one is a 422; a cursor from before (a count) still
reads as a count."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from orderflow.core.models import HumanTask, Instance
from tests.support import bpmn_samples as samples
from tests.support.helpers import Api

SORTS = ("due", "-due", "promised", "-promised", "value", "-value", "age", "-age")


def _cursor(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _pages(api: Api, path: str, limit: int, user: str = "manager1") -> list[list[int]]:
    pages, cursor = [], None
    for _ in range(50):
        sep = "&" if "?" in path else "?"
        resp = api.get(user, f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert resp.status_code == 200, resp.json
        pages.append([item["id"] for item in resp.json["items"]])
        cursor = resp.json["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("more than 50 pages")


@pytest.fixture
def orders(app, api: Api) -> list[int]:
    """Nine orders waiting at their first step, with repeated and missing due dates, promised dates
    and totals (ties and NULLs in every sort)."""
    ids = [api.start_order(customer=f"Customer {n}")["id"] for n in range(9)]
    with app.extensions["orderflow.db"].session() as s:
        first = s.get_one(Instance, ids[0])
        for n, instance_id in enumerate(ids):
            s.execute(update(Instance).where(Instance.id == instance_id).values(
                order_total=None if n % 4 == 0 else float(100 * (n % 3)),
                promised_date=None if n % 3 == 0 else first.started_at.date() + timedelta(days=n % 2)))
            s.execute(update(HumanTask).where(HumanTask.instance_id == instance_id).values(
                due_at=None if n % 4 == 1 else first.started_at + timedelta(hours=n % 2)))
        s.commit()
    return ids


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_pages_through_the_whole_list_in_its_order(api: Api, orders, sort):
    path = f"/api/v1/tasks?scope=all&sort={sort}"
    whole = _pages(api, path, 100)
    assert len(whole) == 1 and len(whole[0]) == len(orders)
    for limit in (1, 2, 4):
        pages = _pages(api, path, limit)
        assert [task for page in pages for task in page] == whole[0]
        assert all(len(page) == limit for page in pages[:-1])


def test_the_order_is_nulls_last_with_ties_by_id_on_both_databases(app, api: Api, orders):
    listed = api.get("manager1", "/api/v1/tasks?scope=all&sort=-value&limit=100").json["items"]
    totals = [(item["order_total"], item["id"]) for item in listed]
    valued = [t for t in totals if t[0] is not None]
    assert valued == sorted(valued, key=lambda t: (-t[0], -t[1]))
    assert totals[len(valued):] == sorted((t for t in totals if t[0] is None), key=lambda t: -t[1])


def test_working_through_the_inbox_page_by_page_misses_nothing(app, api: Api, orders):
    path = "/api/v1/tasks?scope=all&sort=due&limit=3"
    everything = [item["id"] for item in api.get("manager1", "/api/v1/tasks?scope=all&sort=due&limit=100")
                  .json["items"]]
    seen, cursor = [], None
    while True:
        body = api.get("manager1", path + (f"&cursor={cursor}" if cursor else "")).json
        for item in body["items"]:   # dealt with: each order leaves the list before the next page
            seen.append(item["id"])
            assert api.post("manager1", f"/api/v1/instances/{item['instance_id']}/terminate").status_code == 200
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == everything   # with a row count as the cursor, every second page would have been skipped


def test_instances_and_incidents_page_newest_first_by_id(app, api: Api, orders):
    pages = _pages(api, "/api/v1/instances", 4)
    assert [i for page in pages for i in page] == sorted(orders, reverse=True)
    app.config["ORDERFLOW_MAX_ENGINE_STEPS"] = 50
    app.extensions["orderflow.platform"].runtime.max_steps = 50
    resp = api.client.post("/api/v1/processes", data=samples.LOOP_FOREVER.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json
    for _ in range(5):   # each loops to the step bound: an incident
        assert api.post("admin", "/api/v1/processes/looping/instances", {"data": {}}).status_code == 201
    whole = [item["id"] for item in api.get("manager1", "/api/v1/incidents?limit=100").json["items"]]
    assert len(whole) == 5 and whole == sorted(whole, reverse=True)
    assert [i for page in _pages(api, "/api/v1/incidents", 2) for i in page] == whole


def test_a_cursor_of_another_order_or_a_forged_one_is_refused_and_an_older_count_still_reads(api: Api, orders):
    due = api.get("manager1", "/api/v1/tasks?scope=all&sort=due&limit=2").json["next_cursor"]
    other = api.get("manager1", f"/api/v1/tasks?scope=all&sort=-value&limit=2&cursor={due}")
    assert other.status_code == 422 and "another order" in other.json["error"]["message"]
    mark = json.loads(base64.urlsafe_b64decode(due.encode()))["s"]
    for forged in (_cursor({"s": mark, "k": [1]}), _cursor({"s": mark, "k": [{"t": "yesterday"}, 1]}),
                   _cursor({"s": mark, "k": [{"t": "2026-01-01T00:00:00"}, 1]}), _cursor({"s": mark, "k": [{"d": "2026-01-01"}, 1]}),
                   _cursor({"s": mark, "k": [None, 2**40]}), _cursor({"s": mark, "k": [None, True]}),
                   _cursor({"s": mark, "k": "ab"}), _cursor([1, 2]), _cursor({"o": -1}), _cursor({"o": "2"}),
                   "not base64 !", "A" * 700):
        resp = api.get("manager1", f"/api/v1/tasks?scope=all&sort=due&limit=2&cursor={forged}")
        assert resp.status_code == 422, (forged, resp.json)
        assert resp.json["error"]["fields"].keys() == {"cursor"}
    whole = [item["id"] for item in api.get("manager1", "/api/v1/instances?limit=100").json["items"]]
    older = api.get("manager1", f"/api/v1/instances?limit=3&cursor={_cursor({'o': 2})}").json
    assert [item["id"] for item in older["items"]] == whole[2:5] and older["next_cursor"]
    after = api.get("manager1", f"/api/v1/instances?limit=3&cursor={older['next_cursor']}").json
    assert [item["id"] for item in after["items"]] == whole[5:8]
