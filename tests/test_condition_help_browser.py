"""Writing a flow's condition in the modeler, as owner1 in English and Chinese: the process's data
fields offered for the word being typed, the condition read out in words, and a name nothing in
the process sets named with the closest one that is."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import READY, signed_in, skip_without_chromium

pytestmark = skip_without_chromium
FLOW = "flow_gw_stock_to_review_order"
WORDS = {"en-GB": ("Reads: Defects found is more than 2", "Did you mean qc_defects?"),
         "zh-CN": ("读作：不良数 大于 2", "是否想写 qc_defects？")}


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_a_condition_is_written_with_the_fields_and_read_out(live_server, browser, locale):
    _app, base = live_server
    context, page = signed_in(browser, base, "owner1", locale)
    try:
        page.goto(f"{base}/processes/order_flow/edit")
        page.wait_for_selector(READY)
        page.evaluate(f"""() => {{
            const m = window.orderflowModeler;
            m.get('selection').select(m.get('elementRegistry').get('{FLOW}'));
        }}""")
        page.wait_for_selector(f"#modeler-panel[data-element-id='{FLOW}']")
        area = page.locator("#pp-condition")
        area.fill("qc_def")
        page.click("#pp-condition-fields [data-field='qc_defects']")          # picked, not spelled
        expect(area).to_have_value("qc_defects")
        area.press("End")
        area.type(" > 2")
        reads, did_you_mean = WORDS[locale]
        expect(page.locator("#pp-condition-reading")).to_contain_text(reads)
        area.fill("qc_defect > 2")
        expect(page.locator("#pp-condition-unknown [data-unknown='qc_defect']")).to_contain_text(did_you_mean)
    finally:
        context.close()
