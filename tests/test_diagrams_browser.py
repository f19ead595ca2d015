"""Diagrams to read (issue 15.6), in a real browser (Debian chromium via Playwright), English and
Chinese, a phone's width and a desk's: the monitor opens on the busiest area at a readable zoom, its
badges keep their size on screen whatever the zoom, a badge (clicked, or focused and Enter) opens the
board filtered to its step, "Fit whole diagram" shows it all; the order page opens on its open step.
Every wait is on the page's own signals (data-loaded, data-view, data-scale), none on the clock."""
from __future__ import annotations

import re

import pytest

from tests.support.browser import assert_fits_the_width, signed_in, skip_without_chromium
from tests.support.helpers import Api, FakeClock

pytestmark = skip_without_chromium

MONITOR = "#monitor-diagram[data-loaded='true']"
READABLE = 0.6        # lib/viewport.js MIN_READABLE_SCALE
BUSY, QUIET = "check_stock", "review_order"


def _seed(app) -> dict[str, str]:
    """Four orders wait at check stock, one at review order; the steps' names as drawn."""
    api = Api(app.test_client())
    orders = [api.start_order() for _ in range(5)]
    api.complete("warehouse1", orders[0]["open_tasks"][0]["id"])
    items = api.get("manager1", "/api/v1/monitor/elements?process=order_flow").json
    assert {i["element_id"]: i["waiting"] for i in items} == {BUSY: 4, QUIET: 1}
    return {i["element_id"]: i["name"] for i in items}


def _shown(name: str, locale: str) -> str:
    """The part of an 'English 中文' name a reader of `locale` sees (web/present.bilingual)."""
    cut = next((i for i, ch in enumerate(name) if "\u4e00" <= ch <= "\u9fff"), len(name))
    english, chinese = name[:cut].strip().rstrip("/").strip(), name[cut:].strip()
    return (chinese if locale.startswith("zh") else english) or name


def _page(browser, base: str, locale: str, width: int):
    return signed_in(browser, base, "manager1", locale, width)


INSIDE = """([inner, outer]) => {
  const a = document.querySelector(inner).getBoundingClientRect();
  const b = document.querySelector(outer).getBoundingClientRect();
  return a.width > 0 && a.left >= b.left - 1 && a.right <= b.right + 1 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
}"""

ALL_SHAPES_INSIDE = """(outer) => {
  const b = document.querySelector(outer).getBoundingClientRect();
  const shapes = [...document.querySelectorAll(outer + ' .djs-shape')];
  return shapes.length > 100 && shapes.every((s) => {
    const a = s.getBoundingClientRect();
    return a.left >= b.left - 2 && a.right <= b.right + 2 && a.top >= b.top - 2 && a.bottom <= b.bottom + 2;
  });
}"""

# The badge's text size as seen on screen: its font size times the scale its box is drawn at.
BADGE_TEXT_PX = """(selector) => {
  const el = document.querySelector(selector);
  return parseFloat(getComputedStyle(el).fontSize) * el.getBoundingClientRect().height / el.offsetHeight;
}"""


def _inside(page, inner: str, outer: str) -> bool:
    return page.evaluate(INSIDE, [inner, outer])


def _scale(page, container: str = "#monitor-diagram") -> float:
    return float(page.get_attribute(container, "data-scale"))


def _zoom(page, direction: str, container: str = "monitor-diagram") -> None:
    """Press a zoom button and wait until the canvas shows the new zoom."""
    before = page.get_attribute(f"#{container}", "data-scale")
    page.click(f"[data-diagram='{container}'][data-diagram-view='{direction}']")
    page.wait_for_function("([sel, was]) => document.querySelector(sel).getAttribute('data-scale') !== was",
                           arg=[f"#{container}", before])


def _badge_sizes(page, element_id: str) -> tuple[float, float]:
    badge = f".of-badge[data-element='{element_id}'] .of-badge-count"
    box = page.locator(badge).bounding_box()
    # to a hundredth of a pixel: the canvas's zoom and the overlay's inverse scale leave float dust
    # (13.99994 px for a 14 px font at some zooms)
    return round(page.evaluate(BADGE_TEXT_PX, badge), 2), box["height"]


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_monitor_opens_on_the_busiest_area_and_its_badges_filter_the_board(live_server, browser, locale):
    app, base = live_server
    names = _seed(app)
    for width in (1400, 390):
        context, page = _page(browser, base, locale, width)
        try:
            page.goto(f"{base}/monitor")
            page.wait_for_selector(MONITOR)
            assert page.locator("html").get_attribute("lang") == locale[:2]
            assert_fits_the_width(page)
            fit_label = "显示完整流程图" if locale.startswith("zh") else "Fit whole diagram"
            assert page.locator("[data-diagram='monitor-diagram'][data-diagram-view='fit']").inner_text() == fit_label
            # opens on the busiest element, readable
            assert page.get_attribute("#monitor-diagram", "data-view") == "busiest"
            assert READABLE <= _scale(page) <= 1.2
            assert _inside(page, f".djs-element[data-element-id='{BUSY}']", "#monitor-diagram")
            assert _inside(page, f".of-badge[data-element='{BUSY}']", "#monitor-diagram")
            # the badge keeps its size on screen when zooming out and back in
            text_px, height = _badge_sizes(page, BUSY)
            assert 14 <= text_px <= 20 and 18 <= height <= 32
            scales = []
            for direction in ("out",) * 6 + ("in",) * 3:
                _zoom(page, direction)
                scales.append(_scale(page))
                now_px, now_height = _badge_sizes(page, BUSY)
                assert abs(now_px - text_px) < 0.5 and abs(now_height - height) < 1, (direction, scales)
            assert min(scales) < 0.4
            # the whole diagram on one click, the busiest area on another
            page.click("[data-diagram='monitor-diagram'][data-diagram-view='fit']")
            page.wait_for_selector("#monitor-diagram[data-view='fit']")
            assert page.evaluate(ALL_SHAPES_INSIDE, "#monitor-diagram")
            assert 14 <= _badge_sizes(page, BUSY)[0] <= 20
            page.click("[data-diagram='monitor-diagram'][data-diagram-view='busiest']")
            page.wait_for_selector("#monitor-diagram[data-view='busiest']")
            assert _scale(page) >= READABLE
            assert _inside(page, f".of-badge[data-element='{BUSY}']", "#monitor-diagram")
            # a click on the badge: the board shows only the orders waiting there, the step as a chip
            page.click(f".of-badge[data-element='{BUSY}']")
            page.wait_for_url(re.compile(rf"/board\?.*element={BUSY}"))
            _assert_board_at(page, BUSY, 4, _shown(names[BUSY], locale))
            # a focused badge and Enter do the same
            page.goto(f"{base}/monitor")
            page.wait_for_selector(MONITOR)
            page.locator(f".of-badge[data-element='{QUIET}']").focus()
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(rf"/board\?.*element={QUIET}"))
            _assert_board_at(page, QUIET, 1, _shown(names[QUIET], locale))
            # the chip drops the step and keeps the process
            page.click("#board-chips [data-filter='element'] .remove-filter")
            page.wait_for_url(re.compile(r"/board\?process=order_flow$"))
            assert page.locator("#board tbody tr.board-row").count() == 5
            assert page.locator("#board-chips [data-filter='element']").count() == 0
        finally:
            context.close()


def _assert_board_at(page, element_id: str, count: int, step_name: str) -> None:
    rows = page.locator("#board tbody tr.board-row")
    assert rows.count() == count
    assert {rows.nth(i).get_attribute("data-element") for i in range(count)} == {element_id}
    assert page.locator("#process").input_value() == "order_flow"
    assert page.locator("#element").input_value() == element_id
    chip = page.locator("#board-chips [data-filter='element']")
    assert step_name in chip.inner_text()
    assert page.locator("#board-chips [data-filter='process']").count() == 1


def test_overdue_orders_weigh_more_and_the_longer_queue_lies_on_top(live_server, browser):
    """Two overdue orders at review order outweigh three fresh ones at check stock: the monitor opens
    on review order (the two steps lie too far apart to show both readably)."""
    app, base = live_server
    clock = FakeClock()
    app.extensions["orderflow.platform"].clock = clock
    api = Api(app.test_client())
    for order in [api.start_order() for _ in range(2)]:
        api.complete("warehouse1", order["open_tasks"][0]["id"])
    clock.advance(hours=2, minutes=30)                   # review order's 2 h limit has passed
    for _ in range(3):
        api.start_order()
    items = {i["element_id"]: i for i in api.get("manager1", "/api/v1/monitor/elements?process=order_flow").json}
    assert (items[BUSY]["waiting"], items[BUSY]["overdue"]) == (3, 0)
    assert (items[QUIET]["waiting"], items[QUIET]["overdue"]) == (2, 2)
    context, page = _page(browser, base, "en-US", 1400)
    try:
        page.goto(f"{base}/monitor")
        page.wait_for_selector(MONITOR)
        assert page.get_attribute("#monitor-diagram", "data-view") == "busiest"
        assert _inside(page, f".djs-element[data-element-id='{QUIET}']", "#monitor-diagram")
        assert not _inside(page, f".djs-element[data-element-id='{BUSY}']", "#monitor-diagram")
        z_index = "(id) => Number(document.querySelector(`.of-badge[data-element='${id}']`).closest('.djs-overlays').style.zIndex)"
        assert page.evaluate(z_index, QUIET) > page.evaluate(z_index, BUSY)
    finally:
        context.close()


def test_a_badge_takes_the_focus_with_tab(live_server, browser):
    """A badge off-screen, reached with Tab (not by script), is brought into view; Enter follows it."""
    app, base = live_server
    _seed(app)
    context, page = _page(browser, base, "en-US", 1400)
    try:
        page.goto(f"{base}/monitor")
        page.wait_for_selector(MONITOR)
        assert not _inside(page, f".of-badge[data-element='{QUIET}']", "#monitor-diagram")   # off-screen at first
        page.locator("[data-diagram='monitor-diagram'][data-diagram-view='out']").focus()
        reached = []
        for _ in range(12):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.getAttribute('data-element')"))
            if reached[-1] == QUIET:
                break
        assert reached[-1] == QUIET, reached
        page.wait_for_function(f"({INSIDE})([\".of-badge[data-element='{QUIET}']\", '#monitor-diagram'])")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/board\?.*element={QUIET}"))
    finally:
        context.close()


def test_the_monitor_fits_the_whole_diagram_when_nothing_waits(live_server, browser):
    _app, base = live_server
    context, page = _page(browser, base, "en-US", 1400)
    try:
        page.goto(f"{base}/monitor")
        page.wait_for_selector(MONITOR)
        assert page.get_attribute("#monitor-diagram", "data-view") == "fit"
        assert page.evaluate(ALL_SHAPES_INSIDE, "#monitor-diagram")
    finally:
        context.close()


@pytest.mark.parametrize("locale,width", [("en-US", 1400), ("zh-CN", 390)])
def test_the_order_page_opens_on_the_open_step(live_server, browser, locale, width):
    app, base = live_server
    order = Api(app.test_client()).start_order()
    context, page = _page(browser, base, locale, width)
    try:
        page.goto(f"{base}/orders/{order['id']}")
        page.wait_for_selector("#diagram[data-loaded='true']")
        assert page.get_attribute("#diagram", "data-view") == "current"
        assert READABLE <= _scale(page, "#diagram") <= 1.2
        assert _inside(page, f".djs-element[data-element-id='{BUSY}']", "#diagram")
        _zoom(page, "in", "diagram")
        page.click("[data-diagram='diagram'][data-diagram-view='fit']")
        page.wait_for_selector("#diagram[data-view='fit']")
        assert page.evaluate(ALL_SHAPES_INSIDE, "#diagram")
        page.click("[data-diagram='diagram'][data-diagram-view='current']")
        page.wait_for_selector("#diagram[data-view='current']")
        assert _scale(page, "#diagram") >= READABLE
    finally:
        context.close()


CLOCK_ON_ITS_TASK = """([id, container]) => {
  const clock = document.querySelector(`${container} .of-time-limit[data-element='${id}']`).getBoundingClientRect();
  const task = document.querySelector(`${container} .djs-element[data-element-id='${id}'] .djs-visual`).getBoundingClientRect();
  return clock.width > 0 && clock.left >= task.left - 1 && clock.right <= task.right + 1 &&
    clock.top >= task.top - 1 && clock.bottom <= task.bottom + 1;
}"""


@pytest.mark.parametrize("locale,title", [("en-US", "Time limit 3 h"), ("zh-CN", "时限 3 小时")])
def test_tasks_with_a_time_limit_carry_a_clock_with_the_limit_in_its_title(live_server, browser, locale, title):
    """The order flow's time limits are the tasks' sla properties: the monitor and the order page draw
    a small clock on each user task (none on service tasks or gateways), its title the limit."""
    app, base = live_server
    _seed(app)
    order = Api(app.test_client()).start_order()
    context, page = _page(browser, base, locale, 1400)
    try:
        for url, container in ((f"{base}/monitor", "#monitor-diagram"), (f"{base}/orders/{order['id']}", "#diagram")):
            page.goto(url)
            page.wait_for_selector(f"{container}[data-loaded='true']")
            assert int(page.get_attribute(container, "data-time-limits")) == 36     # every user task
            clock = page.locator(f"{container} .of-time-limit[data-element='{BUSY}']")
            assert clock.get_attribute("title") == title and clock.get_attribute("data-limit") == "PT3H"
            assert clock.is_visible() and page.evaluate(CLOCK_ON_ITS_TASK, [BUSY, container])
            days = page.locator(f"{container} .of-time-limit[data-element='produce']").get_attribute("title")
            assert days == ("Time limit 14 d" if locale == "en-US" else "时限 14 天")
            for other in ("assign_number", "gw_stock", "start_order"):
                assert page.locator(f"{container} .of-time-limit[data-element='{other}']").count() == 0
    finally:
        context.close()


def test_a_task_with_a_boundary_timer_gets_no_clock_of_its_own(live_server, browser):
    """A diagram that draws its time limit as a boundary timer (the satisfaction survey's 14 days)
    keeps it, and no clock is added beside it."""
    _app, base = live_server
    context, page = _page(browser, base, "en-US", 1400)
    try:
        page.goto(f"{base}/monitor?process=satisfaction_survey")
        page.wait_for_selector(MONITOR)
        assert page.get_attribute("#monitor-diagram", "data-time-limits") == "0"
        assert page.locator("#monitor-diagram .djs-element[data-element-id='sla_answer_survey']").count() == 1
        assert page.locator("#monitor-diagram .of-time-limit").count() == 0
    finally:
        context.close()
