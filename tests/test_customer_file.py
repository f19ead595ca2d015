"""Customer files: search the customers, one customer's orders (with on-time delivery), after-sales
cases (with the order each is about) and survey answers — domain, JSON API, pages, permissions.

Most tests build a known customer from rows written directly (orders, cases and surveys whose
processes are not the subject here); one drives a real order through the order flow."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import quote

import pytest
from sqlalchemy import select

from orderflow.core.errors import Forbidden, NotFound
from orderflow.core.models import User
from orderflow.orders import customers
from tests.support.helpers import NEW_ORDER, Api, login
from tests.support.orders import add_instance, add_task, drive

ACME = "Acme Trading Ltd"
UTC = UTC


def at(day: int, hour: int = 9, month: int = 3) -> datetime:
    return datetime(2031, month, day, hour, 0, tzinfo=UTC)


@dataclass
class Acme:
    orders: dict[str, int]
    cases: dict[str, int]


def seed_acme(app) -> Acme:
    """ACME's file, known by heart:

    orders  O1 completed 1,000, promised 03-10, shipped 03-09          on time
            O2 completed 2,000, promised 03-10, shipped 03-12          late
            O3 running     500, promised 04-01, not shipped            open
            O4 terminated (cancelled) 700                              never delivered, not counted in the value
            O5 completed   300, promised 03-10 (only on the order), shipped 03-10 23:30 UTC+8 on time (same day)
    cases   C1 return, refunded, 03-15 08:00 → 03-17 08:00 (48 h), about O1 (related_id)
            C2 exchange, running, about O2 (only the order_no its task saw)
            C3 complaint, explained, 2 h
    surveys S1 5/5 (quality 5, delivery 4, service 5), yes, "Great service", through the link, 03-20
            S2 2/5, no, "Late delivery", entered by staff for the customer, 03-22
            S3 still waiting (not an answer)
    Plus "Acme Holdings" (one order, newer) and "Beta Corp" (one order), for the search."""
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        o1 = add_instance(s, "order_flow", "SO-20310301-0001", ACME, "completed", at(1), at(9, 12),
                          outcome="completed", order_total=1000.0, promised_date=date(2031, 3, 10))
        o2 = add_instance(s, "order_flow", "SO-20310302-0001", ACME, "completed", at(2), at(12, 12),
                          outcome="completed", order_total=2000.0, promised_date=date(2031, 3, 10))
        o3 = add_instance(s, "order_flow", "SO-20310303-0001", ACME, "running", at(3),
                          order_total=500.0, promised_date=date(2031, 4, 1))
        o4 = add_instance(s, "order_flow", "SO-20310304-0001", ACME, "terminated", at(4), at(5),
                          outcome="cancelled", order_total=700.0, promised_date=date(2031, 4, 1))
        o5 = add_instance(s, "order_flow", "SO-20310305-0001", ACME, "completed", at(5), at(11),
                          outcome="completed", order_total=300.0, promised_date=date(2031, 3, 10))
        add_task(s, o1, "ship_order", completed_at=at(9), context={"promised_date": "2031-03-10"}, group="logistics")
        add_task(s, o2, "ship_order", completed_at=at(12), context={"promised_date": "2031-03-10"}, group="logistics")
        add_task(s, o3, "check_stock", status="ready", context={"promised_date": "2031-04-01"}, group="warehouse")
        add_task(s, o5, "ship_order", completed_at=datetime(2031, 3, 10, 15, 30, tzinfo=UTC), context={},
                 group="logistics")
        c1 = add_instance(s, "after_sales", "AS-20310315-001", ACME, "completed", at(15, 8), at(17, 8),
                          outcome="refunded", category="return", related_id=o1.id)
        add_task(s, c1, "review_case", completed_at=at(16),
                 context={"order_no": o1.business_key, "order_instance_id": o1.id, "case_type": "return"})
        c2 = add_instance(s, "after_sales", "AS-20310316-001", ACME, "running", at(16), category="exchange")
        add_task(s, c2, "review_case", status="ready", context={"order_no": o2.business_key})
        c3 = add_instance(s, "after_sales", "AS-20310318-001", ACME, "completed", at(18, 8), at(18, 10),
                          outcome="explained", category="complaint")
        s1 = add_instance(s, "satisfaction_survey", "SO-20310301-0001-S", ACME, "completed", at(19), at(20),
                          outcome="answered")
        add_task(s, s1, "satisfaction_survey", completed_at=at(20), via="customer_link",
                 context={"order_no": o1.business_key},
                 data={"rating": 5, "quality_rating": 5, "delivery_rating": 4, "service_rating": 5,
                       "would_recommend": "yes", "comments": "Great service"})
        s2 = add_instance(s, "satisfaction_survey", "SO-20310302-0001-S", ACME, "completed", at(21), at(22),
                          outcome="answered")
        add_task(s, s2, "satisfaction_survey", completed_at=at(22), via="on_behalf",
                 context={"order_no": o2.business_key},
                 data={"rating": 2, "would_recommend": "no", "comments": "Late delivery"})
        s3 = add_instance(s, "satisfaction_survey", "SO-20310305-0001-S", ACME, "running", at(23))
        add_task(s, s3, "satisfaction_survey", status="ready", context={"order_no": o5.business_key})
        add_instance(s, "order_flow", "SO-20310325-0001", "Acme Holdings", "running", at(25), order_total=10.0)
        add_instance(s, "order_flow", "SO-20310326-0001", "Beta Corp", "running", at(26), order_total=10.0)
        s.commit()
        return Acme(orders={"O1": o1.id, "O2": o2.id, "O3": o3.id, "O4": o4.id, "O5": o5.id},
                    cases={"C1": c1.id, "C2": c2.id, "C3": c3.id})


@pytest.fixture
def acme(app) -> Acme:
    return seed_acme(app)


def _url(name: str) -> str:
    return quote(name, safe="")


# -- the domain ----------------------------------------------------------------------------------

def test_the_file_knows_orders_cases_surveys_and_totals(app, acme: Acme):
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        manager = s.scalar(select(User).where(User.username == "manager1"))
        f = customers.customer_file(s, manager, f"  {ACME} ")
    assert f.name == ACME
    by_number = {o.number: o for o in f.orders}
    assert [o.number for o in f.orders] == ["SO-20310305-0001", "SO-20310304-0001", "SO-20310303-0001",
                                            "SO-20310302-0001", "SO-20310301-0001"]     # newest first
    assert {n: o.on_time for n, o in by_number.items()} == {
        "SO-20310301-0001": "yes", "SO-20310302-0001": "no", "SO-20310303-0001": "open",
        "SO-20310304-0001": None, "SO-20310305-0001": "yes"}
    assert by_number["SO-20310302-0001"].shipped_at == at(12)
    assert (f.order_count, f.open_orders, f.order_value) == (5, 1, 3800.0)
    assert (f.delivered, f.on_time.part, f.on_time.whole) == (3, 2, 3)
    assert (f.returns.part, f.returns.whole) == (2, 3)          # return + exchange per delivered order
    cases = {c.number: c for c in f.cases}
    assert [c.number for c in f.cases] == ["AS-20310318-001", "AS-20310316-001", "AS-20310315-001"]
    c1, c2, c3 = cases["AS-20310315-001"], cases["AS-20310316-001"], cases["AS-20310318-001"]
    assert (c1.type, c1.status, c1.outcome, c1.close_seconds) == ("return", "completed", "refunded", 48 * 3600)
    assert (c1.order_no, c1.order_id) == ("SO-20310301-0001", acme.orders["O1"])
    assert (c2.type, c2.close_seconds, c2.order_no, c2.order_id) == ("exchange", None, "SO-20310302-0001",
                                                                      acme.orders["O2"])   # found by its number
    assert (c3.close_seconds, c3.order_no, c3.order_id) == (2 * 3600, None, None)
    assert [(a.rating, a.via, a.comments) for a in f.surveys] == [(2, "on_behalf", "Late delivery"),
                                                                  (5, "customer_link", "Great service")]
    great = f.surveys[1]
    assert (great.quality_rating, great.delivery_rating, great.service_rating) == (5, 4, 5)
    assert great.would_recommend == "yes"
    assert great.order_no == "SO-20310301-0001" and great.number == "SO-20310301-0001-S"
    assert f.average_rating == 3.5 and f.survey_count == 2


def test_search_matches_any_case_and_counts(app, acme: Acme):
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        sales = s.scalar(select(User).where(User.username == "sales1"))
        found = customers.search(s, sales, "ACME")
        assert [(c.name, c.orders, c.open_orders, c.cases) for c in found] == [
            ("Acme Holdings", 1, 1, 0), (ACME, 5, 1, 3)]            # the newest order first
        assert found[1].last_order_at == at(5)
        assert [c.name for c in customers.search(s, sales, "trading")] == [ACME]
        # a name that starts with the query comes before one that only contains it
        assert next(c.name for c in customers.search(s, sales, "co")) == "Beta Corp"
        assert customers.search(s, sales, "100%") == [] and customers.search(s, sales, "_") == []
        assert len(customers.search(s, sales, "", limit=2)) == 2
        bank = s.scalar(select(User).where(User.username == "bank1"))
        with pytest.raises(Forbidden):
            customers.search(s, bank, "acme")
        with pytest.raises(Forbidden):
            customers.customer_file(s, bank, ACME)
        with pytest.raises(NotFound):
            customers.customer_file(s, sales, "Acme")                # a part of a name is not a customer


# -- the JSON API ------------------------------------------------------------------------------

def test_api_search_and_file(api: Api, acme: Acme):
    resp = api.get("sales1", "/api/v1/customers?q=acme%20t")
    assert resp.status_code == 200
    assert resp.json["items"] == [{"name": ACME, "orders": 5, "open_orders": 1, "cases": 3,
                                   "last_order_at": "2031-03-05T09:00:00+00:00"}]
    resp = api.get("manager1", f"/api/v1/customers/{_url(ACME)}")
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["totals"] == {
        "orders": 5, "open_orders": 1, "cases": 3, "survey_answers": 2, "order_value": 3800.0, "delivered": 3,
        "on_time": {"part": 2, "whole": 3, "rate": 0.6667},
        "returns": {"part": 2, "whole": 3, "rate": 0.6667, "types": ["return", "exchange"]},
        "average_rating": 3.5}
    first = body["orders"][-1]
    assert first == {"id": acme.orders["O1"], "number": "SO-20310301-0001", "status": "completed",
                     "outcome": "completed", "total": 1000.0, "promised_date": "2031-03-10",
                     "started_at": "2031-03-01T09:00:00+00:00", "ended_at": "2031-03-09T12:00:00+00:00",
                     "shipped_at": "2031-03-09T09:00:00+00:00", "on_time": "yes"}
    refund = next(c for c in body["cases"] if c["number"] == "AS-20310315-001")
    assert refund == {"id": acme.cases["C1"], "number": "AS-20310315-001", "type": "return", "status": "completed",
                      "outcome": "refunded", "opened_at": "2031-03-15T08:00:00+00:00",
                      "closed_at": "2031-03-17T08:00:00+00:00", "close_seconds": 172800.0,
                      "order_no": "SO-20310301-0001", "order_id": acme.orders["O1"]}
    assert [(a["rating"], a["would_recommend"], a["via"]) for a in body["survey_answers"]] == [
        (2, "no", "on_behalf"), (5, "yes", "customer_link")]
    assert body["truncated"] == {"orders": False, "cases": False, "survey_answers": False}


def test_unknown_customer_is_404_with_a_clear_message(api: Api, acme: Acme, client):
    resp = api.get("manager1", "/api/v1/customers/Nobody%20Ltd")
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "not_found"
    assert resp.json["error"]["message"] == \
        "There is no customer named “Nobody Ltd”; search the customers to find the name."
    login(client, "sales1")
    page = client.get("/customers/Nobody%20Ltd")
    assert page.status_code == 404 and "Nobody Ltd" in page.data.decode()
    assert api.get("manager1", "/api/v1/customers?limit=0").status_code == 422
    assert api.get("manager1", "/api/v1/customers?q=" + "x" * 201).status_code == 422


def test_who_may_see_customer_files(api: Api, acme: Acme, client):
    for user in ("sales1", "warehouse1", "manager1", "admin"):
        assert api.get(user, "/api/v1/customers?q=acme").status_code == 200, user
        assert api.get(user, f"/api/v1/customers/{_url(ACME)}").status_code == 200, user
    for user in ("bank1", "owner1"):          # integration; a process owner alone is no staff
        for path in ("/api/v1/customers?q=acme", f"/api/v1/customers/{_url(ACME)}", "/customers",
                     f"/customers/{_url(ACME)}"):
            resp = api.get(user, path)
            assert resp.status_code == 403, (user, path)
    refused = api.get("bank1", "/api/v1/customers/Nobody")        # 403 before 404: no probing for names
    assert refused.status_code == 403 and "see customer files" in refused.json["error"]["message"]
    assert client.get("/api/v1/customers").status_code == 401
    assert client.get("/customers").status_code == 302 and "/login" in client.get("/customers").location
    login(client, "sales1")
    assert 'id="nav-customers"' in client.get("/inbox").data.decode()
    other = client.application.test_client()
    login(other, "owner1")
    assert 'id="nav-customers"' not in other.get("/inbox").data.decode()


# -- the pages --------------------------------------------------------------------------------

def test_search_page_lists_and_links(client, acme: Acme):
    login(client, "sales1")
    html = client.get("/customers?q=acme").data.decode()
    rows = re.findall(r'<tr class="customer-row" data-customer="([^"]+)">', html)
    assert rows == ["Acme Holdings", ACME]
    assert f'href="/customers/{quote(ACME)}"' in html
    assert re.search(r'data-customer="Acme Trading Ltd">.*?customer-orders">5<.*?customer-open">1<.*?'
                     r'customer-cases">3<', html, re.S)
    empty = client.get("/customers?q=zzz").data.decode()
    assert 'id="customers-empty"' in empty and "zzz" in empty
    assert "Beta Corp" in client.get("/customers").data.decode()       # no query: everyone, newest first


def test_file_page_shows_every_section(client, acme: Acme):
    login(client, "manager1")
    resp = client.get(f"/customers/{quote(ACME)}")
    assert resp.status_code == 200
    html = resp.data.decode()
    assert f'<h1 class="h3 mb-3" id="customer-name">{ACME}</h1>' in html
    on_time = dict(re.findall(r'<tr class="order-row" data-instance-id="(\d+)" data-on-time="([a-z]*)">', html))
    assert on_time == {str(acme.orders["O1"]): "yes", str(acme.orders["O2"]): "no", str(acme.orders["O3"]): "open",
                       str(acme.orders["O4"]): "", str(acme.orders["O5"]): "yes"}
    for key, order_id in acme.orders.items():
        assert f'href="/orders/{order_id}"' in html, key
    for key, case_id in acme.cases.items():
        assert f'href="/orders/{case_id}"' in html, key
    fact = re.search(r'id="fact-on-time">.*?fact-value">([^<]+)<', html, re.S).group(1)
    assert fact.strip() == "66.7 %"
    assert "3,800.00" in html
    assert re.search(r'id="fact-returns">.*?fact-value">\s*66.7 %', html, re.S)
    refund = re.search(rf'<tr class="case-row" data-instance-id="{acme.cases["C1"]}" data-type="return">(.*?)</tr>',
                       html, re.S).group(1)
    assert "Refunded" in refund and "2 d 0 h" in refund
    assert f'<a href="/orders/{acme.orders["O1"]}">SO-20310301-0001</a>' in refund
    surveys = re.findall(r'<tr class="survey-row" data-task-id="\d+" data-rating="(\d)">(.*?)</tr>', html, re.S)
    assert [r for r, _ in surveys] == ["2", "5"]
    assert "Late delivery" in surveys[0][1] and 'data-via="on_behalf"' in surveys[0][1]
    assert "Great service" in surveys[1][1] and 'data-via="customer_link"' in surveys[1][1]
    assert 'data-rating="4"' in surveys[1][1]                        # the delivery aspect


def test_names_are_escaped_and_may_hold_slashes(app, api: Api, client):
    db = app.extensions["orderflow.db"]
    name = "A/B <script>alert(1)</script> & Co"
    with db.session() as s:
        add_instance(s, "order_flow", "SO-20310401-0001", name, "running", at(1, month=4))
        s.commit()
    assert api.get("sales1", f"/api/v1/customers/{quote(name)}").json["name"] == name
    login(client, "sales1")
    html = client.get(f"/customers/{quote(name)}").data.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    search = client.get("/customers?q=%3Cscript").data.decode()
    assert "<script>alert(1)" not in search and 'href="/customers/A/B%20%3Cscript%3E' in search


def test_board_links_customers_and_has_a_customer_search(api: Api, client):
    api.start_order()
    login(client, "manager1")
    html = client.get("/board").data.decode()
    assert f'href="/customers/{quote(NEW_ORDER["customer"])}" class="link-body-emphasis customer-link"' in html
    assert re.search(r'<form method="get" action="/customers"[^>]*id="board-customer-search"', html)


# -- a real order ------------------------------------------------------------------------------

def test_a_delivered_order_of_the_real_flow_is_judged_on_time(api: Api, client):
    started = api.start_order(customer="Real Flow Trading")
    drive(api, started["id"])
    body = api.get("manager1", f"/api/v1/customers/{quote('Real Flow Trading')}").json
    assert [o["number"] for o in body["orders"]] == [started["business_key"]]
    order = body["orders"][0]
    assert order["status"] == "completed" and order["shipped_at"] is not None
    assert order["on_time"] == "yes"                    # promised 60 days ahead, shipped today
    assert body["totals"]["delivered"] == 1 and body["totals"]["on_time"] == {"part": 1, "whole": 1, "rate": 1.0}
    assert body["totals"]["order_value"] == 200 * 85.5
