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
