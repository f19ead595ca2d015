"""Renaming a saved filter in a real browser (Debian chromium via Playwright): the inbox's small
rename control opens, keeps the page within a phone's width and a desk's, English and Chinese,
and typing the new name is not taken for the inbox's key commands."""
from __future__ import annotations

import re

import pytest

from tests.support.browser import PATIENCE_MS, assert_fits_the_width, skip_without_chromium
from tests.support.helpers import Api

pytestmark = skip_without_chromium


@pytest.mark.parametrize("locale, width", [("en-US", 390), ("zh-CN", 1400)])
def test_a_saved_filter_is_renamed_from_the_inbox(live_server, browser, locale, width):
    app, base = live_server
    api = Api(app.test_client())
    api.start_order()
    saved = api.post("warehouse1", "/api/v1/tasks/filters", {"name": "Late", "query": "overdue=1",
                                                              "group": "warehouse"}).json
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)
    page = context.new_page()
    try:
        page.goto(f"{base}/login")
        page.fill("#username", "warehouse1")
        page.fill("#password", "demo")
        page.click("#login")
        page.wait_for_url(f"{base}/inbox")
        page.click("#inbox-saved > summary")
        control = page.locator(f"#rename-filter-{saved['id']}")
        control.locator("summary").click()
        field = page.locator(f"#rename-{saved['id']}")
        assert field.input_value() == "Late"
        assert_fits_the_width(page)
        field.fill("Cjk overdue 逾期")                   # 'c', 'j', 'k' are key commands outside a field
        field.press("Enter")
        page.wait_for_url(re.compile(r"/inbox$"))
        assert page.locator(".alert-success").count() == 1
        page.click("#inbox-saved > summary")
        assert page.locator(f'#inbox-saved li[data-filter-id="{saved["id"]}"] a').first.inner_text() \
            == "Cjk overdue 逾期"
        assert [f["name"] for f in api.get("warehouse2", "/api/v1/tasks/filters").json["items"]] \
            == ["Cjk overdue 逾期"]
    finally:
        context.close()
