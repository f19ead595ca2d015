"""A sales manager's day in a real browser (Debian chromium via Playwright), in English and Chinese,
at a phone's width and a desk's (issue 15, parts 3-5): the order page says what each step decided,
every time reads one way with its zone, notifications speak the reader's language (step and group
by name), one click marks them all read, and the navigation offers only what the reader may do."""
from __future__ import annotations

import re

import pytest

from tests.support.browser import assert_fits_the_width, signed_in, skip_without_chromium
from tests.support.helpers import Api, FakeClock, run_jobs

pytestmark = skip_without_chromium

#: how every time is shown to people (core/timefmt.py): the reader's zone, here the company's
SHOWN_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\+8\b")
#: what must never reach a reader: ISO instants, US-style dates, microseconds
RAW_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\b\d{1,2}/\d{1,2}/\d{4}\b|\d{2}:\d{2}:\d{2}\.\d+")

WORDS = {
    "en": {"step": "Review order", "other": "订单审核", "decided": "Stock sufficient", "group": "Sales"},
    "zh": {"step": "订单审核", "other": "Review order", "decided": "库存充足", "group": "运营商市场部"},
}


@pytest.fixture
def day(live_server):
    """An order past its review's time limit: the first step decided with a comment, the sales
    managers told, then reminded in their digest."""
    app, base = live_server
    clock = FakeClock()
    app.extensions["orderflow.platform"].clock = clock
    api = Api(app.test_client())
    order = api.start_order()
    check = order["open_tasks"][0]
    assert api.complete("warehouse1", check["id"], "sufficient", comment="all in stock").status_code == 200
    clock.advance(days=1)
    run_jobs(app)
    clock.advance(hours=5)
    run_jobs(app)
    return base, order


def _page(browser, base: str, lang: str, width: int):
    return signed_in(browser, base, "sales_manager1", "zh-CN" if lang == "zh" else "en-GB", width)


def _visible_text(page) -> str:
    return page.locator("#main").inner_text()


@pytest.mark.parametrize("lang, width", [("en", 390), ("en", 1400), ("zh", 390), ("zh", 1400)])
def test_a_sales_managers_day(day, browser, lang, width):
    base, order = day
    words = WORDS[lang]
    context, page = _page(browser, base, lang, width)
    try:
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("a[href='/orders/new']").count() == 0, "no New order for who may not start one"

        page.goto(f"{base}/notifications")
        assert_fits_the_width(page)
        text = _visible_text(page)
        assert words["step"] in text and words["other"] not in text, "the step by its name, in the reader's language"
        assert words["group"] in text and not re.search(r"[(（]sales[)）]", text), "the group by its name, not its id"
        assert SHOWN_TIME.search(text) and not RAW_TIME.search(text), text
        assert page.locator(".notification.unread").count() == 2          # the notice and the digest
        page.locator("#mark-all-read button").click()
        page.wait_for_function("document.querySelectorAll('.notification.unread').length === 0")
        assert page.locator("#unread-count").is_hidden()

        page.goto(f"{base}/orders/{order['id']}")
        assert_fits_the_width(page)
        text = _visible_text(page)
        record = page.locator("tr", has_text="all in stock")
        assert record.count() >= 1, "the step's own record: what was decided and why"
        assert words["decided"] in record.first.inner_text()
        assert SHOWN_TIME.search(text) and not RAW_TIME.search(text), text
    finally:
        context.close()
