"""Where orders wait: the monitor API agrees with the tasks the API lists."""
from __future__ import annotations

from collections import Counter

from tests.support.helpers import Api


def test_badge_counts_equal_the_listed_tasks(app, api: Api, clock):
    orders = [api.start_order() for _ in range(3)]
    api.complete("warehouse1", orders[0]["open_tasks"][0]["id"])      # one moves on to review_order
    clock.advance(hours=3, minutes=5)                                 # check_stock's 3 h limit passes
    items = api.get("manager1", "/api/v1/monitor/elements?process=order_flow").json
    tasks = api.get("manager1", "/api/v1/tasks?scope=all&limit=500").json["items"]
    assert {i["element_id"]: i["waiting"] for i in items} == dict(Counter(t["element_id"] for t in tasks))
    by_id = {i["element_id"]: i for i in items}
    assert by_id["check_stock"]["waiting"] == 2 and by_id["check_stock"]["overdue"] == 2
    assert by_id["check_stock"]["group"] == "warehouse" and by_id["check_stock"]["name"].startswith("Check stock")
    assert by_id["review_order"]["overdue"] == 1                       # its 2 h limit passed too
    assert by_id["check_stock"]["oldest_ready_at"] <= by_id["review_order"]["oldest_ready_at"]
    assert api.get("manager1", "/api/v1/monitor/elements?process=order_flow&version=1").json == items
    assert api.get("manager1", "/api/v1/monitor/elements?process=order_flow&version=9").status_code == 404


def test_monitor_needs_a_manager_and_a_process(api: Api):
    assert api.get("sales1", "/api/v1/monitor/elements?process=order_flow").status_code == 403
    assert api.get("manager1", "/api/v1/monitor/elements").status_code == 422
    assert api.get("manager1", "/api/v1/monitor/elements?process=order_flow&version=x").status_code == 422


def test_the_order_page_shows_the_sla_clock_and_who_to_reach(app, api: Api, clock):
    from tests.support.helpers import login
    started = api.start_order()
    client = app.test_client()
    login(client, "manager1")
    page = client.get(f"/orders/{started['id']}").data.decode()
    assert "2 h 59 min left" in page or "3 h 0 min left" in page
    assert "warehouse1@example.com" in page and "warehouse2@example.com" in page
    clock.advance(hours=4)
    assert "Overdue by 1 h" in client.get(f"/orders/{started['id']}").data.decode()
