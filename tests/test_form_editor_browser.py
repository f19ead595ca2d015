"""The form editor in a real browser: the preview follows the typing, Format JSON pretty-prints."""
from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.support.browser import login, skip_without_chromium

pytestmark = skip_without_chromium


def test_preview_follows_the_text(live_server, page):
    _app, base = live_server
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(page, base, "owner1")
    page.goto(f"{base}/processes/order_flow/forms/approve_order")
    expect(page.locator("#preview-title")).to_have_text("Approve order")

    area = page.locator("#schema-text")
    schema = json.loads(area.input_value())
    area.fill(json.dumps({**schema, "title": "Approve in the browser"}))
    expect(page.locator("#preview-title")).to_have_text("Approve in the browser")
    expect(page.locator("#form-preview fieldset[disabled] [name=decision]").first).to_be_attached()

    page.click("#format-json")                                     # pretty-printed, same schema
    expect(area).to_have_value(json.dumps({**schema, "title": "Approve in the browser"}, indent=2,
                                          ensure_ascii=False))

    page.select_option("#preview-lang", "zh")
    expect(page.locator("#preview-title")).to_have_text(schema["title_zh"])

    area.fill('{"type": "object",\n "properties": {"a": }}')
    expect(page.locator("#preview-errors")).to_contain_text("Line 2, column 22")
    expect(page.locator("#preview-title")).to_have_count(0)
    page.click("#format-json")                                     # not JSON: left as typed
    expect(area).to_have_value('{"type": "object",\n "properties": {"a": }}')
    assert not [e for e in errors if "Content Security Policy" in e], errors
