"""Each step's own record: what every completion submitted is kept per step and shown in the order
page's timeline and the API, while the order's data stays the merged view (where a later step's
comment replaces an earlier one's)."""
from __future__ import annotations

import html
import re

from tests.support.helpers import Api, login


def test_the_timeline_says_what_each_step_decided(app, api: Api):
    order = api.start_order()
    stock = api.task(order["id"], "check_stock")
    done = api.complete("warehouse1", stock["id"], "shortage", shortage_items="TV-32: 4 short, restock Friday",
                        comment="chased the supplier by phone")
    assert done.status_code == 200, done.json
    detail = api.get("manager1", f"/api/v1/instances/{order['id']}").json
    [record] = [h for h in detail["history"] if h["element_id"] == "check_stock"]
    assert record["data"]["decision"] == "shortage" and record["data"]["comment"] == "chased the supplier by phone"

    client = app.test_client()
    login(client, "manager1")
    page = html.unescape(client.get(f"/orders/{order['id']}").get_data(as_text=True))
    found = re.search(rf'<td class="small step-record" data-task-id="{stock["id"]}">(.*?)</td>', page, re.S)
    cell = found.group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", cell).split())
    assert "Decision: Shortage" in text                               # the choice's label, not its value
    assert "TV-32: 4 short, restock Friday" in text and "chased the supplier by phone" in text
    assert "order_no" not in cell and "Lines" not in text              # the facts it showed are not its record

    client.post("/language", data={"lang": "zh", "csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', page).group(1)})
    chinese = html.unescape(client.get(f"/orders/{order['id']}").get_data(as_text=True))
    assert "决定:" in chinese and "库存不足" in chinese
