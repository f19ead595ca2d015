"""The inbox in a real browser (Debian chromium via Playwright): English and Chinese, a phone's
width and a desk's, no sideways scrolling of the page; the mail-client keys j/k/Enter/c."""
from __future__ import annotations

import re

import pytest

from tests.support.browser import assert_fits_the_width, signed_in, skip_without_chromium
from tests.support.helpers import Api

pytestmark = skip_without_chromium


def _page(browser, base: str, locale: str, width: int):
    return signed_in(browser, base, "warehouse1", locale, width)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_inbox_fits_and_answers_the_keys(live_server, browser, locale):
    app, base = live_server
    api = Api(app.test_client())
    for _ in range(2):
        api.start_order()
    for width in (390, 1400):
        context, page = _page(browser, base, locale, width)
        try:
            assert page.locator("html").get_attribute("lang") == locale[:2]
            assert page.locator("#inbox tbody tr[data-task-id]").count() == 2
            assert_fits_the_width(page)   # fails by the timeout if the page scrolls sideways
            rows = page.locator("#inbox tbody tr[data-task-id]")
            page.keyboard.press("j")
            assert "table-active" in rows.nth(0).get_attribute("class")
            page.keyboard.press("j")
            assert "table-active" in rows.nth(1).get_attribute("class")
            page.keyboard.press("k")
            assert "table-active" in rows.nth(0).get_attribute("class")
            page.fill("#f-q", "jk")                       # typing in a field is not a key command
            assert "table-active" in rows.nth(0).get_attribute("class")
            assert page.locator("#f-q").input_value() == "jk"
            page.locator("#f-q").blur()
            target = rows.nth(0).get_attribute("data-task-id")
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(rf"/tasks/{target}$"))
        finally:
            context.close()


def test_c_claims_the_selected_task(live_server, browser):
    app, base = live_server
    Api(app.test_client()).start_order()
    context, page = _page(browser, base, "en-US", 1400)
    try:
        page.keyboard.press("j")
        page.keyboard.press("c")
        page.locator("#inbox tbody tr.table-active button.release").wait_for()  # still selected
        assert page.locator("#inbox tbody tr button.claim").count() == 0
    finally:
        context.close()
