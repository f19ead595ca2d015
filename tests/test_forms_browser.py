"""Forms that fit the step, in a real browser (Debian chromium): show-if fields appear and go
as one chooses, values stay after an error, a task someone else holds is read-only; in English
and Chinese, at phone (390 px) and laptop (1400 px) width, with no sideways scrolling."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import PATIENCE_MS, assert_fits_the_width, skip_without_chromium
from tests.support.browser import login as sign_in
from tests.support.helpers import NEW_ORDER, Api

pytestmark = skip_without_chromium

SIZES = [("en", 390), ("en", 1400), ("zh", 390), ("zh", 1400)]


@pytest.fixture
def open_page(browser):
    made = []

    def make(lang: str, width: int):
        context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-GB",
                                      extra_http_headers={"Accept-Language": "zh-CN" if lang == "zh" else "en"},
                                      viewport={"width": width, "height": 900})
        context.set_default_timeout(PATIENCE_MS)
        expect.set_options(timeout=PATIENCE_MS)
        made.append(context)
        return context.new_page()

    yield make
    for context in made:
        context.close()


def no_sideways_scroll(page) -> None:
    assert_fits_the_width(page)


@pytest.mark.parametrize("lang, width", SIZES)
def test_items_short_shows_only_on_a_shortage(live_server, open_page, lang, width):
    app, base = live_server
    task = Api(app.test_client()).start_order()["open_tasks"][0]
    page = open_page(lang, width)
    sign_in(page, base, "warehouse1")
    page.goto(f"{base}/tasks/{task['id']}")
    assert page.locator("html").get_attribute("lang").startswith(lang)
    items = page.locator("#shortage_items")
    expect(items).to_be_hidden()
    assert page.locator("input[name=decision]:checked").count() == 0  # nothing pre-selected
    page.click("label[for=decision-1]")            # shortage
    expect(items).to_be_visible()
    no_sideways_scroll(page)
    page.click("#complete")                        # items short left empty: required now
    expect(page.locator('[data-error-for="shortage_items"]')).to_be_visible()
    expect(items).to_be_visible()
    assert page.locator("#decision-1").is_checked()
    page.click("label[for=decision-0]")            # sufficient: the field goes, and is not sent
    expect(items).to_be_hidden()
    page.click("#complete")
    page.wait_for_url(f"{base}/inbox")
    no_sideways_scroll(page)


@pytest.mark.parametrize("lang, width", [("en", 390), ("zh", 1400)])
def test_a_refused_order_keeps_what_was_typed(live_server, open_page, lang, width):
    _app, base = live_server
    page = open_page(lang, width)
    sign_in(page, base, "sales1")
    page.goto(f"{base}/orders/new")
    page.fill("#customer", NEW_ORDER["customer"])
    page.select_option("#customer_tier", "key")
    page.select_option("#channel", "phone")
    page.fill("#lines-0-product", "TV-43")
    page.fill("#lines-0-quantity", "5")
    page.fill("#lines-0-unit_price", "0")          # wrong: more than 0
    page.fill("#promised_date", NEW_ORDER["promised_date"])
    page.select_option("#payment_terms", "tt")
    page.fill("#shipping_address", NEW_ORDER["shipping_address"])
    page.fill("#contact_name", "Mr Wang")
    page.fill("#contact_phone", "call me")         # wrong: not a phone number
    page.click("#submit")
    expect(page.locator("#form-errors")).to_be_visible()
    assert page.locator("#contact_phone").input_value() == "call me"
    assert page.locator("#lines-0-unit_price").input_value() == "0"
    assert page.locator("#lines-0-product").input_value() == "TV-43"
    assert page.locator("#lines-table tbody tr").count() == 1   # no blank row appeared
    no_sideways_scroll(page)
    if width >= 1400:  # a long form takes two columns at laptop width
        left = page.locator("#field-customer").bounding_box()
        right = page.locator("#field-customer_tier").bounding_box()
        assert abs(left["y"] - right["y"]) < 5 and right["x"] > left["x"]


@pytest.mark.parametrize("lang, width", [("en", 1400), ("zh", 390)])
def test_a_task_someone_else_holds_is_read_only(live_server, open_page, lang, width):
    app, base = live_server
    api = Api(app.test_client())
    task = api.start_order()["open_tasks"][0]
    assert api.post("warehouse1", f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    page = open_page(lang, width)
    sign_in(page, base, "warehouse2")
    page.goto(f"{base}/tasks/{task['id']}")
    expect(page.locator("#claimed-by-other")).to_be_visible()
    assert page.locator("#task-form").count() == 0 and page.locator("input[type=password]").count() == 0
    assert page.locator("#complete").count() == 0
    no_sideways_scroll(page)
