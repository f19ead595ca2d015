"""Attacks through what the web shows and follows: template injection, XSS, SQL-looking values,
paths and headers, customer links, credentials and CSRF."""
from __future__ import annotations

import base64
import json
import re

from itsdangerous import URLSafeSerializer

from tests.support.helpers import NEW_ORDER, login
from tests.support.hostile import samples as hs
from tests.support.hostile.support import ESCAPED, FORM, FORMULA, ORDERS, SCRIPT, Attacks, Ctx, refused

ATTACKS = Attacks()
attack = ATTACKS.attack
START = "/api/v1/processes/order_flow/instances"

for _row in [
    # SQL-looking values where a value is checked, not matched
    ("sql", "board_sort_injection", "GET", "/api/v1/board?sort=customer;DROP TABLE instances", None, {}),
    ("sql", "message_correlation_or_1_equals_1", "POST", "/api/v1/messages/deposit_notice",
     json.dumps({"correlation": {"order_no": "' OR 1=1 --"}, "payload": {}}), {"user": "bank1", "status": 404}),
    # names
    ("path", "form_key_traversal_in_a_draft", "PUT", "/api/v1/processes/order_flow/draft",
     json.dumps({"forms": {"../../forms/new_order": {"type": "object"}}}), {"user": "owner1"}),
    ("header", "header_injection_in_a_download_name", "GET", "/api/v1/processes/x%0d%0aSet-Cookie:%20pwned=1/bpmn?download=1",
     None, {"status": 404}),
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
    ATTACKS.request(*_row[:5], **_row[5])


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

