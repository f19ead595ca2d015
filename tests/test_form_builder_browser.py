"""The visual form builder in a real browser, as owner1 in English and Chinese: fields added,
configured and ordered, choices with bilingual names, money, a show-if rule; the JSON follows and
stays the source of truth (every shipped form survives the builder's edits and their undoing
unchanged), and what is saved is what the task page draws."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.browser import signed_in, skip_without_chromium
from tests.support.helpers import Api
from tests.support.live_client import LiveClient

pytestmark = skip_without_chromium
FORMS = Path(__file__).resolve().parent.parent / "forms"
EDITOR = "/processes/order_flow/forms/archive_order"

# every field of every shipped form: set its title and put it back, set its kind and its required
# flag to what they are: the JSON must come back equal (the builder touches only what it edits)
ROUND_TRIP = """(forms) => {
  const m = window.orderflowFormModel, out = {};
  for (const [name, original] of Object.entries(forms)) {
    let s = structuredClone(original);
    for (const f of m.fields(s)) {
      s = m.setProp(s, f.name, 'title', 'x');
      s = m.setProp(s, f.name, 'title', f.prop.title ?? '');
      s = m.setKind(s, f.name, m.fieldKind(s, f));
      s = m.setRequired(s, f.name, f.required);
      if (['select', 'radio'].includes(m.fieldKind(s, f))) s = m.setChoices(s, f.name, m.choices(f.prop));
    }
    out[name] = {json: JSON.parse(m.text(s)), fields: m.fields(original).length};
  }
  return out;
}"""


def test_every_shipped_form_comes_back_unchanged_from_the_builder(live_server, browser):
    _app, base = live_server
    forms = {p.name: json.loads(p.read_text()) for p in sorted(FORMS.glob("*.json"))}
    context, page = signed_in(browser, base, "owner1")
    try:
        page.goto(base + EDITOR)
        page.wait_for_selector("#builder-fields .builder-field")
        result = page.evaluate(ROUND_TRIP, forms)
        for name, form in forms.items():
            assert result[name]["json"] == form, name
            assert result[name]["fields"] >= 1, name
    finally:
        context.close()


LABELS = {"en-GB": {"heading": "Fields", "radio": "Choice (buttons)"},
          "zh-CN": {"heading": "字段", "radio": "选项（按钮）"}}


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_an_owner_builds_fields_and_the_json_and_preview_follow(live_server, browser, locale):
    _app, base = live_server
    context, page = signed_in(browser, base, "owner1", locale)
    try:
        page.goto(base + EDITOR)
        expect(page.locator("#builder-heading")).to_have_text(LABELS[locale]["heading"])
        before = page.locator("#builder-fields .builder-field").count()
        assert before >= 1

        # a choice drawn as radio buttons, with bilingual names
        page.fill("#builder-new-name", "delivery")
        page.select_option("#builder-new-kind", "radio")
        assert page.locator("#builder-new-kind option[value=radio]").inner_text() == LABELS[locale]["radio"]
        page.fill("#builder-new-title", "Delivery")
        page.fill("#builder-new-title-zh", "交货方式")
        page.click("#builder-add")
        card = page.locator(".builder-field[data-field=delivery]")
        expect(card).to_have_attribute("data-kind", "radio")
        for index, (value, english, chinese) in enumerate((("sea", "By sea", "海运"), ("air", "By air", "空运"))):
            card.locator(f"[data-choice='{index}-value']").fill(value)
            card.locator(f"[data-choice='{index}-en']").fill(english)
            card.locator(f"[data-choice='{index}-zh']").fill(chinese)
        card.locator("[data-key=required]").check()

        # money, shown only when the delivery is by air, moved up above it
        page.fill("#builder-new-name", "freight")
        page.select_option("#builder-new-kind", "money")
        page.fill("#builder-new-title", "Freight")
        page.fill("#builder-new-title-zh", "运费")
        page.click("#builder-add")
        money = page.locator(".builder-field[data-field=freight]")
        money.locator("[data-key=maximum]").fill("100000")
        money.locator("[data-key=showif-field]").select_option("delivery")
        money.locator("[data-key=showif-value]").select_option("1")        # the second choice: air
        page.locator(".builder-field[data-field=freight] [data-move=up]").click()

        # a name that is not one is refused, saying why
        page.fill("#builder-new-name", "2nd field")
        page.click("#builder-add")
        expect(page.locator("#builder-message")).not_to_be_empty()

        names = page.locator("#builder-fields .builder-field").evaluate_all("els => els.map(e => e.dataset.field)")
        assert names[-2:] == ["freight", "delivery"] and len(names) == before + 2
        schema = json.loads(page.input_value("#schema-text"))
        delivery = schema["properties"]["delivery"]
        assert delivery["enum"] == ["sea", "air"] and delivery["enumNames_zh"] == ["海运", "空运"]
        assert delivery["title_zh"] == "交货方式" and "delivery" in schema["required"]
        assert schema["ui"]["widgets"]["delivery"] == "radio" and schema["ui"]["widgets"]["freight"] == "money"
        rule = schema["allOf"][-1]
        assert rule["if"] == {"properties": {"delivery": {"const": "air"}}, "required": ["delivery"]}
        assert rule["then"]["properties"]["freight"]["maximum"] == 100000
        assert "freight" not in schema["properties"]                       # it lives in the rule
        expect(page.locator("#form-preview input[type=radio][name=delivery]")).to_have_count(2)

        page.click("#save-form")
        page.wait_for_selector("#form-source[data-source=draft]")
        api = Api(LiveClient(base))
        saved = api.get("owner1", "/api/v1/forms/archive_order?process=order_flow").json["schema"]
        assert saved == schema
    finally:
        context.close()
