"""The modeler in a real browser: edit a step in the panel, check, deploy; running orders keep their version."""
from __future__ import annotations

import pytest
from lxml import etree

from tests.support.browser import click_element, login, open_modeler, signed_in, skip_without_chromium
from tests.support.helpers import Api
from tests.support.live_client import LiveClient

pytestmark = skip_without_chromium

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


def test_rename_and_regroup_a_step_then_deploy_it(live_server, page):
    _app, base = live_server
    api = Api(LiveClient(base))
    before = api.start_order()                     # runs on version 1

    login(page, base, "owner1")
    open_modeler(page, base)
    click_element(page, "review_order")
    assert page.input_value("#pp-id") == "review_order"
    page.fill("#pp-name", "Check the order 订单核对")
    page.press("#pp-name", "Enter")
    page.wait_for_selector("#modeler-dirty:not([hidden])")
    page.wait_for_selector("#pp-group option[value='sales_manager']", state="attached")
    assert "sales" in page.locator("#pp-group option[value='']").inner_text()   # inherited from the lane
    page.select_option("#pp-group", "sales_manager")
    page.check("#pp-customer")                                                  # now the customer's step
    assert page.evaluate("() => window.orderflowModeler.get('elementRegistry').get('review_order')"
                         ".businessObject.name") == "Check the order 订单核对"

    page.click("#modeler-check")
    page.wait_for_selector("#modeler-message .alert-success")
    assert page.locator("#modeler-problem-list .problem-error").count() == 0
    assert page.locator("#modeler-dirty").is_hidden()                              # Check saved the draft

    page.click("#modeler-deploy")                  # the release dialog: what changes, who stays, a note
    page.wait_for_selector("#modeler-release[open]")
    changes = page.locator("#modeler-release-list").inner_text()
    assert "Check the order" in changes and "Steps moved to another group" in changes
    assert "1 on version 1" in page.locator("#modeler-release-staying").inner_text()
    with page.context.expect_page() as opened:     # every change, field by field, in a tab of its own
        page.click("#modeler-release-diff")
    full = opened.value
    full.wait_for_selector("#diff-draft")
    assert full.locator("tr[data-element='review_order']").count() >= 1
    full.close()
    page.fill("#modeler-release-note", "Sales managers review orders now.\nThe customer confirms them.")
    page.click("#modeler-release-confirm")
    page.wait_for_selector("#modeler-message .alert-success:has-text('version 2')")
    assert page.locator("#modeler-version option[value='2']").count() == 1
    page.goto(f"{base}/processes/order_flow/versions")
    assert "Sales managers review orders now." in page.locator("#version-2 .release-note").inner_text()

    after = api.start_order()
    review = api.drive_to(after["id"], "review_order")
    assert review["group"] == "sales_manager" and review["name"].startswith("Check the order")
    assert review["customer_step"] is True
    assert api.get("manager1", f"/api/v1/instances/{after['id']}").json["version"] == 2

    old = api.drive_to(before["id"], "review_order")                             # reached after the deploy
    assert old["group"] == "sales" and old["name"].startswith("Review order")
    assert api.get("manager1", f"/api/v1/instances/{before['id']}").json["version"] == 1


def test_check_lists_and_marks_an_unknown_handler(live_server, page):
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base)
    page.evaluate("""async () => {
        const m = window.orderflowModeler;
        const { xml } = await m.saveXML();
        await m.importXML(xml.replace('serviceTaskOperator id="price_order"', 'serviceTaskOperator id="no_such_handler"'));
    }""")
    click_element(page, "price_lines")
    assert "no_such_handler" in page.locator("#pp-handler option:checked").inner_text()

    page.click("#modeler-check")
    problem = page.locator("#modeler-problem-list .problem-error[data-element='price_lines']")
    problem.wait_for()
    assert "no_such_handler" in problem.inner_text()
    page.wait_for_selector(".djs-element.of-problem-error[data-element-id='price_lines']", state="attached")
    page.wait_for_selector("#modeler-message .alert-danger")

    click_element(page, "review_order")            # clicking the problem selects its element again
    problem.click()
    page.wait_for_selector("#modeler-panel[data-element-id='price_lines']")

    page.click("#modeler-deploy")                  # refused, and the problem stays listed
    page.wait_for_selector("#modeler-message .alert-danger:has-text('not deployed')")
    assert page.locator("#modeler-problem-list .problem-error[data-element='price_lines']").count() == 1


def saved_diagram(page):
    """The diagram as Save draft and Download write it, parsed."""
    return etree.fromstring(page.evaluate("() => window.orderflowDraft.xml()").encode())


def properties_of(root, element_id: str) -> dict[str, str]:
    el = root.xpath("//*[@id=$id]", id=element_id)[0]
    return {p.get("name"): p.get("value") for p in el.iterfind(".//spiffworkflow:property", NS)}


def test_a_new_time_limit_rewrites_its_label_on_the_diagram(live_server, page):
    """A diagram whose time limit is a boundary timer (the satisfaction survey's 14 days): the task's
    Time limit field edits the timer and rewrites its label, in one undoable step."""
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base, "satisfaction_survey")
    label = page.locator(".djs-element[data-element-id='sla_answer_survey_label']")
    assert "14 d limit" in label.text_content()

    click_element(page, "answer_survey")
    assert page.input_value("#pp-sla") == "P14D"
    page.fill("#pp-sla", "P3D")
    page.press("#pp-sla", "Enter")
    page.wait_for_function("() => window.orderflowModeler.get('elementRegistry').get('sla_answer_survey')"
                           ".businessObject.name === '3 d limit 时限3天'")
    assert "3 d limit" in label.text_content() and "14 d" not in label.text_content()
    timer = saved_diagram(page).xpath("//bpmn:boundaryEvent[@id='sla_answer_survey']", namespaces=NS)[0]
    assert timer.get("name") == "3 d limit 时限3天"
    assert timer.findtext(".//bpmn:timeDuration", namespaces=NS) == "P3D"
    assert "sla" not in properties_of(saved_diagram(page), "answer_survey")   # the timer holds the limit

    page.evaluate("() => window.orderflowModeler.get('commandStack').undo()")   # one step: value and label
    assert "14 d limit" in label.text_content()
    assert saved_diagram(page).findtext(".//bpmn:boundaryEvent[@id='sla_answer_survey']//bpmn:timeDuration",
                                        namespaces=NS) == "P14D"

    click_element(page, "sla_answer_survey")          # the timer itself: its value field does the same
    page.fill("#pp-timer", "P1DT4H")
    page.press("#pp-timer", "Enter")
    page.wait_for_selector("#pp-name[value='1 d 4 h limit 时限1天4小时']")
    assert "1 d 4 h limit" in label.text_content()


def test_the_time_limit_field_edits_the_order_flows_sla_property(live_server, page):
    """The order flow's time limits are the tasks' sla properties: the field reads and writes it, and
    no timer appears."""
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base)
    click_element(page, "review_order")
    assert page.input_value("#pp-sla") == "PT2H"
    page.fill("#pp-sla", "PT3H")
    page.press("#pp-sla", "Enter")
    page.wait_for_function("() => window.orderflowModeler.get('commandStack').canUndo()")
    saved = saved_diagram(page)
    assert properties_of(saved, "review_order")["sla"] == "PT3H"
    assert properties_of(saved, "check_stock")["sla"] == "PT3H"           # its own 3 h, untouched
    assert not saved.xpath("//bpmn:boundaryEvent[bpmn:timerEventDefinition]", namespaces=NS)
    page.evaluate("() => window.orderflowModeler.get('commandStack').undo()")
    assert properties_of(saved_diagram(page), "review_order")["sla"] == "PT2H"


def test_the_panel_edits_the_signature_properties(live_server, page):
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base)
    click_element(page, "sign_release")
    assert page.is_checked("#pp-signature")
    assert page.input_value("#pp-signature-meaning") == "approved for release / 批准放行"
    page.wait_for_selector("#pp-signature-requested-by option[value='prepare_sales_list']:checked", state="attached")
    page.fill("#pp-signature-meaning", "released / 放行")
    page.press("#pp-signature-meaning", "Enter")
    page.select_option("#pp-signature-requested-by", ["prepare_sales_list", "review_order"])
    props = properties_of(saved_diagram(page), "sign_release")
    assert (props["signature"], props["signatureMeaning"]) == ("true", "released / 放行")
    assert sorted(props["signatureRequestedBy"].split(",")) == ["prepare_sales_list", "review_order"]

    click_element(page, "ship_order")                 # a step that needs the release signature
    assert page.input_value("#pp-requires-signature") == "sign_release"
    click_element(page, "review_order")               # becomes a signature step of its own
    assert page.locator("#pp-signature-meaning").count() == 0
    page.check("#pp-signature")
    page.fill("#pp-signature-meaning", "checked / 已审核")
    page.press("#pp-signature-meaning", "Enter")
    click_element(page, "ship_order")
    page.select_option("#pp-requires-signature", "review_order")
    props = properties_of(saved_diagram(page), "review_order")
    assert props["signature"] == "true" and props["signatureMeaning"] == "checked / 已审核"
    assert properties_of(saved_diagram(page), "ship_order")["requiresSignatureOf"] == "review_order"
    page.select_option("#pp-requires-signature", "")
    assert "requiresSignatureOf" not in properties_of(saved_diagram(page), "ship_order")

    page.click("#modeler-check")                      # the service reads what the panel wrote
    page.wait_for_selector("#modeler-message .alert-success")


def test_choosing_a_lanes_group_keeps_its_bilingual_name(live_server, page):
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base)
    click_element(page, "design")
    page.wait_for_selector("#pp-lane-group option[value='service']", state="attached")
    assert page.input_value("#pp-lane-group") == "design"
    page.select_option("#pp-lane-group", "service")
    page.wait_for_selector("#modeler-panel[data-element-id='service']")
    assert page.input_value("#pp-name") == "Design 美工"
    assert page.input_value("#pp-lane-group") == "service"
    lane = saved_diagram(page).xpath("//bpmn:lane[@id='service']", namespaces=NS)[0]
    assert lane.get("name") == "Design 美工"
    assert page.locator(".djs-element[data-element-id='service']").text_content().strip() == "Design 美工"

    page.click("#modeler-check")                      # the lane's tasks now belong to the service group
    page.wait_for_selector("#modeler-message .alert")
    assert page.locator("#modeler-problem-list .problem-error").count() == 0


def test_an_id_is_editable_until_it_is_deployed(live_server, page):
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base)
    click_element(page, "review_order")                          # deployed in version 1: fixed, and why
    assert page.locator("#pp-id").get_attribute("readonly") is not None
    assert "version 1" in page.inner_text("#pp-id-hint")
    new_id = page.evaluate("""() => {
        const m = window.orderflowModeler, registry = m.get('elementRegistry');
        const pool = registry.filter(e => e.type === 'bpmn:Participant')[0];
        const shape = m.get('elementFactory').createShape({ type: 'bpmn:Task' });
        return m.get('modeling').createShape(shape, { x: pool.x + 300, y: pool.y + 60 }, pool).id;
    }""")
    click_element(page, new_id)
    assert page.locator("#pp-id").get_attribute("readonly") is None
    for bad, words in (("1st check", "starts with a letter"), ("review_order", "already has this id")):
        page.fill("#pp-id", bad)
        page.press("#pp-id", "Tab")
        page.wait_for_selector("#pp-id.is-invalid")
        assert words in page.inner_text("#pp-id-error")
    page.fill("#pp-id", "double_check")
    page.press("#pp-id", "Tab")
    page.wait_for_selector("#modeler-panel[data-element-id='double_check']")
    assert saved_diagram(page).xpath("//*[@id='double_check']")


def test_the_modeler_opens_clear_of_the_palette_and_offers_its_views(live_server, page):
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base)
    start = page.evaluate("() => window.orderflowModeler.get('elementRegistry')"
                          ".filter(e => e.type === 'bpmn:StartEvent')[0].id")
    palette = page.locator("#modeler-canvas .djs-palette").bounding_box()
    shape = page.locator(f".djs-shape[data-element-id='{start}']").bounding_box()
    assert palette and shape and palette["x"] + palette["width"] <= shape["x"], (palette, shape)   # not covered
    before = float(page.get_attribute("#modeler-canvas", "data-scale"))
    page.click("[data-diagram='modeler-canvas'][data-diagram-view='in']")
    page.wait_for_function(f"() => parseFloat(document.getElementById('modeler-canvas').dataset.scale) > {before}")
    page.click("[data-diagram='modeler-canvas'][data-diagram-view='fit']")
    page.wait_for_selector("#modeler-canvas[data-view='fit']")
    page.wait_for_selector("#modeler-canvas .djs-minimap.open", state="visible")   # the map: open on a wide screen
    assert page.get_attribute("#modeler-minimap", "aria-pressed") == "true"
    page.click("#modeler-minimap")
    page.wait_for_selector("#modeler-canvas .djs-minimap:not(.open)", state="attached")
    assert page.get_attribute("#modeler-minimap", "aria-pressed") == "false"
    page.click("#modeler-search")
    page.wait_for_selector("#modeler-canvas .djs-search-container input", state="visible")
    page.keyboard.press("Escape")
    page.click("#modeler-keys")
    page.wait_for_selector("#modeler-keys-dialog[open]")
    assert "Ctrl+Z" in page.inner_text("#modeler-keys-dialog")
    page.click("#modeler-keys-dialog [data-close]")
    page.wait_for_selector("#modeler-keys-dialog:not([open])", state="attached")


def test_a_condition_is_checked_as_it_is_typed(live_server, page):
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base)
    page.evaluate("""() => {
        const m = window.orderflowModeler, flow = m.get('elementRegistry').get('flow_gw_stock_to_review_order');
        m.get('selection').select(flow);
    }""")
    page.wait_for_selector("#modeler-panel[data-element-id='flow_gw_stock_to_review_order']")
    page.fill("#pp-condition", "stock_ok = True")
    page.wait_for_selector("#pp-condition.is-invalid")
    assert "Did you mean: stock_ok == True" in page.inner_text("#pp-condition-check")
    page.fill("#pp-condition", "stock_ok == True")
    page.wait_for_selector("#pp-condition:not(.is-invalid)")


@pytest.mark.parametrize("locale, heading", [("en-GB", "What if the draft were deployed"), ("zh-CN", "如果部署这份草稿会怎样")])
def test_what_if_saves_the_draft_and_replays_history_through_it(live_server, browser, locale, heading):
    _app, base = live_server
    api = Api(LiveClient(base))
    order = api.start_order()
    api.drive_to(order["id"], "review_order")      # check_stock finished: history to replay
    context, page = signed_in(browser, base, "owner1", locale)
    try:
        open_modeler(page, base)
        page.click("#modeler-what-if")
        page.wait_for_url(f"{base}/processes/order_flow/what-if")
        assert page.inner_text("h1") == heading
        row = page.locator("#what-if-steps tr[data-element='check_stock']")
        assert row.get_attribute("data-change") == "same"
        assert row.locator("td[data-side='draft']").nth(2).inner_text() == "1"   # orders reaching it
        assert page.locator("#what-if-assumptions li").count() == 8
    finally:
        context.close()
