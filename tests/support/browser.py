"""Shared pytest-playwright configuration for Orderflow browser tests.

Import these into a conftest so that pytest-playwright drives Debian's system
Chromium (``apt-get install chromium``) instead of a Playwright-downloaded
browser (``playwright install`` is not available in our environments), with one
patient bound on every wait::

    from tests.support.browser import browser_type_launch_args, context, skip_without_chromium  # noqa: F401

    @skip_without_chromium
    def test_home(page, live_server): ...

Tests marked with ``skip_without_chromium`` (or using ``pytestmark =
skip_without_chromium``) are skipped when the browser is absent, so the suite
still passes on machines where chromium could not be installed.
"""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

#: Path of the system Chromium used for browser tests. ``ORDERFLOW_CHROMIUM``
#: may point elsewhere (e.g. a local build); default is Debian's package.
CHROMIUM_PATH = os.environ.get("ORDERFLOW_CHROMIUM", "/usr/bin/chromium")

#: Flags for a quiet, reproducible headless run (works as root/in containers).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


#: The one bound on every browser wait (launch, navigation, selectors, ``expect``), in milliseconds.
#: Tests wait on events (a page loaded, an element shown); the bound only ends a hang, so it is far
#: above what a loaded machine (load average 16) needs and no test sets a shorter one of its own.
PATIENCE_MS = 180_000


def chromium_available() -> bool:
    """True when the system Chromium executable exists."""
    return os.path.exists(CHROMIUM_PATH)


#: Marker: skip a test (or module, via ``pytestmark``) when chromium is missing.
skip_without_chromium = pytest.mark.skipif(
    not chromium_available(),
    reason=f"system Chromium not found at {CHROMIUM_PATH} (apt-get install chromium)",
)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Override pytest-playwright's launch args to use the system Chromium."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM_PATH,
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
        "timeout": PATIENCE_MS,
    }


@pytest.fixture
def context(context):
    """pytest-playwright's context, every page of it and every ``expect`` waiting up to PATIENCE_MS."""
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)
    expect.set_options(timeout=PATIENCE_MS)
    return context


READY = "#modeler[data-ready='true']"


def login(page, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", "demo")
    page.click("#login")
    page.wait_for_url(f"{base}/inbox")


def signed_in(browser, base: str, user: str, locale: str = "en-GB", width: int = 1400):
    """A new context at ``width`` in ``locale`` (its Accept-Language too), signed in as ``user``
    through the form; returns (context, page) on the inbox. The caller closes the context."""
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900},
                                  extra_http_headers={"Accept-Language": locale})
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)
    page = context.new_page()
    login(page, base, user)
    return context, page


def open_modeler(page, base: str, key: str = "order_flow") -> None:
    page.goto(f"{base}/processes/{key}/edit")
    page.wait_for_selector(READY)


def assert_fits_the_width(page) -> None:
    """The page does not scroll sideways once it has settled: loaded, and its scripts done with
    what they hide or wrap (on a loaded machine they may run a while after the HTML is shown). A
    page that never fits fails by the timeout; none that fits waits for it."""
    page.wait_for_load_state("load")
    page.wait_for_function("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1",
                           timeout=PATIENCE_MS)


def click_element(page, element_id: str) -> None:
    """Bring the element into view (the whole flow is large) and click it like a person."""
    page.evaluate("""id => {
        const m = window.orderflowModeler, el = m.get('elementRegistry').get(id), canvas = m.get('canvas');
        const box = canvas.viewbox(), w = box.outer.width, h = box.outer.height;
        canvas.viewbox({x: el.x + el.width / 2 - w / 2, y: el.y + el.height / 2 - h / 2, width: w, height: h});
    }""", element_id)
    page.click(f".djs-shape[data-element-id='{element_id}']")
    page.wait_for_selector(f"#modeler-panel[data-element-id='{element_id}']")
