"""Every HTML page at a phone's width (390 px) and a laptop's (1280 px, 1400 px), in English and
Chinese, in a real browser (Debian chromium via Playwright): the page never scrolls sideways (a wide
table scrolls inside its own box), the navbar stays one row at laptop width and opens from its
toggler on a phone, and each page's main controls are on the screen at 390 px.

The pages are those of the Flask url_map: every GET route that answers HTML. A new route fails the
test as "not visited" until ``visits`` gives it its arguments (from the seeded demo data) and the
user who may see it; routes that answer no page (the API, static files, downloads) are listed in
``NOT_PAGES``."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select
from werkzeug.serving import make_server

from orderflow import create_app
from orderflow.core.models import HumanTask, Instance, Mail
from tests.support import dbs, warm
from tests.support.browser import PATIENCE_MS, READY, assert_fits_the_width, skip_without_chromium
from tests.support.browser import login as sign_in
from tests.support.helpers import Api

pytestmark = [skip_without_chromium, pytest.mark.browser]

WIDTHS = (390, 1280, 1400)
LANGUAGES = ("en", "zh")
#: From this width on the navbar shows its links, and they must stay on one row.
DESK = 1280

#: Routes that answer no HTML page: endpoint names (GET routes under /api are left out by their path).
NOT_PAGES = {
    "static", "healthz",
    "pages.attachment",          # a stored file
    "analytics.download",        # analytics.csv
    "board.csv_export",          # board.csv
    "trust.audit_csv",           # an order's audit.csv
    "metrics.exposition",        # /metrics: Prometheus text for scrapers
}

#: A customer whose name and address are long single words, to prove that long words wrap.
LONG_CUSTOMER = "Shenzhen-Bright-Electronics-International-Trading-Company-Limited-Subsidiary-Nr-7"
LONG_EMAIL = "purchasing.department.international@bright-electronics-international.example"


@dataclass(frozen=True)
class Visit:
    endpoint: str
    path: str
    user: str | None                    # None: signed out
    controls: tuple[str, ...] = ()      # on the screen at 390 px (the first match of each)
    status: int = 200


@dataclass
class Demo:
    order: int                          # an order with long words in it
    tasks: dict[str, tuple[int, str]]   # element id -> (a ready task, who may do it)
    inbox_user: str                     # someone with unclaimed tasks
    customer: str
    link: str                           # a customer's link page, /c/<token>


def page_rules(app) -> dict[str, str]:
    """endpoint -> rule of every GET route that answers a page."""
    return {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or ()) and not rule.rule.startswith("/api/")
            and rule.endpoint not in NOT_PAGES}


def visits(demo: Demo) -> list[Visit]:
    order = demo.order
    form_fields = ("#customer", "#lines-0-product", "#lines-0-quantity", "#promised_date", "#submit")
    pages = [
        Visit("auth.login", "/login", None, ("#username", "#password", "#login")),
        Visit("customer_links.step", demo.link, None, ("#submit",)),
        Visit("pages.home", "/", "admin"),
        Visit("pages.inbox", "/inbox", demo.inbox_user,
              ("#inbox td.due", "#inbox button.claim", "#inbox a.open", "#inbox a.task-link")),
        Visit("pages.inbox", "/inbox", "admin"),
        Visit("pages.new_order", "/orders/new", "sales1", form_fields),
        Visit("pages.start", "/processes/after_sales/start", "admin", ("#submit",)),
        Visit("pages.orders", "/orders", "admin", ("main input[name=q]", "main form button[type=submit]")),
        Visit("pages.order", f"/orders/{order}", "admin"),
        Visit("pages.order", f"/orders/{order}", "sales1"),
        Visit("pages.order", "/orders/999999", "admin", status=404),   # the error page
        Visit("trust.sales_list", f"/orders/{order}/sales-list", "admin"),
        Visit("customers.index", "/customers", "admin", ("main input[name=q]", "main form button[type=submit]")),
        Visit("customers.file", f"/customers/{quote(demo.customer)}", "admin"),
        Visit("customers.file", f"/customers/{quote(LONG_CUSTOMER)}", "admin"),
        Visit("board.index", "/board", "manager1"),
        Visit("monitor.diagram", "/monitor", "manager1"),
        Visit("analytics.index", "/analytics", "manager1"),
        Visit("notifications.index", "/notifications", "admin"),
        Visit("notifications.outbox", "/outbox", "admin"),
        Visit("auth.me", "/me", "admin"),
        Visit("versions.index", "/processes", "owner1"),
        Visit("versions.versions_page", "/processes/order_flow/versions", "owner1"),
        Visit("versions.diff_page", "/processes/order_flow/diff?from=1&to=1", "owner1"),
        Visit("modeler.edit", "/processes/order_flow/edit", "owner1", ("#modeler-narrow", "#modeler-canvas")),
        Visit("modeler.new_process", "/processes/new", "owner1"),
        Visit("form_editor.index", "/processes/order_flow/forms", "owner1"),
        Visit("form_editor.edit", "/processes/order_flow/forms/new_order", "owner1", ("#schema-text", "#format-json")),
        Visit("admin.index", "/admin", "admin"),
        Visit("admin.users", "/admin/users", "admin", ("#create-user",)),
        Visit("admin.user", "/admin/users/sales1", "admin"),
        Visit("admin.groups", "/admin/groups", "admin"),
        Visit("admin.tokens_page", "/admin/tokens", "admin"),
    ]
    pages += [Visit("pages.task_page", f"/tasks/{task_id}", user, ("#complete",))
              for _element, (task_id, user) in sorted(demo.tasks.items())]
    return pages


def _seed(app) -> Demo:
    """Demo orders at every stage (``flask simulate``), one with long words, a customer's link."""
    result = app.test_cli_runner().invoke(args=["simulate", "--orders", "16", "--seed", "15", "--days", "40"])
    assert result.exit_code == 0, result.output
    api = Api(app.test_client())
    order = api.start_order(customer=LONG_CUSTOMER, customer_email=LONG_EMAIL,
                            shipping_address="Unit-1207-Tower-B-International-Commerce-Centre-Kowloon-Hong-Kong",
                            contact_name="Ms Li-Wang-Zhang-Chen-Liu-Huang-Zhao-Zhou-Wu-Xu-Sun-Ma-Hu")
    api.drive_to(order["id"], "confirm_sample")   # the customer's step: a link goes out by mail
    api.drive_to(api.start_order()["id"], "sign_release")   # the signature: a password field
    api.start_order()                                        # a new order's first step
    with app.extensions["orderflow.db"].session() as s:
        body = s.scalars(select(Mail.body).where(Mail.to == LONG_EMAIL, Mail.body.contains("/c/"))
                         .order_by(Mail.id.desc())).first()
        link = re.search(r"http://[^/]+(/c/\S+)", body).group(1)
        tasks: dict[str, tuple[int, str]] = {}
        inbox_user = None
        for task in s.scalars(select(HumanTask).where(HumanTask.status == "ready").order_by(HumanTask.id)):
            user = f"{task.group_id}1"
            tasks.setdefault(task.element_id, (task.id, user))
            if inbox_user is None and not task.assignee and not task.customer_step:
                inbox_user = user
        customer = s.scalars(select(Instance.customer).where(Instance.customer.is_not(None),
                                                             Instance.customer != LONG_CUSTOMER)).first()
    assert inbox_user and customer
    assert {"check_stock", "confirm_sample", "sign_release"} <= set(tasks), sorted(tasks)
    return Demo(order=order["id"], tasks=tasks, inbox_user=inbox_user, customer=customer, link=link)


@pytest.fixture(scope="module")
def site(seeded_template, compiled_processes, tmp_path_factory) -> Iterator[tuple[str, Demo, Flask]]:
    """One server and one set of demo data for every width and language of the module."""
    url = dbs.copy_of(seeded_template, tmp_path_factory.mktemp("widths"))
    app = create_app({"SECRET_KEY": "browser", "ORDERFLOW_DATABASE_URL": url})
    warm.prepare(app, compiled_processes)
    demo = _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", demo, app
    server.shutdown()
    app.extensions["orderflow.scheduler"].shutdown()
    app.extensions["orderflow.db"].engine.dispose()
    dbs.drop(url)


def test_every_page_is_visited(site):
    _base, demo, app = site
    rules, routes = page_rules(app), app.url_map.bind("localhost")
    for visit in visits(demo):
        assert routes.match(visit.path.split("?")[0])[0] == visit.endpoint, visit
    visited = {visit.endpoint for visit in visits(demo)}
    assert not set(rules) - visited, f"not visited: {sorted((e, rules[e]) for e in set(rules) - visited)}"
    assert not visited - set(rules), f"no such page: {sorted(visited - set(rules))}"


# What sticks out of the page on the right, and is not inside a box that scrolls or clips.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
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
  return {scroll: document.documentElement.scrollWidth, width, culprits: out.slice(-4)};
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


def _settle(page: Page) -> None:
    """Loaded, and the diagrams drawn (bpmn-js draws after the load event)."""
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
