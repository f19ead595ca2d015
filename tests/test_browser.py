"""A real browser (Debian chromium via Playwright) against a live server."""
from __future__ import annotations

from tests.support.browser import login, skip_without_chromium
from tests.support.helpers import NEW_ORDER, Api

pytestmark = skip_without_chromium


def logout(page, base: str) -> None:
    page.context.clear_cookies()


def test_inbox_form_error_correction_and_next_group(live_server, page):
    app, base = live_server
    started = Api(app.test_client()).start_order()
    order_no = started["business_key"]

    login(page, base, "warehouse1")
    row = page.locator("#inbox tr", has_text=order_no)
    row.get_by_role("link", name="Check stock").click()
    page.click("#complete")                      # no decision chosen
    assert page.locator("#form-errors").is_visible()
    assert page.locator('[data-error-for="decision"]').is_visible()
    page.click("label[for=decision-0]")          # stock sufficient (the radio is a button)
    page.click("#complete")
    page.wait_for_url(f"{base}/inbox")
    assert page.locator("#inbox", has_text=order_no).count() == 0

    logout(page, base)
    login(page, base, "sales1")
    assert page.locator("#inbox tr", has_text=order_no).get_by_role("link", name="Review order").is_visible()


def test_new_order_in_the_browser_and_the_diagram(live_server, page):
    _app, base = live_server
    login(page, base, "sales1")
    page.goto(f"{base}/orders/new")
    page.fill("#customer", NEW_ORDER["customer"])
    page.select_option("#customer_tier", "key")
    page.select_option("#channel", "phone")
    page.fill("#lines-0-product", "TV-43")
    page.fill("#lines-0-quantity", "0")          # wrong: at least 1
    page.fill("#lines-0-unit_price", "120")
    page.fill("#promised_date", NEW_ORDER["promised_date"])
    page.select_option("#payment_terms", "lc")
    page.fill("#shipping_address", NEW_ORDER["shipping_address"])
    page.fill("#contact_name", "Mr Wang")
    page.fill("#contact_phone", "123")
    page.click("#submit")
    assert page.locator("#form-errors").is_visible()
    assert page.locator("#customer").input_value() == NEW_ORDER["customer"]   # nothing typed is lost
    page.fill("#lines-0-quantity", "50")
    page.click("#submit")
    page.wait_for_url(f"{base}/orders/*")
    assert "SO-" in page.locator("h1").inner_text()
    diagram = page.locator(".diagram")
    diagram.and_(page.locator("[data-loaded='true']")).wait_for()
    assert page.locator(".djs-element.of-current").count() >= 1
    assert page.locator(".djs-element.of-done").count() >= 1


def test_diagram_view_badges_lead_to_the_filtered_board(live_server, page):
    app, base = live_server
    api = Api(app.test_client())
    for _ in range(2):
        api.start_order()
    login(page, base, "manager1")
    page.goto(f"{base}/monitor?process=order_flow")
    page.locator("#monitor-diagram[data-loaded='true']").wait_for()
    badge = page.locator(".of-badge[data-element='check_stock']")
    assert badge.locator(".of-badge-count").inner_text() == "2"
    badge.click()
    page.wait_for_url("**/board?**element=check_stock**")
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    assert all("SO-" in rows.nth(i).inner_text() for i in range(2))
