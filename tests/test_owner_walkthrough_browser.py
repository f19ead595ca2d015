"""The README's process-owner walk-through ("A release, start to finish"), step by step in a real
browser as owner1, in English and in Chinese: the README says what this test does."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.browser import READY, click_element, signed_in, skip_without_chromium
from tests.support.helpers import Api
from tests.support.live_client import LiveClient

pytestmark = skip_without_chromium
BENCH = Path(__file__).resolve().parent.parent / "bench"
BUNDLE = ("small.bpmn", "bench_small_start.json", "bench_small_step.json")


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _speaks(text: str, chinese: bool, english_words: str) -> bool:
    """In Chinese, or in English (step names are bilingual, so English pages hold Chinese too)."""
    return (_chinese(text) and english_words not in text) if chinese else english_words in text


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_a_release_start_to_finish(live_server, browser, locale):
    _app, base = live_server
    api = Api(LiveClient(base))
    orders = [api.start_order()["id"] for _ in range(2)]      # both wait at check_stock, on version 1
    assert all(api.task(order, "check_stock") for order in orders)
    context, page = signed_in(browser, base, "owner1", locale)
    chinese = locale.startswith("zh")
    try:
        # 1. upload a process with its forms and a release note
        page.goto(f"{base}/processes")
        page.click("#upload summary")
        page.set_input_files("#upload-files", [str(BENCH / name) for name in BUNDLE])
        page.fill("#upload-note", "Six steps.")
        page.click("#upload-submit")
        expect(page.locator(".alert-success")).to_contain_text("bench_small v1")

        # 2. find a step on the map and change its time limit in the panel
        page.goto(f"{base}/processes/order_flow/edit")
        page.wait_for_selector(READY)
        expect(page.locator("#modeler-canvas .djs-minimap.open")).to_be_visible()
        click_element(page, "check_stock")
        page.fill("#pp-sla", "PT5H")
        page.press("#pp-sla", "Enter")
        page.wait_for_function("() => window.orderflowModeler.get('commandStack').canUndo()")

        # 3. check it as a deploy would
        page.click("#modeler-check")
        page.wait_for_selector("#modeler-message .alert-success")
        assert _speaks(page.inner_text("#modeler-message"), chinese, "No ")

        # 4. what if: the last weeks replayed through the draft (saved first)
        page.click("#modeler-what-if")
        page.wait_for_url(f"{base}/processes/order_flow/what-if")
        row = page.locator("#what-if-steps tr[data-element='check_stock']")
        expect(row).to_have_attribute("data-change", "changed")
        assert "PT5H" in row.locator("td[data-side='draft']").nth(1).inner_text()

        # 5. deploy: what changes, who stays, a note
        page.goto(f"{base}/processes/order_flow/edit")
        page.wait_for_selector(READY)
        page.click("#modeler-deploy")
        page.wait_for_selector("#modeler-release[open]")
        changes = page.inner_text("#modeler-release-list")
        assert "check_stock" not in changes and ("库存确认" in changes if chinese else "Check stock" in changes)
        assert "2" in page.inner_text("#modeler-release-staying")
        assert _speaks(page.inner_text("#modeler-release"), chinese, "What changes against version 1")
        expect(page.locator("#modeler-release-diff")).to_be_visible()
        page.fill("#modeler-release-note", "Stock checks get five hours.")
        page.click("#modeler-release-confirm")
        page.wait_for_selector("#modeler-version option[value='2']", state="attached")

        # 6. move the running orders: a dry run, one unchecked, the other moved
        page.goto(f"{base}/processes/order_flow/versions")
        expect(page.locator("#version-2 .release-note")).to_contain_text("Stock checks get five hours.")
        page.select_option("#move-from", "1")
        page.select_option("#move-to", "2")
        page.select_option("#move-step", "check_stock")
        page.click("#dry-run")
        expect(page.locator(f"#result-{orders[0]} .notes")).to_contain_text("UTC+8")   # its new due time
        page.uncheck(f"#result-{orders[0]} .move-choice")
        page.click("#move-orders")
        expect(page.locator(f"#result-{orders[1]}")).to_have_attribute("data-moved", "true")
        expect(page.locator(f"#result-{orders[0]}")).to_have_count(0)          # unchecked: not moved
        versions = [api.get("manager1", f"/api/v1/instances/{order}").json["version"] for order in orders]
        assert versions == [1, 2]
        assert _speaks(page.inner_text("#migration-report"), chinese, "orders moved")
    finally:
        context.close()
