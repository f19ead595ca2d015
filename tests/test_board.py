"""The managers' order board: rows, filters, sorting, pages, CSV, saved filters, permissions."""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from orderflow import create_app
from orderflow.access import accounts
from orderflow.core.errors import InvalidInput
from orderflow.orders import board
from tests.support import bpmn_samples as samples
from tests.support import dbs
from tests.support.helpers import Api, FakeClock, basic, login
from tests.support.orders import drive

SMALL = [{"product": "TV-32", "spec": "32 inch", "quantity": 10, "unit_price": 50}]          # 500
MEDIUM = [{"product": "TV-43", "spec": "43 inch", "quantity": 1000, "unit_price": 100}]      # 100,000
LARGE = [{"product": "STB-9", "spec": "4K", "quantity": 5000, "unit_price": 40}]             # 200,000


def _service_today(clock) -> date:
    """Today where the board counts days (the display time zone), by the service's clock."""
    return clock().astimezone(ZoneInfo("Asia/Shanghai")).date()


@dataclass(frozen=True)
class Scene:
    url: str                 # a database holding the scene: each test gets a copy (seeded_url below)
    ids: dict[str, int]
    now: datetime            # the service clock when the scene was set


@pytest.fixture(scope="module")
def scene_db(seeded_template: str, tmp_path_factory) -> Scene:
    """The scene is set once per module; tests read and write their own copies of it."""
    url = dbs.copy_of(seeded_template, tmp_path_factory.mktemp("board"), "board_scene")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_DATABASE_URL": url})
    clock = FakeClock()
    app.extensions["orderflow.platform"].clock = clock
    ids = _set_scene(Api(app.test_client()), clock)
    app.extensions["orderflow.db"].engine.dispose()
    dbs.settle(url)
    yield Scene(url, ids, clock.value)
    dbs.drop(url)


@pytest.fixture
def seeded_url(scene_db: Scene, tmp_path):
    """This module's tests start from the scene (conftest's ``app`` builds on this database)."""
    url = dbs.copy_of(scene_db.url, tmp_path)
    yield url
    dbs.drop(url)


@pytest.fixture
def scene(scene_db: Scene, clock) -> dict[str, int]:
    clock.value = scene_db.now
    return scene_db.ids


def _set_scene(api: Api, clock) -> dict[str, int]:
    """Orders at different steps, two of them overdue, one due soon, one waiting on a timer, one done."""
    ids = {}
    ids["alpha"] = api.start_order(customer="Alpha Electronics", lines=SMALL)["id"]              # check_stock
    ids["beta"] = api.start_order(customer="Beta Trading 深圳", lines=MEDIUM)["id"]
    api.drive_to(ids["beta"], "review_order")                                                    # sales
    clock.advance(hours=6)                                   # check_stock (3 h) and review_order (2 h) overdue
    ids["gamma"] = api.start_order(customer="Gamma 100% Co_ Ltd", lines=LARGE)["id"]
    soon = (_service_today(clock) + timedelta(days=3)).isoformat()
    ids["delta"] = api.start_order(customer="delta displays", lines=SMALL, promised_date=soon)["id"]
    ids["epsilon"] = api.start_order(customer="Epsilon Audio", lines=SMALL)["id"]
    api.drive_to(ids["epsilon"], "approve_order_manager")
    done = api.start_order(customer="Omega Finished", lines=SMALL)["id"]
    drive(api, done, {"check_stock": ["sufficient"], "review_order": ["reject"]})
    ids["done"] = done
    resp = api.client.post("/api/v1/processes", data=samples.timer_process("P30D").encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json
    timed = api.post("admin", "/api/v1/processes/timed/instances", {"data": {}})
    assert timed.status_code == 201, timed.json
    ids["timed"] = timed.json["id"]
    task = api.task(ids["gamma"], "check_stock")
    assert api.post("warehouse2", f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    return ids


def board_json(api: Api, user: str = "manager1", **params) -> dict:
    resp = api.get(user, "/api/v1/board?" + urlencode({"per_page": 200, **params}))
    assert resp.status_code == 200, resp.json
    return resp.json


def items(api: Api, **params) -> list[dict]:
    return board_json(api, **params)["items"]


def pairs(rows: list[dict]) -> set[tuple[int, str | None]]:
    return {(r["instance_id"], r["element_id"]) for r in rows}


def test_the_board_lists_every_waiting_task_of_the_open_orders(scene, api: Api):
    rows = items(api)
    tasks = api.get("manager1", "/api/v1/tasks?scope=all&limit=500").json["items"]
    stepped = [r for r in rows if r["element_id"]]
    assert len(stepped) == len(tasks) == len(pairs(stepped))           # one row per waiting task, no duplicates
    assert pairs(stepped) == {(t["instance_id"], t["element_id"]) for t in tasks}
    assert {(r["instance_id"], r["element_id"]): r["overdue"] for r in stepped} == \
        {(t["instance_id"], t["element_id"]): t["overdue"] for t in tasks}
    assert {r["instance_id"] for r in rows if r["overdue"]} == {scene["alpha"], scene["beta"]}
    assert scene["done"] not in {r["instance_id"] for r in rows}
    [idle] = [r for r in rows if not r["element_id"]]                   # waits on a timer: once, no step
    assert idle["instance_id"] == scene["timed"] and idle["status"] == "running" and idle["step"] is None
    assert {r["instance_id"] for r in rows if r["at_risk"]} == {scene["delta"]}
    beta = next(r for r in rows if r["instance_id"] == scene["beta"])
    assert beta["customer"] == "Beta Trading 深圳" and beta["order_total"] == 100000
    assert beta["step"].startswith("Review order") and beta["group"] == "sales"
    assert board_json(api)["total"] == len(rows)


def test_each_filter_narrows_the_board(scene, api: Api, clock):
    everything = items(api)
    tasks = api.get("manager1", "/api/v1/tasks?scope=all&limit=500").json["items"]

    def only(**params) -> set[int]:
        return {r["instance_id"] for r in items(api, **params)}

    warehouse = items(api, group="warehouse")
    assert warehouse and all(r["group"] == "warehouse" for r in warehouse)
    assert pairs(warehouse) == {(t["instance_id"], t["element_id"]) for t in tasks if t["group"] == "warehouse"}
    assert pairs(items(api, element="review_order")) == {(scene["beta"], "review_order")}
    assert pairs(items(api, overdue="1")) == {(t["instance_id"], t["element_id"]) for t in tasks if t["overdue"]}
    assert only(element="check_stock", overdue="1") == {scene["alpha"]}
    assert only(customer="ALPHA") == {scene["alpha"]}                   # any case
    assert only(customer="深圳") == {scene["beta"]}
    assert only(customer="100%") == only(customer="Co_") == {scene["gamma"]}   # % and _ are plain text
    totals = {r["instance_id"]: r["order_total"] for r in everything}
    assert only(amount_min="100000", amount_max="150000") == {i for i, t in totals.items()
                                                               if t is not None and 100000 <= t <= 150000}
    assert only(amount_min="150000") == {scene["gamma"]}
    assert only(amount_max="1000") == {scene["alpha"], scene["delta"], scene["epsilon"]}
    beta_key = next(r["business_key"] for r in everything if r["instance_id"] == scene["beta"])
    assert only(q=beta_key) == {scene["beta"]}
    assert only(q="gamma 100") == {scene["gamma"]}
    assert only(q="SO-") == {r["instance_id"] for r in everything if r["business_key"]}
    assert only(process="timed") == {scene["timed"]}
    assert scene["timed"] not in only(process="order_flow")
    assert only(process="order_flow", version="1") == only(process="order_flow")
    assert only(process="order_flow", version="99") == set()
    assert only(at_risk="1") == {scene["delta"]}
    today = _service_today(clock)
    assert only(started_from=(today - timedelta(days=2)).isoformat()) == only()
    assert only(started_to=(today - timedelta(days=2)).isoformat()) == set()
    assert only(started_from=(today + timedelta(days=2)).isoformat()) == set()
    assert only(group="warehouse", amount_min="150000") == {scene["gamma"]}      # task and order filters at once


SORT_VALUE = {"business_key": "business_key", "customer": "customer", "order_total": "order_total",
              "promised_date": "promised_date", "step": "element_id", "group": "group", "assignee": "assignee",
              "ready_at": "ready_at", "due_at": "due_at", "started_at": "started_at"}


@pytest.mark.parametrize("sort", board.SORTS)
def test_sorting_works_both_ways(scene, api: Api, sort: str):
    field = SORT_VALUE[sort]
    up, down = items(api, sort=sort, dir="asc"), items(api, sort=sort, dir="desc")
    assert pairs(up) == pairs(down) == pairs(items(api))
    for rows, descending in ((up, False), (down, True)):
        values = [r[field] for r in rows]
        present = [v for v in values if v is not None]
        assert values[:len(present)] == present, "empty values come last"
        assert present == sorted(present, reverse=descending)
        if sort in board.TASK_SORTS:
            assert rows[-1]["element_id"] is None                        # the order waiting on a timer
    if sort == "customer":
        assert [r["customer"] for r in down][-1] is None                # the timer order has no customer


def test_pages_add_up_to_the_whole_board(scene, api: Api):
    for params in ({}, {"sort": "customer", "dir": "desc"}, {"sort": "step"}, {"group": "warehouse"},
                   {"amount_max": "150000", "sort": "order_total"}):
        whole = items(api, **params)
        first = board_json(api, **params, per_page=2)
        assert first["total"] == len(whole) and first["pages"] == math.ceil(len(whole) / 2) and first["page"] == 1
        seen = []
        for number in range(1, first["pages"] + 1):
            page = board_json(api, **params, per_page=2, page=number)
            assert page["total"] == len(whole) and page["page"] == number
            seen += page["items"]
        assert [(r["instance_id"], r["element_id"]) for r in seen] == [(r["instance_id"], r["element_id"])
                                                                       for r in whole]
        beyond = board_json(api, **params, per_page=2, page=first["pages"] + 1)
        assert beyond["items"] == [] and beyond["total"] == len(whole)


def _read_csv(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.data[:300]
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    text = resp.data.decode("utf-8")
    assert text.startswith("\ufeff")                                     # BOM: Excel reads Chinese right
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize("params", [{}, {"group": "warehouse"}, {"sort": "customer", "dir": "desc"},
                                    {"q": "深圳"}])
def test_csv_has_the_rows_of_the_page(scene, api: Api, client, params):
    rows = items(api, **params)
    table = _read_csv(client.get("/board.csv?" + urlencode(params), headers=basic("manager1")))
    header, body = table[0], table[1:]
    assert header == ["Order", "Customer", "Total", "Promised date", "Status", "Step", "Group", "Assignee",
                      "Waiting since", "Due", "Overdue", "At risk"]
    assert len(body) == len(rows)
    for line, row in zip(body, rows):
        assert line[0] == (row["business_key"] or f"#{row['instance_id']}")
        assert line[1] == (row["customer"] or "")
        assert (line[5] != "") == bool(row["element_id"])
        assert line[10] == ("Yes" if row["overdue"] else "No") and line[11] == ("Yes" if row["at_risk"] else "No")
    if params.get("q") == "深圳":
        assert body[0][1] == "Beta Trading 深圳" and body[0][5] == "Review order" and body[0][6] == "Sales"


def test_the_board_page_shows_rows_coloured_and_linked(scene, client):
    login(client, "manager1")
    page = client.get("/board")
    assert page.status_code == 200
    html = page.data.decode()
    assert f'href="/orders/{scene["alpha"]}"' in html
    rows = re.findall(r'<tr class="board-row([^"]*)"\s+data-instance-id="(\d+)"', html)
    classes = {int(i): c.strip() for c, i in rows}
    assert classes[scene["alpha"]] == classes[scene["beta"]] == "table-danger"
    assert classes[scene["delta"]] == "table-warning"
    assert classes[scene["gamma"]] == ""
    assert "Review order" in html and "订单审核" not in html            # the step in the reader's language
    assert 'href="/board.csv' in html
    sorted_page = client.get("/board?sort=customer").data.decode()
    assert 'data-sort="customer"' in sorted_page and "dir=desc" in sorted_page   # the header now sorts down


def test_past_the_counting_limit_the_board_says_more_than_and_pages_stop(scene, api: Api, client, monkeypatch):
    monkeypatch.setattr(board.filters, "MAX_ROWS", 3)
    assert len(items(api)) > 3
    first = board_json(api, per_page=2)
    assert (first["total"], first["total_exact"], first["pages"]) == (3, False, 2)
    assert board_json(api, per_page=10)["total_exact"] is True   # a first page that holds them all counts them
    beyond = api.get("manager1", "/api/v1/board?per_page=2&page=3")
    assert beyond.status_code == 422 and "CSV" in beyond.json["error"]["fields"]["page"]
    login(client, "manager1")
    html = client.get("/board?per_page=2").data.decode()
    counted = re.search(r'id="board-count">(.*?)</p>', html, re.S)
    assert counted and "more than 3 rows" in counted.group(1) and "page 1 of 2" in counted.group(1)
    chinese = client.get("/board?per_page=2", headers={"Accept-Language": "zh-CN"}).data.decode()
    assert "超过 3 行" in chinese


def test_the_filters_in_force_show_as_chips_that_drop_them(scene, client):
    """The monitor's badges land on /board?process=…&element=…: the step shows by name (in the
    reader's language), each chip links to the board without its filter, the process stays."""
    login(client, "manager1")
    html = client.get("/board?process=order_flow&element=review_order&overdue=1").data.decode()
    chips = html[html.index('id="board-chips"'):html.index("</ul>", html.index('id="board-chips"'))]
    assert re.findall(r'data-filter="(\w+)"', chips) == ["process", "element", "overdue"]
    assert "<strong>Review order</strong>" in chips and "订单审核" not in chips
    assert 'href="/board?process=order_flow&amp;overdue=1"' in chips                # the step dropped
    assert 'href="/board?process=all&amp;element=review_order&amp;overdue=1"' in chips  # the process dropped
    assert 'href="/board?process=order_flow&amp;element=review_order"' in chips     # overdue dropped
    rows = re.findall(r'data-instance-id="(\d+)" data-element="(\w*)"', html)
    assert rows == [(str(scene["beta"]), "review_order")]
    chinese = client.get("/board?process=order_flow&element=review_order", headers={"Accept-Language": "zh-CN"})
    assert "<strong>订单审核</strong>" in chinese.data.decode()
    assert 'data-filter="process"' in client.get("/board").data.decode()   # the order flow, by default
    assert 'id="board-chips"' not in client.get("/board?process=all").data.decode()


def test_saved_filters_private_shared_and_deleted_by_their_owner_or_an_admin(scene, app, client):
    token = login(client, "manager1")
    resp = client.post("/board/filters", data={"csrf_token": token, "name": "Late warehouse",
                                               "query": "group=warehouse&overdue=1&page=3"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/board?group=warehouse&overdue=1")
    resp = client.post("/board/filters", data={"csrf_token": token, "name": "Big orders", "shared": "1",
                                               "query": "amount_min=150000"})
    assert resp.status_code == 302
    assert client.post("/board/filters", data={"name": "no token", "query": ""}).status_code == 400
    assert client.post("/board/filters", data={"csrf_token": token, "name": "bad", "query": "amount_min=abc"}
                       ).status_code == 302                            # refused with a message, nothing saved
    assert client.post("/board/filters", data={"csrf_token": token, "name": " ", "query": ""}).status_code == 302
    html = client.get("/board").data.decode()
    assert "Late warehouse" in html and "Big orders" in html and ">bad<" not in html
    assert 'href="/board?group=warehouse&amp;overdue=1"' in html

    other = app.test_client()
    other_token = login(other, "admin")
    html = other.get("/board").data.decode()
    assert "Big orders" in html and "Late warehouse" not in html        # shared ones only
    with app.app_context():
        from orderflow.web.db_session import get_session
        session = get_session()
        manager = accounts.by_username(session, "manager1")
        admin = accounts.by_username(session, "admin")
        mine = {f.name: f for f in board.list_filters(session, manager)}
        assert set(mine) == {"Late warehouse", "Big orders"}
        assert [f.name for f in board.list_filters(session, admin)] == ["Big orders"]
        big, late = mine["Big orders"].id, mine["Late warehouse"].id
    assert other.post(f"/board/filters/{late}/delete", data={"csrf_token": other_token}).status_code == 404
    assert client.post(f"/board/filters/{late}/delete", data={"csrf_token": token}).status_code == 302
    # an administrator may delete a shared one (another manager may not: tests/test_saved_filter_names.py)
    assert other.post(f"/board/filters/{big}/delete", data={"csrf_token": other_token}).status_code == 302
    assert client.post(f"/board/filters/{big}/delete", data={"csrf_token": token}).status_code == 404
    assert "Big orders" not in other.get("/board").data.decode()


def test_only_managers_and_admins_see_the_board(scene, app, api: Api, client):
    assert api.get("sales1", "/api/v1/board").status_code == 403
    assert api.get("sales1", "/api/v1/board").json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/board").status_code == 401
    assert client.get("/board").status_code == 302                      # to the login page
    assert board_json(api, "admin")["total"] == board_json(api)["total"]
    login(client, "sales1")
    page = client.get("/board")
    assert page.status_code == 403 and "Only managers and administrators may see the order board." in \
        page.data.decode()
    assert client.get("/board.csv").status_code == 403
    # the domain gives others the orders they take part in
    with app.app_context():
        from orderflow.web.db_session import get_session
        session = get_session()
        sales = board.rows(session, accounts.by_username(session, "sales1"), board.BoardFilter(per_page=200))
        finance = board.rows(session, accounts.by_username(session, "finance1"), board.BoardFilter())
        assert {r.instance_id for r in sales.rows} == {scene[k] for k in ("alpha", "beta", "gamma", "delta",
                                                                          "epsilon")}
        assert finance.rows == [] and finance.total == 0


@pytest.mark.parametrize("query, field", [
    ("amount_min=abc", "amount_min"), ("sort=evil;drop", "sort"), ("dir=sideways", "dir"), ("page=0", "page"),
    ("per_page=1000", "per_page"), ("started_from=2024-13-01", "started_from"), ("overdue=maybe", "overdue"),
    ("version=x", "version"), ("amount_min=5&amount_max=1", "amount_max"), ("amount_min=nan", "amount_min"),
    ("started_from=2025-02-02&started_to=2025-02-01", "started_to"), ("q=" + "x" * 300, "q"),
    ("started_to=9999-12-31", "started_to"), ("started_from=0001-01-01", "started_from"), ("page=１", "page"),
    ("page=201", "page"), ("page=51&per_page=200", "page"),
])
def test_bad_parameters_are_explained_never_a_500(scene, api: Api, client, query: str, field: str):
    resp = api.get("manager1", f"/api/v1/board?{query}")
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["code"] == "invalid_input" and field in resp.json["error"]["fields"]
    assert field in resp.json["error"]["message"]
    login(client, "manager1")
    page = client.get(f"/board?{query}")
    assert page.status_code == 422
    html = page.data.decode()
    assert 'id="board-error"' in html and 'id="board-filter"' in html and f'id="{field}-error"' in html
    assert client.get(f"/board.csv?{query}").status_code == 422


def test_sql_looking_searches_are_plain_text(scene, api: Api):
    before = board_json(api)["total"]
    for text in ("'; DROP TABLE instances; --", "\" OR 1=1 --", "%' OR '1'='1", "SO-%", "*"):
        result = board_json(api, q=text)
        assert result["total"] == 0 and result["items"] == []
        assert board_json(api, customer=text)["total"] == 0
    assert {r["instance_id"] for r in items(api, q="%")} == {scene["gamma"]}
    assert {r["instance_id"] for r in items(api, q="_")} == {scene["gamma"]}
    assert board_json(api)["total"] == before


@pytest.mark.parametrize("few, chunk, sample, cap", [(10_000, 500, 20_000, 10_000), (0, 1, 20_000, 10_000),
                                                     (0, 500, 1, 10_000), (10_000, 500, 20_000, 3),
                                                     (0, 500, 20_000, 3)])
def test_every_way_to_a_page_agrees_with_the_full_listing(scene, app, monkeypatch, few: int, chunk: int,
                                                          sample: int, cap: int):
    """Pages come from task-first, order-first, id-list or sampled queries; the CSV from one LEFT
    JOIN. ``few=0`` sends order-level filters down the many-orders path, ``chunk=1`` splits every
    id list (and passes them as JSON), ``sample=1`` makes the sampled page fall back; ``cap=3``
    stops counting and paging after three rows (MAX_ROWS), on every path."""
    monkeypatch.setattr(board.limits, "FEW_ORDERS", few)
    monkeypatch.setattr(board.limits, "CHUNK", chunk)
    monkeypatch.setattr(board.limits, "SAMPLE_MAX", sample)
    monkeypatch.setattr(board.filters, "MAX_ROWS", cap)
    capped = 0
    filters = [{}, {"group": "warehouse"}, {"amount_max": "150000"}, {"q": "a"}, {"overdue": "1"},
               {"at_risk": "1"}, {"process": "order_flow", "amount_min": "1"}, {"element": "check_stock",
                                                                               "customer": "a"}]
    with app.app_context():
        from orderflow.web.db_session import get_session
        session = get_session()
        manager = accounts.by_username(session, "manager1")
        for extra in filters:
            for sort in board.SORTS:
                for direction in board.DIRECTIONS:
                    args = {**extra, "sort": sort, "dir": direction}
                    full = [(r.instance_id, r.task_id, r.overdue, r.at_risk)
                            for r in board.csv_rows(session, manager, board.BoardFilter.from_args(args))]
                    paged, number = [], 1
                    while True:
                        page = board.rows(session, manager, board.BoardFilter.from_args({**args, "per_page": "2",
                                                                                        "page": str(number)}))
                        assert (page.total, page.exact) == (min(len(full), cap), len(full) <= cap), args
                        paged += [(r.instance_id, r.task_id, r.overdue, r.at_risk) for r in page.rows]
                        if number >= page.pages:
                            break
                        number += 1
                    assert paged == full[:len(paged)] and len(paged) >= min(len(full), cap), args
                    if len(full) > cap:
                        capped += 1
                        with pytest.raises(InvalidInput) as beyond:
                            board.BoardFilter.from_args({**args, "per_page": "2", "page": str(number + 1)})
                        assert "page" in beyond.value.fields
    assert capped or cap > 100, "the scene has more rows than the cap for some filters"


def test_filters_round_trip_through_the_query_string():
    f = board.BoardFilter.from_args({"process": "order_flow", "amount_min": "1000", "amount_max": "2500.5",
                                     "overdue": "on", "started_from": "2025-01-31", "sort": "customer",
                                     "dir": "DESC", "page": "2", "q": "  SO-1 "})
    assert f.amount_min == 1000 and f.overdue and f.started_from == date(2025, 1, 31) and f.q == "SO-1"
    assert board.BoardFilter.from_query_string(f.query_string()) == f
    assert "page" not in f.to_args(page=1) and f.to_args(page=1)["dir"] == "desc"
    assert board.BoardFilter.from_args({}).to_args() == {}
    exact = board.BoardFilter(amount_min=0.1, amount_max=1234567.0)
    assert board.BoardFilter.from_query_string(exact.query_string()) == exact


def test_an_order_past_its_promised_date_is_late_not_merely_at_risk(scene, api: Api, clock):
    rows = items(api)
    assert not any(r["late"] for r in rows)                       # delta is promised in 3 days: at risk
    clock.advance(days=5)                                         # now its promised date has passed
    rows = items(api)
    assert {r["instance_id"] for r in rows if r["late"]} == {scene["delta"]}
    assert {r["instance_id"] for r in rows if r["at_risk"]} == {scene["delta"]}   # the filter keeps late ones
    page = api.client.get("/board", headers=api.auth("manager1")).get_data(as_text=True)
    assert page.count('data-late="1"') == 1 and "late-badge" in page


def _row_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<tr class="board-row[^"]*"\s+data-instance-id="(\d+)"', html)}


def test_the_page_opens_on_the_order_flow_and_all_processes_is_a_choice(scene, api: Api, client):
    login(client, "manager1")
    html = client.get("/board").data.decode()
    assert scene["timed"] not in _row_ids(html) and scene["alpha"] in _row_ids(html)
    assert '<option value="order_flow" selected>' in html and '<option value="all">' in html
    assert "process=order_flow" in html                            # links and the saved query keep the choice
    every = client.get("/board?process=all").data.decode()
    assert {scene["timed"], scene["alpha"]} <= _row_ids(every) and '<option value="all" selected>' in every
    assert '<input type="hidden" name="query" value="process=all">' in every    # saved as it is shown
    assert _row_ids(client.get("/board?process=timed").data.decode()) == {scene["timed"]}
    assert 'href="/board.csv?process=order_flow"' in html           # the download has the page's rows
    # the API keeps its contract: no process is every process; ``all`` says so explicitly
    assert {r["instance_id"] for r in items(api)} == {r["instance_id"] for r in items(api, process="all")}
    assert scene["timed"] in {r["instance_id"] for r in items(api)}


def test_the_opening_process_is_chosen_in_one_place():
    from orderflow.orders.keys import chosen_process
    assert chosen_process(None, ["timed", "order_flow"]) == "order_flow"
    assert chosen_process("", ["timed"]) is None                     # no order flow: every process
    assert chosen_process(None, ["timed"], one=True) == "timed"     # a page that shows one (the monitor)
    assert chosen_process("all", ["order_flow"]) is None
    assert chosen_process("all", ["order_flow"], one=True) == "order_flow"
    assert chosen_process(" timed ", ["order_flow"]) == "timed"
    f = board.BoardFilter.from_args({"process": "all"})
    assert f.process_key is None and board.BoardFilter.from_query_string(f.query_string()) == f
