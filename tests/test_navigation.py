"""Navigation by permission: the navbar offers what its reader may do; the managers' pages open
on the order flow."""
from __future__ import annotations

from tests.support.helpers import login


def test_new_order_is_offered_only_to_those_who_may_start_an_order(app):
    offered = {}
    for user in ("sales1", "warehouse1", "finance1", "manager1", "vp1", "admin"):
        client = app.test_client()
        login(client, user)
        offered[user] = 'id="nav-new-order"' in client.get("/inbox").data.decode()
        landing = client.get("/orders/new", follow_redirects=True)   # offered: the form; not offered: a 403
        assert (landing.status_code == 200) is offered[user], (user, landing.status_code)
    assert offered["sales1"] and not offered["warehouse1"] and not offered["finance1"]


def test_the_diagram_page_opens_on_the_order_flow(app):
    client = app.test_client()
    login(client, "manager1")
    page = client.get("/monitor").data.decode()
    assert '<option value="order_flow" selected>' in page   # not the first process by name (after_sales)
    assert '<option value="after_sales">' in page


def test_the_start_button_speaks_of_orders_only_on_the_order_flow(app):
    client = app.test_client()
    login(client, "sales1")
    assert ">Submit order</button>" in client.get("/processes/order_flow/start").get_data(as_text=True)
    client = app.test_client()
    login(client, "service1")
    case = client.get("/processes/after_sales/start")
    assert case.status_code == 200 and ">Submit</button>" in case.get_data(as_text=True)


def test_messages_name_groups_as_people_do_in_their_language(api):
    order = api.start_order()
    task = api.task(order["id"], "check_stock")                 # the warehouse's step
    for language, word, raw in (("en", "'Warehouse' group", "'warehouse'"), ("zh", "仓库", "'warehouse'")):
        refused = api.client.post(f"/api/v1/tasks/{task['id']}/claim",
                                  headers={**api.auth("sales1"), "Accept-Language": language})
        assert refused.status_code == 403
        message = refused.json["error"]["message"]
        assert word in message and raw not in message, message
