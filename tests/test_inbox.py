"""The inbox page: pages of ORDERFLOW_PAGE_SIZE tasks, counts over all of them."""
from __future__ import annotations

from tests.support.helpers import Api, login


def test_the_inbox_is_paged_and_counts_every_task(app, client, api: Api, clock):
    app.config["ORDERFLOW_PAGE_SIZE"] = 2
    for _ in range(3):
        api.start_order()
    clock.advance(days=2)  # every stock check is overdue now (time limit 3 h)
    login(client, "warehouse1")
    first = client.get("/inbox").get_data(as_text=True)
    assert first.count("data-task-id=") == 2
    assert "3 open tasks" in first and "3 overdue" in first and 'rel="next"' in first
    last = client.get("/inbox?page=2").get_data(as_text=True)
    assert "3 open tasks" in last and "2 / 2" in last
    assert client.get("/inbox?page=999").get_data(as_text=True).count("2 / 2") == 1  # clamped
    assert client.get("/inbox?page=abc").status_code == 200


# -- issue 15: an inbox to steer by --------------------------------------------

def _set(app, table, ident: int, **values) -> None:
    """Change a row behind the service's back (a customer step, a promised date)."""
    from sqlalchemy import update
    with app.extensions["orderflow.db"].session() as session:
        session.execute(update(table).where(table.id == ident).values(**values))
        session.commit()


def _ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.json
    return [t["instance_id"] for t in resp.json["items"]]


def test_the_api_filters_searches_and_sorts_the_inbox(app, api: Api, clock):
    small = api.start_order(lines=[{"product": "TV-32", "spec": "s", "quantity": 10, "unit_price": 10}])
    big = api.start_order(lines=[{"product": "TV-32", "spec": "s", "quantity": 1000, "unit_price": 100}])
    other = api.start_order(customer="Guangzhou 100% Lighting_Co")
    get = lambda query: api.get("warehouse1", "/api/v1/tasks?" + query)  # noqa: E731
    everyone = {small["id"], big["id"], other["id"]}
    assert set(_ids(get(""))) == everyone
    assert _ids(get("sort=-value"))[:2] == [big["id"], other["id"]]
    assert _ids(get("sort=value"))[0] == small["id"]
    assert _ids(get("sort=-age")) == sorted(everyone, reverse=True)  # ties broken by id, newest first
    assert _ids(get("customer=100%25 lighting_co")) == [other["id"]]   # case-insensitive, % and _ literal
    assert _ids(get("customer=100%25%25")) == []
    key = api.get("manager1", f"/api/v1/instances/{big['id']}").json["business_key"]
    assert _ids(get("q=" + key[-4:])) == [big["id"]] and len(_ids(get("q=" + key[:3].lower()))) == 3
    assert _ids(get("q=%25")) == [] and _ids(get("q=_")) == []
    assert _ids(get("step=check_stock&process=order_flow")) and _ids(get("step=nowhere")) == []
    assert _ids(get("overdue=1")) == []
    clock.advance(hours=4)  # past the stock check's 3 h limit
    assert set(_ids(get("overdue=1"))) == everyone
    first = get("").json["items"][0]
    assert {"customer", "order_total", "promised_date", "late_days", "customer_step"} <= set(first)
    api.post("warehouse1", f"/api/v1/tasks/{first['id']}/claim")
    assert _ids(get("claimed=me")) == [first["instance_id"]]
    assert len(_ids(get("claimed=nobody"))) == 2


def test_unknown_filter_values_are_refused_naming_the_parameter(api: Api, client):
    for query, name in (("sort=price", "sort"), ("due=tomorrow", "due"), ("waiting=bank", "waiting"),
                        ("claimed=you", "claimed"), ("overdue=maybe", "overdue"), ("scope=everyone", "scope"),
                        ("q=" + "x" * 201, "q")):
        resp = api.get("warehouse1", "/api/v1/tasks?" + query)
        assert resp.status_code == 422, query
        assert name in resp.json["error"]["fields"] and f"'{name}'" in resp.json["error"]["message"]
    login(client, "warehouse1")
    assert client.get("/inbox?sort=price").status_code == 422
    client.set_cookie("orderflow_locale", "zh")
    assert client.get("/inbox?sort=price", headers={"Accept-Language": "zh"}).status_code == 422


def test_quick_counts_come_from_one_query_and_customer_steps_are_not_staff_work(app, api: Api, clock):
    from orderflow.core.models import HumanTask
    started = [api.start_order() for _ in range(3)]
    clock.advance(hours=4)
    waiting = api.open_tasks(started[0]["id"])[0]
    _set(app, HumanTask, waiting["id"], customer_step=True)
    counts = api.get("warehouse1", "/api/v1/tasks/counts").json
    assert counts == {"total": 3, "staff": 2, "overdue": 3, "today": counts["today"], "waiting": 1, "mine": 0,
                      "capped": []}
    assert _ids(api.get("warehouse1", "/api/v1/tasks?waiting=customer")) == [started[0]["id"]]
    assert started[0]["id"] not in _ids(api.get("warehouse1", "/api/v1/tasks?waiting=staff"))


def test_due_today_is_the_company_day(app, api: Api, clock):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from orderflow.core.models import HumanTask
    started = api.start_order()
    task = api.open_tasks(started["id"])[0]
    zone = ZoneInfo(app.config["ORDERFLOW_DISPLAY_TIMEZONE"])
    local_noon = datetime.combine(clock().astimezone(zone).date(), datetime.min.time(), zone) + timedelta(hours=12)
    clock.value = local_noon.astimezone(clock().tzinfo)
    _set(app, HumanTask, task["id"], due_at=local_noon + timedelta(hours=11, minutes=59))   # 23:59 there
    assert _ids(api.get("warehouse1", "/api/v1/tasks?due=today")) == [started["id"]]
    _set(app, HumanTask, task["id"], due_at=local_noon + timedelta(hours=12, minutes=1))    # tomorrow there
    assert _ids(api.get("warehouse1", "/api/v1/tasks?due=today")) == []


def test_the_page_shows_filters_counts_promised_date_value_and_lateness(app, client, api: Api, clock):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from orderflow.core.models import HumanTask, Instance
    started = [api.start_order() for _ in range(2)]
    _set(app, HumanTask, api.open_tasks(started[1]["id"])[0]["id"], customer_step=True)
    company_today = clock().astimezone(ZoneInfo(app.config["ORDERFLOW_DISPLAY_TIMEZONE"])).date()
    for order in started:  # production must see an order already past its promised delivery
        _set(app, Instance, order["id"], promised_date=company_today - timedelta(days=2))
    login(client, "warehouse1")
    page = client.get("/inbox").get_data(as_text=True)
    assert 'id="inbox-filter"' in page and 'data-quick="overdue"' in page
    assert "1 open task" in page and "1 waiting on the customer" in page
    assert "late by 2 d" in page and "17,100.00" in page and 'data-column="promised"' in page
    assert page.count("data-customer-step") == 1 and "waiting-customer" in page
    only = client.get("/inbox?waiting=customer").get_data(as_text=True)
    assert only.count("data-task-id=") == 1 and 'aria-current="true"' in only
    assert client.get("/inbox?q=no-such-order").get_data(as_text=True).count("data-task-id=") == 0


def test_columns_are_chosen_per_user(client, api: Api):
    api.start_order()
    resp = api.client.put("/api/v1/tasks/columns", headers=api.auth("warehouse1"), json={"columns": ["late", "due"]})
    assert resp.status_code == 200 and resp.json["columns"] == ["due", "late"]
    assert api.get("warehouse1", "/api/v1/tasks/columns").json["columns"] == ["due", "late"]
    assert api.get("warehouse2", "/api/v1/tasks/columns").json["columns"] != ["due", "late"]
    bad = api.client.put("/api/v1/tasks/columns", headers=api.auth("warehouse1"), json={"columns": ["secret"]})
    assert bad.status_code == 422 and "columns" in bad.json["error"]["fields"]
    token = login(client, "warehouse1")
    page = client.get("/inbox").get_data(as_text=True)
    assert 'data-column="late"' in page and 'data-column="value"' not in page
    client.post("/inbox/columns", data={"csrf_token": token, "columns": ["value"], "next": "/inbox"})
    page = client.get("/inbox").get_data(as_text=True)
    assert 'data-column="value"' in page and 'data-column="late"' not in page


def test_saved_filters_are_private_or_shared_with_one_group(client, api: Api):
    def save(user, name, group=None):
        return api.post(user, "/api/v1/tasks/filters", {"name": name, "query": "overdue=1&sort=-value&page=3",
                                                        "group": group})
    mine = save("warehouse1", "Late big ones")
    assert mine.status_code == 201 and mine.json["query"] == "overdue=1&sort=-value" and mine.json["group"] is None
    shared = save("warehouse1", "Warehouse: late", "warehouse")
    assert shared.status_code == 201
    assert save("warehouse1", "Not mine", "finance").status_code == 403
    assert api.post("warehouse1", "/api/v1/tasks/filters", {"name": "x", "query": "sort=price"}).status_code == 422
    names = lambda user: [f["name"] for f in api.get(user, "/api/v1/tasks/filters").json["items"]]  # noqa: E731
    assert names("warehouse1") == ["Late big ones", "Warehouse: late"]
    assert names("warehouse2") == ["Warehouse: late"] and names("finance1") == []
    delete = lambda user, ident: api.client.delete(f"/api/v1/tasks/filters/{ident}",  # noqa: E731
                                                   headers=api.auth(user))
    assert delete("warehouse2", shared.json["id"]).status_code == 403
    assert delete("finance1", shared.json["id"]).status_code == 404
    assert delete("warehouse1", shared.json["id"]).status_code == 204
    assert names("warehouse2") == []
    token = login(client, "warehouse1")
    resp = client.post("/inbox/filters", data={"csrf_token": token, "name": "Today", "query": "due=today",
                                               "group": "warehouse"})
    assert resp.status_code == 302 and "due=today" in resp.headers["Location"]
    assert "Today" in client.get("/inbox").get_data(as_text=True)
    assert "Today" in names("warehouse2")


def test_inbox_and_board_filters_keep_apart(app, api: Api):
    from orderflow.core.models import User
    from orderflow.orders import board
    assert api.post("manager1", "/api/v1/tasks/filters", {"name": "Late", "query": "overdue=1"}).status_code == 201
    with app.extensions["orderflow.db"].session() as session:
        from sqlalchemy import select
        manager = session.scalar(select(User).where(User.username == "manager1"))
        assert board.list_filters(session, manager) == []
        board.save_filter(session, manager, "Late", "overdue=1&sort=order_total")
        session.commit()
    items = api.get("manager1", "/api/v1/tasks/filters").json["items"]
    assert [(f["name"], f["query"]) for f in items] == [("Late", "overdue=1")]


def test_counts_stop_at_the_cap_and_say_more_than(app, client, api: Api, clock, monkeypatch):
    """Past COUNT_CAP the counts, and the page's total, read at most COUNT_CAP + 1 tasks each and say
    "more than"; below it they are exact, however the quick filters split the tasks."""
    from orderflow.core.models import HumanTask
    from orderflow.workflow import inbox
    app.config["ORDERFLOW_PAGE_SIZE"] = 2
    started = [api.start_order() for _ in range(4)]
    clock.advance(hours=4)                                   # all four stock checks overdue
    _set(app, HumanTask, api.open_tasks(started[0]["id"])[0]["id"], customer_step=True)
    monkeypatch.setattr(inbox, "COUNT_CAP", 3)
    counts = api.get("warehouse1", "/api/v1/tasks/counts").json
    capped = set(counts.pop("capped"))
    assert counts == {"total": 3, "staff": 3, "overdue": 3, "today": min(counts["today"], 3), "waiting": 1, "mine": 0}
    assert capped - {"today"} == {"overdue", "total"}      # 4 tasks, 4 overdue; 3 staff and 1 waiting: exact
    login(client, "warehouse1")
    page = client.get("/inbox").get_data(as_text=True)
    assert "3 open tasks" in page and "more than 3 overdue" in page and "1 waiting on the customer" in page
    assert 'data-quick="">All <span class="badge text-bg-light">3+</span>' in page
    assert "1 / 2" in page                                   # pages stop at the cap: 3 tasks, 2 a page
    assert "超过 3 项逾期" in client.get("/inbox", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
