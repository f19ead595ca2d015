"""Every HTML page at a phone's width (390 px) and a laptop's (1280 px), in English and
Chinese, in a real browser (Debian chromium via Playwright): the page never scrolls sideways (a wide
table scrolls inside its own box), the navbar stays one row at laptop width and opens from its
toggler on a phone, and each page's main controls are on the screen at 390 px.

The pages are those of the Flask url_map (``tests/support/pages.py``): a new route fails the test as
"not visited" until it is given its arguments and the user who may see it."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from werkzeug.serving import make_server

from tests.support.browser import PATIENCE_MS, READY, assert_fits_the_width, skip_without_chromium
from tests.support.browser import login as sign_in
from tests.support.pages import Demo, assert_every_page_is_visited, demo_app, visits

pytestmark = [skip_without_chromium, pytest.mark.browser]

#: 1280 px stands for every wider screen: the last breakpoint that changes a layout is at 1200 px
#: (the navbar's toggler for readers with many links); above it a page only gains room (Bootstrap's
#: container grows from 1140 px to 1320 px at 1400 px). A 1400 px run, 40 s a pass, could find nothing
#: the 1280 px run does not.
WIDTHS = (390, 1280)
LANGUAGES = ("en", "zh")
#: From this width on the navbar shows its links, and they must stay on one row.
DESK = 1280


@pytest.fixture(scope="module")
def site(seeded_template, compiled_processes, tmp_path_factory) -> Iterator[tuple[str, Demo, Flask]]:
    """One server and one set of demo data for every width and language of the module."""
    with demo_app(seeded_template, compiled_processes, tmp_path_factory.mktemp("widths")) as (app, demo):
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_port}", demo, app
        server.shutdown()


def test_every_page_is_visited(site):
    _base, demo, app = site
    assert_every_page_is_visited(app, demo)


# What sticks out of the page on the right, and is not inside a box that scrolls or clips (looked
# for only when the page is wider than the screen: a walk over every element is slow on big pages).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scroll = document.documentElement.scrollWidth;
  if (scroll <= width + 1) return {scroll, width, culprits: []};
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !clipped(el)) out.push(name(el) + ' right=' + Math.round(box.right));
  }
  return {scroll, width, culprits: out.slice(-4)};
}"""

# Items of the navbar that sit off its brand's row, or overlap the next item (squeezed into one row).
NAV_ROWS = """() => {
  const nav = document.querySelector('nav.navbar');
  if (!nav) return [];
  const brand = nav.querySelector('.navbar-brand').getBoundingClientRect();
  const middle = brand.top + brand.height / 2;
  const seen = (el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden';
  const items = [...nav.querySelectorAll('.navbar-brand, .nav-link, .navbar-text, .btn, .navbar-toggler')].filter(seen);
  const name = (el) => el.id || el.textContent.trim();
  const off = items.filter((el) => { const b = el.getBoundingClientRect(); return Math.abs(b.top + b.height / 2 - middle) > 8; })
    .map((el) => name(el) + ' top=' + Math.round(el.getBoundingClientRect().top));
  const byLeft = items.map((el) => [el, el.getBoundingClientRect()]).sort((a, b) => a[1].left - b[1].left);
  const overlaps = byLeft.slice(1).filter(([, box], i) => box.left < byLeft[i][1].right - 1)
    .map(([el], i) => name(el) + ' overlaps ' + name(byLeft[i][0]));
  return off.concat(overlaps);
}"""


# stylesheets that did not arrive (a request the loaded test server dropped): the page is unstyled
# through no fault of its layout, so it is loaded again rather than measured
UNSTYLED = "() => [...document.querySelectorAll('link[rel=stylesheet]')].some((link) => !link.sheet)"


def _settle(page: Page) -> None:
    """Loaded with its stylesheets, and the diagrams drawn (bpmn-js draws after the load event)."""
    page.wait_for_load_state("load")
    for _ in range(2):
        if not page.evaluate(UNSTYLED):
            break
        page.reload()
        page.wait_for_load_state("load")
    for diagram in page.locator(".diagram, #monitor-diagram").all():
        expect(diagram).to_have_attribute("data-loaded", "true")
    if page.locator("#modeler").count():
        page.locator(READY).wait_for()


def _fits(page: Page) -> str | None:
    measured = page.evaluate(OVERFLOW)
    if measured["scroll"] <= measured["width"] + 1:
        return None
    try:    # a script may still be wrapping or hiding things: wait for it, as the shared check does
        assert_fits_the_width(page)
        return None
    except PlaywrightTimeout:   # it never fitted
        return f"scrolls sideways: {measured['scroll']} > {measured['width']} px; sticking out: {measured['culprits']}"


# Why an element is not on the screen sideways (vertical scrolling is fine): off the page's width,
# or hidden to the side inside a box that scrolls or clips (a wide table's scroller).
OFF_SCREEN = """(el) => {
  const box = el.getBoundingClientRect();
  const width = document.documentElement.clientWidth;
  if (box.left < -1 || box.right > width + 1) return 'off the screen at ' + Math.round(box.left) + '..' + Math.round(box.right);
  for (let p = el.parentElement; p; p = p.parentElement) {
    if (getComputedStyle(p).overflowX === 'visible') continue;
    const outer = p.getBoundingClientRect();
    if (box.left < outer.left - 1 || box.right > outer.right + 1) {
      return 'hidden sideways in ' + p.tagName.toLowerCase() + '.' + p.className + ' (scroll it to see)';
    }
  }
  return null;
}"""


def _on_screen(page: Page, selector: str) -> str | None:
    found = page.locator(selector).first
    if not found.count():
        return f"{selector} missing"
    if not found.is_visible():
        return f"{selector} hidden"
    problem = found.evaluate(OFF_SCREEN)
    return f"{selector} {problem}" if problem else None


def _menu_opens(page: Page) -> list[str]:
    """At phone width the navbar's links open from the toggler and fit the screen."""
    toggler = page.locator("nav.navbar .navbar-toggler")
    if not toggler.count():
        return []
    toggler.click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    problems = [p for p in (_on_screen(page, f"#main-nav .nav-link >> nth={i}")
                            for i in range(page.locator("#main-nav .nav-link").count())) if p]
    problems += [p for p in (_on_screen(page, "#main-nav button[name=lang]"), _fits(page)) if p]
    return problems + _more_opens(page)


def _more_opens(page: Page) -> list[str]:
    """The links folded under More (an admin's) open on the screen."""
    more = page.locator("#nav-more")
    if not more.count():
        return []
    more.click()
    expect(page.locator("#main-nav .dropdown-menu")).to_be_visible()
    return [p for p in (_on_screen(page, f"#main-nav .dropdown-item >> nth={i}")
                        for i in range(page.locator("#main-nav .dropdown-item").count())) if p]


def _context(browser, lang: str, width: int):
    locale = "zh-CN" if lang == "zh" else "en-GB"
    context = browser.new_context(locale=locale, extra_http_headers={"Accept-Language": locale},
                                  viewport={"width": width, "height": 900})
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)
    expect.set_options(timeout=PATIENCE_MS)
    return context


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_fits(site, browser, lang, width):
    base, demo, _app = site
    context = _context(browser, lang, width)
    page = context.new_page()
    problems: list[str] = []
    signed_in: str | None = None
    try:
        # one sign-in per user: the visits of a user follow each other
        for visit in sorted(visits(demo), key=lambda v: (v.user or "", v.endpoint)):
            if visit.user != signed_in:
                context.clear_cookies()
                if visit.user:
                    sign_in(page, base, visit.user)
                    opened = _menu_opens(page) if width < DESK else _more_opens(page)
                    problems += [f"{visit.user}'s menu: {p}" for p in opened]
                signed_in = visit.user
            response = page.goto(base + visit.path)
            where = f"{visit.path} as {visit.user or 'nobody'}"
            if response is None or response.status != visit.status:
                problems.append(f"{where}: status {response and response.status}, not {visit.status}")
                continue
            assert "text/html" in response.headers.get("content-type", ""), where
            _settle(page)
            assert page.locator("html").get_attribute("lang") == lang, where
            problem = _fits(page)
            if problem:
                problems.append(f"{where}: {problem}")
            if width >= DESK:
                off_row = page.evaluate(NAV_ROWS)
                if off_row:
                    problems.append(f"{where}: the navbar is not one row: {off_row}")
            else:
                problems += [f"{where}: {p}" for p in (_on_screen(page, s) for s in visit.controls) if p]
    finally:
        context.close()
    assert not problems, "\n".join(problems)
