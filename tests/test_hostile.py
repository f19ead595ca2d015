"""Hostile input. Every attack in ATTACKS is refused with a 4xx — nothing runs, nothing is stored: the
row count of every table is unchanged and no marker file appears — or, where storing the input is
the point (a customer name with <script> in it), it comes back as inert text wherever it is shown.

README's "## Hostile input" states how many attacks there are; the last test keeps them in step.
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from itsdangerous import URLSafeSerializer

from orderflow import create_app
from tests import bpmn_samples as samples
from tests import dbs
from tests import hostile_samples as hs
from tests.helpers import NEW_ORDER, login
from tests.hostile_support import (
    ESCAPED,
    FORMULA,
    SCRIPT,
    Ctx,
    counts,
    deploy_refused,
    may_change,
    refused,
)

ROOT = Path(__file__).resolve().parent.parent
BIG = 6 * 1024 * 1024   # above ORDERFLOW_MAX_UPLOAD_MB (5)
START = "/api/v1/processes/order_flow/instances"
JSON, XML, FORM = "application/json", "application/xml", "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str
    run: Callable[[Ctx], None]
    stores: frozenset[str]   # tables the attack's own carrier may add rows to ("audit*": any audit table)


ATTACKS: list[Attack] = []
DEPLOYS = frozenset({"process_versions", "audit*"})
ORDERS = frozenset({"*"})   # a whole order is stored: the test is how its text comes back


def attack(kind: str, stores: frozenset[str] = frozenset()):
    def register(run: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        ATTACKS.append(Attack(run.__name__, kind, run, stores))
        return run
    return register


def req(kind: str, name: str, method: str, path: str, body: str | bytes | None = None, *, user: str = "admin",
        ctype: str = JSON, status: int = 422, words: str = "") -> None:
    """An attack that is one request: its answer's status, and ``words`` in its body."""
    def run(ctx: Ctx) -> None:
        resp = refused(ctx.send(method, path, user, data=body, headers={"Content-Type": ctype} if body else {}), status)
        assert words in resp.data.decode(), resp.data[:300]
    run.__name__ = name
    attack(kind)(run)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def order(**changes) -> str:
    return json.dumps({"data": {**NEW_ORDER, **changes}})


ROW = [{"product": "TV", "spec": "s", "quantity": 1, "unit_price": 0}]

# -- one request each ------------------------------------------------------------------------------------
for _row in [
    # XML: no DOCTYPE at all, so no entities (XXE, billion laughs) and no external DTD
    ("xml", "xxe_external_entity", "POST", "/api/v1/processes", samples.XXE, {"ctype": XML, "words": "DOCTYPE"}),
    ("xml", "xxe_parameter_entity", "POST", "/api/v1/processes", hs.XXE_PARAMETER_ENTITY, {"ctype": XML, "words": "DOCTYPE"}),
    ("xml", "xxe_external_dtd", "POST", "/api/v1/processes", hs.EXTERNAL_DTD, {"ctype": XML, "words": "DOCTYPE"}),
    ("xml", "billion_laughs", "POST", "/api/v1/processes", samples.BILLION_LAUGHS, {"ctype": XML, "words": "DOCTYPE"}),
    # sizes
    ("size", "oversized_diagram", "POST", "/api/v1/processes",
     samples.script_process("a = 1").replace("Calculate", "x" * BIG), {"ctype": XML, "status": 413, "words": "too_large"}),
    ("size", "oversized_json_body", "POST", START, json.dumps({"data": {"notes": "x" * BIG}}), {"status": 413}),
    ("size", "oversized_form_post", "POST", "/processes/order_flow/start", "customer=" + "x" * BIG,
     {"ctype": FORM, "status": 413, "user": "sales1"}),
    # SQL-looking values where a value is checked, not matched
    ("sql", "board_sort_injection", "GET", "/api/v1/board?sort=customer;DROP TABLE instances", None, {}),
    ("sql", "message_correlation_or_1_equals_1", "POST", "/api/v1/messages/deposit_notice",
     json.dumps({"correlation": {"order_no": "' OR 1=1 --"}, "payload": {}}), {"user": "bank1", "status": 404}),
    # names
    ("path", "form_key_traversal_in_a_draft", "PUT", "/api/v1/processes/order_flow/draft",
     json.dumps({"forms": {"../../forms/new_order": {"type": "object"}}}), {"user": "owner1"}),
    ("header", "header_injection_in_a_download_name", "GET", "/api/v1/processes/x%0d%0aSet-Cookie:%20pwned=1/bpmn?download=1",
     None, {"status": 404}),
    # overlong text
    ("long", "overlong_form_value", "POST", START, order(customer="x" * 100_000), {"user": "sales1", "words": "customer"}),
    ("long", "overlong_value_deep_in_a_table", "POST", START,
     order(lines=[{**ROW[0], "spec": "y" * 20_000, "unit_price": 1}]), {"user": "sales1", "words": "lines.0.spec"}),
    ("long", "overlong_board_filter", "GET", "/api/v1/board?q=" + "x" * 10_000, None, {}),
    ("long", "overlong_process_key", "GET", "/api/v1/processes/" + "k" * 5000, None, {"status": 404}),
    ("long", "overlong_message_name", "POST", "/api/v1/messages/" + "m" * 5000, '{"correlation": {"order_no": "x"}}',
     {"status": 404}),
    ("long", "overlong_draft_key", "POST", "/api/v1/processes/drafts", json.dumps({"key": "k" * 500}), {}),
    # wrong content types
    ("type", "start_with_text_plain", "POST", START, order(), {"ctype": "text/plain", "user": "sales1"}),
    ("type", "deploy_json_as_a_diagram", "POST", "/api/v1/processes", '{"bpmn": "<x/>"}', {"user": "owner1"}),
    ("type", "draft_saved_as_a_form_post", "PUT", "/api/v1/processes/order_flow/draft", "bpmn=%3Cx%2F%3E",
     {"ctype": FORM, "user": "owner1"}),
    ("type", "message_as_xml", "POST", "/api/v1/messages/deposit_notice", "<correlation/>", {"ctype": XML}),
    # JSON that is not what it seems
    ("json", "truncated_json", "POST", START, '{"data": {"customer": "ACME"', {"user": "sales1"}),
    ("json", "json_array_instead_of_object", "POST", START, json.dumps([{"data": NEW_ORDER}]), {"user": "sales1"}),
    ("json", "json_nan", "POST", START, order(lines=ROW).replace('"unit_price": 0', '"unit_price": NaN'), {}),
    ("json", "json_infinity", "POST", START, order(lines=ROW).replace('"unit_price": 0', '"unit_price": -Infinity'), {}),
    ("json", "json_1e999", "POST", START, order(lines=ROW).replace('"unit_price": 0', '"unit_price": 1e999'), {}),
    ("json", "json_huge_integer", "POST", START, order(notes=10**30), {"words": "64-bit"}),
    ("json", "json_nul_character", "POST", START, order(customer="A\u0000CME"), {"words": "NUL"}),
    ("json", "json_lone_surrogate", "POST", START, '{"data": {"customer": "\\ud800"}}', {"words": "surrogate"}),
    ("json", "deeply_nested_json", "POST", START, '{"data": ' + nested(100_000) + "}", {"words": "nested"}),
    ("json", "nested_json_beyond_the_limit", "POST", START, '{"data": {"notes": ' + nested(100) + "}}", {"words": "nested"}),
    ("json", "undeclared_fields", "POST", START, order(order_total=0.01, __class__="x"), {"words": "order_total"}),
    # numbers beyond what the database holds
    ("number", "path_id_beyond_64_bits", "GET", "/api/v1/instances/99999999999999999999999", None, {"status": 404}),
    ("number", "page_id_beyond_64_bits", "GET", "/orders/9223372036854775808", None, {"status": 404}),
    # beyond PostgreSQL's 32-bit INTEGER, within SQLite's 64 bits
    ("number", "path_id_beyond_32_bits", "GET", "/api/v1/processes/order_flow/bpmn?version=3000000000", None, {}),
    ("number", "version_beyond_64_bits", "GET", "/api/v1/processes/order_flow?version=" + "9" * 30, None, {}),
    ("number", "monitor_version_beyond_64_bits", "GET", "/api/v1/monitor/elements?process=order_flow&version=" + "9" * 30,
     None, {}),
    ("number", "unicode_digit_version", "GET", "/api/v1/monitor/elements?process=order_flow&version=²", None, {}),
    ("number", "diff_version_beyond_64_bits", "GET", "/api/v1/processes/order_flow/diff?from=1&to=" + "9" * 30, None, {}),
    ("number", "limit_beyond_64_bits", "GET", "/api/v1/instances?limit=" + "9" * 30, None, {}),
    ("number", "forged_cursor", "GET", "/api/v1/instances?cursor="
     + base64.urlsafe_b64encode(json.dumps({"o": 10**30}).encode()).decode(), None, {}),
    ("number", "migration_ids_beyond_64_bits", "POST", "/api/v1/processes/order_flow/migrations",
     json.dumps({"from": 1, "to": 2, "instance_ids": [2**64]}), {"user": "owner1"}),
    ("number", "lock_version_beyond_64_bits", "PUT", "/api/v1/processes/order_flow/draft",
     json.dumps({"lock_version": 2**64}), {"user": "owner1"}),
    # customer links: no account, so the signature and the stored digest are the only gate
    ("link", "customer_link_with_a_forged_signature", "GET", "/c/WzEsImd1ZXNzIl0.AAAAAAAAAAAAAAAAAAAAAAAAAAA", None,
     {"status": 404, "words": "not valid"}),
    ("link", "customer_link_signed_with_a_guessed_key", "GET",
     "/c/" + URLSafeSerializer("secret", salt="orderflow.customer-link").dumps([1, "guess"]), None,
     {"status": 404, "words": "not valid"}),
    ("link", "customer_link_overlong_token", "GET", "/c/" + "A" * 10_000, None, {"status": 404}),
    ("link", "customer_link_answer_without_csrf", "POST", "/c/WzEsImd1ZXNzIl0.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
     "decision=confirm", {"ctype": FORM, "status": 400, "words": "csrf_failed"}),
]:
    req(*_row[:5], **_row[5])


# -- deploys that must be refused naming the element -----------------------------------------------------
for _name, _xml, _words, _element in [
    *[(f"script_{name}", samples.script_process(script), words, "calc") for name, script, words in [
        ("import_call", f"x = {hs.TOUCH}", "__import__"), ("import_statement", "import os", "name = expression"),
        ("open_a_file", "x = open('/etc/passwd').read()", "open"),
        ("subclasses_gadget", "x = ().__class__.__mro__[1].__subclasses__()", "__class__"),
        ("list_class_gadget", "x = [].__class__", "__class__"),
        ("format_string_gadget", 'x = "{0.__class__}".format(order)', ".format()"),
        ("getattr_gadget", "x = getattr(order, '__class__')", "getattr"),
        ("lambda", "x = (lambda: 1)()", "named functions"), ("exec_call", "x = exec('import os')", "exec"),
        ("eval_call", "x = eval('1')", "eval"), ("walrus", "x = (y := 1)", "NamedExpr"),
        ("method_on_builtin", "x = str.mro()", ".mro()"), ("dunder_name", "x = __builtins__", "__builtins__")]],
    ("condition_gadget", hs.condition(hs.TOUCH), "__import__", "a"),
    ("timer_gadget", hs.timer(f"{hs.TOUCH} or 'PT1H'"), "__import__", "wait"),
    ("service_parameter_gadget", hs.service_parameter(hs.TOUCH), "__import__", None),
    ("juel_method_call", hs.JUEL_EXEC, "JUEL", "a"),
    ("java_delegate", hs.JAVA_DELEGATE, "Java", "call"),
    ("script_in_another_language", hs.OTHER_LANGUAGE, "javascript", "calc"),
    ("form_key_traversal_in_a_diagram", hs.form_key("../../../../etc/passwd"), "form", "approve"),
]:
    def _run(ctx, xml=_xml, words=_words, element=_element):
        deploy_refused(ctx, xml, words, element)
    _run.__name__ = _name
    attack("path" if "traversal" in _name else "code")(_run)


@attack("xml")
def xxe_in_a_dmn_file(ctx): refused(ctx.upload("owner1", {"ship.bpmn": hs.SHIP, "shipping.dmn": hs.DMN_XXE}))
@attack("code")
def dmn_cell_gadget(ctx): refused(ctx.upload("owner1", {"ship.bpmn": hs.SHIP, "shipping.dmn": hs.DMN_GADGET}))
@attack("type")
def deploy_files_of_other_types(ctx): refused(ctx.upload("owner1", {"run.sh": "touch /tmp/x", "evil.py": "import os"}))
@attack("size")
def oversized_attachment(ctx): refused(ctx.start_hostile("big.pdf", note="x" * BIG), 413)


@attack("xml", stores=DEPLOYS)
def xinclude_is_not_followed(ctx):
    assert ctx.deploy(hs.XINCLUDE).status_code in (201, 422)
    assert b"root:x:0:0" not in ctx.send("GET", "/api/v1/processes/xincluded/bpmn").data


# -- runaway work: the diagram deploys, the step is stopped ----------------------------------------
# Stopped by a bound on the work, never timed: the refusal names the bound that was hit (data built,
# number or iterable too large), so the budget stopped the work before it was done (not a MemoryError
# after the allocation); the loop's incident counts the steps it was allowed.

_SIZE_BOUND = re.compile(r"too\s*(much|long|high|large|many|big)|limit|budget", re.I)


def _stopped_by_a_size_bound(error: dict) -> None:
    assert error["element_id"] == "calc", error
    assert _SIZE_BOUND.search(error["cause"]) and "MemoryError" not in error["cause"], error


for _name, _script in [("huge_list", "x = [1]*10**9"), ("huge_string", 'x = "x"*10**9'),
                       ("nested_allocation", "x = [[1]*99999]*99999"), ("huge_power", "x = 10**10**10"),
                       ("comprehension_bomb", 'x = [i for i in "x"*999999 for j in "y"*999999]')]:
    def _run(ctx, script=_script, name=_name):
        pid = name.replace("_", "")
        assert ctx.deploy(samples.script_process(script, pid)).status_code == 201
        error = refused(ctx.json_post(f"/api/v1/processes/{pid}/instances", '{"data": {}}', "admin"),
                        409, "step_failed").json["error"]
        _stopped_by_a_size_bound(error)
    _run.__name__ = f"runaway_{_name}"
    attack("runaway", stores=DEPLOYS)(_run)


@attack("runaway", stores=ORDERS)
def endless_loop_becomes_an_incident(ctx):
    assert ctx.deploy(samples.LOOP_FOREVER).status_code == 201
    resp = ctx.json_post("/api/v1/processes/looping/instances", '{"data": {}}', "admin")
    assert resp.status_code == 201 and resp.json["status"] == "error", resp.json
    incidents = ctx.api.get("admin", f"/api/v1/instances/{resp.json['id']}").json["incidents"]
    assert incidents and incidents[0]["element_id"] in {"count", "merge"}, incidents
    steps = re.search(r"ran (\d+) steps without waiting", incidents[0]["message"])
    budget = ctx.app.extensions["orderflow.platform"].runtime.max_steps
    assert steps and 0 < int(steps.group(1)) <= budget, incidents  # a step bound stopped it, counted in steps


# -- template injection: form titles and values are text, never templates --------------------------

def _inert(page: str, ctx: Ctx) -> None:
    """``{{ 7*7 }}`` still reads so (a template would have made it 49); no config, no class list."""
    assert hs.TEMPLATE_TEXT in page
    assert ctx.app.config["SECRET_KEY"] not in page and "&lt;Config" not in page and "<Config" not in page
    assert "<class " not in page and "&lt;class " not in page  # the gadget's title is shown, not run


@attack("template")
def template_in_start_form_title(ctx):
    page = ctx.send("GET", "/processes/hostile/start", "sales1")
    assert page.status_code == 200
    text = page.data.decode()
    assert hs.TEMPLATE_TEXT in text and "{% raw %}{{ config }}{% endraw %}" in text and "{% for c in" in text
    assert "&lt;b&gt;bold?&lt;/b&gt;" in text
    _inert(text, ctx)


@attack("template", stores=ORDERS)
def template_in_task_form_title(ctx):
    started = ctx.start_hostile("a.pdf")
    assert started.status_code == 201, started.json
    task = started.json["open_tasks"][0]
    text = ctx.send("GET", f"/tasks/{task['id']}", "sales1").data.decode()
    assert f"Look {hs.TEMPLATE_TEXT}" in text and "{% for c in" in text
    _inert(text, ctx)


@attack("template")
def template_in_order_data(ctx):
    text = ctx.send("GET", f"/orders/{ctx.xss_order['id']}", "manager1").data.decode()
    assert hs.TEMPLATE_TEXT in text
    _inert(text, ctx)


# -- XSS: what people typed comes back escaped on every page, literal in CSV, typed in JSON --------

@attack("xss")
def xss_on_the_order_page(ctx):
    text = ctx.send("GET", f"/orders/{ctx.xss_order['id']}", "manager1").data.decode()
    assert text.count(ESCAPED) >= 2 and SCRIPT not in text  # customer and a line's specification
    assert "&lt;img src=x onerror=alert(1)&gt;" in text and "<img src=x" not in text


@attack("xss")
def xss_on_the_board(ctx):
    text = ctx.send("GET", "/board", "manager1").data.decode()
    assert ESCAPED in text and SCRIPT not in text


@attack("xss")
def xss_on_the_task_page(ctx):
    text = ctx.send("GET", f"/tasks/{ctx.check_stock['id']}", "warehouse1").data.decode()
    assert ESCAPED in text and SCRIPT not in text


@attack("xss")
def xss_in_the_inbox_and_orders_list(ctx):
    for path, user in (("/inbox", "warehouse1"), ("/orders", "manager1"), (f"/orders?q={SCRIPT}", "manager1")):
        text = ctx.send("GET", path, user).data.decode()
        assert SCRIPT not in text, path


@attack("xss")
def xss_and_formulas_in_the_csv_export(ctx):
    resp = ctx.send("GET", "/board.csv", "manager1")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    text = resp.data.decode("utf-8-sig")
    assert SCRIPT in text  # CSV is not HTML: the value is kept as typed, and never rendered
    assert "'" + FORMULA.replace('"', '""') in text and "\n" + FORMULA not in text  # formulas are defused


@attack("xss")
def xss_in_the_json_api(ctx):
    resp = ctx.send("GET", f"/api/v1/instances/{ctx.xss_order['id']}", "manager1")
    assert resp.mimetype == "application/json" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.json["customer"].startswith(SCRIPT)


@attack("xss", stores=ORDERS)
def xss_in_an_attachment_name(ctx):
    started = ctx.start_hostile("<svg onload=alert(1)>.pdf")
    assert started.status_code == 201, started.json
    text = ctx.send("GET", f"/tasks/{started.json['open_tasks'][0]['id']}", "sales1").data.decode()
    assert "&lt;svg onload=alert(1)&gt;.pdf" in text and "<svg onload" not in text  # the task shows the file


# -- SQL-looking values are values --------------------------------------------------------------------

@attack("sql")
def board_filter_or_1_equals_1(ctx):
    resp = ctx.send("GET", "/api/v1/board?customer=' OR 1=1 --", "manager1")
    assert resp.status_code == 200 and resp.json["total"] == 0 and resp.json["items"] == []


@attack("sql")
def board_search_drop_table(ctx):
    resp = ctx.send("GET", "/api/v1/board?q='; DROP TABLE instances; --", "manager1")
    assert resp.status_code == 200 and resp.json["total"] == 0
    assert ctx.send("GET", "/board?q=%27%3B%20DROP%20TABLE%20instances%3B%20--", "manager1").status_code == 200


@attack("sql")
def instances_filters_or_1_equals_1(ctx):
    for query in ("business_key=' OR '1'='1", "status=running' OR 1=1 --", "process=x' UNION SELECT * FROM users --",
                  "element=' OR 1=1 --"):
        resp = ctx.send("GET", f"/api/v1/instances?{query}", "manager1")
        assert resp.status_code == 200 and resp.json["items"] == [], query


@attack("sql")
def inbox_filter_or_1_equals_1(ctx):
    resp = ctx.send("GET", "/api/v1/tasks?scope=all&process=' OR 1=1 --", "manager1")
    assert resp.status_code == 200 and resp.json["items"] == []


@attack("sql")
def login_name_comment(ctx):
    token = re.search(r'name="csrf_token" value="([^"]+)"', ctx.client.get("/login").data.decode()).group(1)
    assert ctx.client.post("/login", data={"username": "admin' --", "password": "x", "csrf_token": token}).status_code == 401


# -- paths and names -------------------------------------------------------------------------------------

@attack("path")
def form_key_traversal_in_the_api(ctx):
    for path in ("/api/v1/forms/..%2F..%2F..%2Fetc%2Fpasswd", "/api/v1/forms/../../etc/passwd",
                 "/api/v1/forms/%2e%2e%2fconfig?process=order_flow", "/api/v1/forms/.hidden"):
        assert ctx.send("GET", path, "owner1").status_code == 404, path


@attack("path", stores=ORDERS)
def attachment_name_traversal(ctx):
    name = f"../../../../..{hs.MARKER}"
    started = ctx.start_hostile(name)
    assert started.status_code == 201, started.json
    download = ctx.send("GET", f"/attachments/{ctx.attachment(started)}", "sales1")
    assert download.status_code == 200 and download.data == b"%PDF-1"
    assert download.headers["Content-Disposition"] == 'attachment; filename=orderflow-hostile-marker'


@attack("header", stores=ORDERS)
def header_injection_in_a_file_name(ctx):
    # RFC 2231 lets a multipart part name its file percent-encoded: line breaks arrive intact
    body = ('--b\r\nContent-Disposition: form-data; name="data"\r\n\r\n{"note": "n"}\r\n--b\r\n'
            "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''evil%0D%0ASet-Cookie%3A%20pwned%3D1%0D%0A.pdf"
            '\r\nContent-Type: application/pdf\r\n\r\n%PDF-1\r\n--b--\r\n')
    started = ctx.send("POST", "/api/v1/processes/hostile/instances", "sales1", data=body.encode(),
                       headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert started.status_code == 201, started.json
    download = ctx.send("GET", f"/attachments/{ctx.attachment(started)}", "sales1")
    assert download.status_code == 200 and "pwned" not in download.headers.get("Set-Cookie", "")
    disposition = download.headers["Content-Disposition"]
    assert "Set-Cookie" in disposition and "\n" not in disposition and "\r" not in disposition, disposition


@attack("header")
def open_redirect_after_login(ctx):
    client = ctx.app.test_client()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        page = client.get(f"/login?next={target}").data.decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        resp = client.post(f"/login?next={target}", data={"username": "sales1", "password": "demo", "csrf_token": token})
        location = resp.headers["Location"]
        assert resp.status_code == 302 and location.startswith("/") and not location.startswith("//"), target
        assert "\\" not in location and "://" not in location and not location.startswith("/javascript"), target
        client.post("/logout", data={"csrf_token": token})


@attack("long")
def overlong_user_name(ctx): refused(ctx.send("GET", "/api/v1/tasks", headers=ctx.api.auth("u" * 100_000)), 401)
@attack("long")
def overlong_board_filter_on_the_page(ctx):
    assert ctx.send("GET", "/board?customer=" + "x" * 10_000, "manager1").status_code == 422


@attack("type")
def complete_with_an_xml_body(ctx):
    refused(ctx.json_post(f"/api/v1/tasks/{ctx.check_stock['id']}/complete", "<data><decision>confirm</decision></data>",
                          "warehouse1", XML))


@attack("type")
def multipart_body_part_not_an_object(ctx):
    refused(ctx.send("POST", START, "sales1", content_type="multipart/form-data", data={"body": "[1, 2]", "data": "{}"}))


@attack("json")
def deeply_nested_json_in_a_multipart_part(ctx):
    refused(ctx.send("POST", START, "sales1", content_type="multipart/form-data", data={"data": nested(50_000)}))


@attack("auth")
def malformed_basic_credentials(ctx):
    for header in ("Basic %%%", "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(), "Basic", "Digest x=1",
                   "Bearer ", "Basic " + base64.b64encode(b"admin").decode()):
        refused(ctx.client.get("/api/v1/tasks", headers={"Authorization": header}), 401)


@attack("auth")
def cookie_write_without_csrf_token(ctx):
    client = ctx.app.test_client()
    login(client, "sales1")
    refused(client.post(START, json={"data": NEW_ORDER}), 400, "csrf_failed")


# -- the run ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    url = dbs.fresh_url(tmp_path_factory.mktemp("hostile"), "hostile")
    app = create_app({"TESTING": True, "SECRET_KEY": "hostile-secret-key-4f1c", "ORDERFLOW_DATABASE_URL": url})
    runner = app.test_cli_runner()
    for command in (["init-db"], ["deploy"], ["seed-demo"]):
        assert runner.invoke(args=command).exit_code == 0
    hs.MARKER.unlink(missing_ok=True)
    yield Ctx(app)
    app.extensions["orderflow.db"].engine.dispose()
    dbs.drop(url)


@pytest.mark.parametrize("hostile", ATTACKS, ids=lambda a: f"{a.kind}-{a.name}")
def test_the_attack_is_refused_and_nothing_runs_or_stays(ctx, hostile: Attack):
    before = counts(ctx.app)
    hostile.run(ctx)
    after = counts(ctx.app)
    changed = {t for t in before if before[t] != after[t] and not may_change(t, hostile.stores)}
    assert not changed, {t: (before[t], after[t]) for t in changed}
    assert not hs.MARKER.exists(), "a payload ran a command"


def test_the_readme_states_how_many_attacks_there_are():
    names = [a.name for a in ATTACKS]
    assert len(names) == len(set(names)), "two attacks share a name"
    section = (ROOT / "README.md").read_text().split("## Hostile input", 1)[1].split("\n## ", 1)[0]
    stated = re.search(r"(\d+) attacks", section)
    assert stated and int(stated.group(1)) == len(ATTACKS), \
        f"README says {stated and stated.group(0)}, tests/test_hostile.py has {len(ATTACKS)} attacks"
