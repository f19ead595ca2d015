"""One clock: every time people read — pages, mails, notifications — is formatted by one helper
(orderflow/core/timefmt.py) in the company's zone or the reader's own, always naming the zone."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from orderflow.core import timefmt
from orderflow.core.models import Mail, User
from tests.support.customer_links import CUSTOMER_LANE, FACTS
from tests.support.helpers import login


def test_a_time_names_its_zone():
    moment = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
    assert timefmt.at(moment, timefmt.zone_named("Asia/Shanghai")) == "2026-12-06 18:30 UTC+8"
    assert timefmt.at(moment, timefmt.zone_named("Asia/Kolkata")) == "2026-12-06 16:00 UTC+5:30"
    assert timefmt.at(moment, timefmt.zone_named("America/New_York")) == "2026-12-06 05:30 UTC-5"
    assert timefmt.at(moment, timefmt.zone_named("UTC")) == "2026-12-06 10:30 UTC"
    assert timefmt.at(moment, timefmt.zone_named("UTC"), "%Y-%m-%d") == "2026-12-06"   # a date has no zone
    assert timefmt.zone_named("Not/AZone") is None and timefmt.zone_named("../etc/passwd") is None


def test_the_customers_mail_and_page_give_the_same_expiry(app, api):
    deployed = api.client.post("/api/v1/processes", data=CUSTOMER_LANE.encode(),
                               headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert deployed.status_code == 201, deployed.json
    assert api.post("admin", "/api/v1/processes/receipt_only/instances", {"data": FACTS}).status_code == 201
    with app.extensions["orderflow.db"].session() as s:
        mail = s.scalars(select(Mail).where(Mail.to == "buyer@acme.example")).one()
    in_mail = re.search(r"until (\d{4}-\d\d-\d\d \d\d:\d\d UTC[+-]?[\d:]*)", mail.body).group(1)
    assert in_mail.endswith("UTC+8")                             # the company's zone (Asia/Shanghai)
    path = re.search(r"http://[^/]+(/c/\S+)", mail.body).group(1)
    page = html.unescape(app.test_client().get(path).get_data(as_text=True))
    assert in_mail in page


@pytest.mark.parametrize("zone, label", [(None, "UTC+8"), ("Europe/Berlin", "UTC+1")])
def test_pages_show_the_readers_zone(app, api, zone, label):
    order = api.start_order()
    with app.extensions["orderflow.db"].session() as s:
        s.scalar(select(User).where(User.username == "manager1")).time_zone = zone
        s.commit()
    client = app.test_client()
    login(client, "manager1")
    page = client.get(f"/orders/{order['id']}").get_data(as_text=True)
    assert f'data-time-zone="{zone or "Asia/Shanghai"}"' in page      # what the page's scripts format in
    shown = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC[+-]?[\d:]*", page)
    assert shown and all(t.endswith(label) for t in shown), shown


def test_a_person_chooses_their_zone_and_a_wrong_one_is_refused(app):
    client = app.test_client()
    login(client, "vp1")
    form = client.get("/me").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert "Asia/Shanghai" in form and '<option value="Europe/Berlin">' in form
    wrong = client.post("/me", data={"csrf_token": token, "time_zone": "Mars/Olympus"})
    assert wrong.status_code == 422 and "is not a time zone" in html.unescape(wrong.get_data(as_text=True))
    saved = client.post("/me", data={"csrf_token": token, "time_zone": "Europe/Berlin"}, follow_redirects=True)
    assert saved.status_code == 200 and 'data-time-zone="Europe/Berlin"' in saved.get_data(as_text=True)
    with app.extensions["orderflow.db"].session() as s:
        assert s.scalar(select(User.time_zone).where(User.username == "vp1")) == "Europe/Berlin"
    back = client.post("/me", data={"csrf_token": token, "time_zone": ""}, follow_redirects=True)
    assert 'data-time-zone="Asia/Shanghai"' in back.get_data(as_text=True)   # the company's again
