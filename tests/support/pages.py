"""The pages of the service as its users see them: every GET route of the url_map that answers HTML,
each with the arguments it needs (from demo data made by ``flask simulate``) and the user who may see
it. ``tests/test_every_page.py`` renders each on both databases; ``tests/test_widths_browser.py``
measures each in a real browser. A new route fails both as "not visited" until ``visits`` gives it
its arguments; routes that answer no page (the API, static files, downloads) are listed in
``NOT_PAGES``."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import Flask
from sqlalchemy import select

from orderflow import create_app
from orderflow.core.models import HumanTask, Instance, Mail
from tests.support import dbs, warm
from tests.support.helpers import Api

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
        Visit("pages.start_list", "/start", "service1", ("#start-list a[data-process='after_sales']",)),
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
        Visit("versions.draft_diff_page", "/processes/order_flow/diff/draft", "owner1"),
        Visit("modeler.edit", "/processes/order_flow/edit", "owner1", ("#modeler-narrow", "#modeler-canvas")),
        Visit("modeler.new_process", "/processes/new", "owner1"),
        Visit("modeler.what_if_page", "/processes/order_flow/what-if", "owner1", ("#what-if-weeks",)),
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


def seed_demo(app) -> Demo:
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
    draft = api.get("owner1", "/api/v1/processes/order_flow/draft").json   # saved: the what-if page replays it
    assert api.client.put("/api/v1/processes/order_flow/draft", headers=api.auth("owner1"),
                          json={"bpmn": draft["bpmn"]}).status_code == 200
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


@contextmanager
def demo_app(seeded_template: str, compiled: warm.Compiled, folder: Path, **config) -> Iterator[tuple[Flask, Demo]]:
    """An app on a copy of the seeded template with the demo data of ``seed_demo``; dropped after."""
    url = dbs.copy_of(seeded_template, folder)
    app = create_app({"SECRET_KEY": "pages", "ORDERFLOW_DATABASE_URL": url, **config})
    warm.prepare(app, compiled)
    try:
        yield app, seed_demo(app)
    finally:
        app.extensions["orderflow.scheduler"].shutdown()
        app.extensions["orderflow.db"].engine.dispose()
        dbs.drop(url)


def assert_every_page_is_visited(app: Flask, demo: Demo) -> None:
    rules, routes = page_rules(app), app.url_map.bind("localhost")
    for visit in visits(demo):
        assert routes.match(visit.path.split("?")[0])[0] == visit.endpoint, visit
    visited = {visit.endpoint for visit in visits(demo)}
    assert not set(rules) - visited, f"not visited: {sorted((e, rules[e]) for e in set(rules) - visited)}"
    assert not visited - set(rules), f"no such page: {sorted(visited - set(rules))}"
