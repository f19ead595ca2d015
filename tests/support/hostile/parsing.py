"""Input that breaks parsers: XML (entities, DTDs, XInclude), sizes, overlong text, wrong content
types, JSON that is not what it seems, numbers beyond what the database holds."""
from __future__ import annotations

import base64
import json

from tests.support import bpmn_samples as samples
from tests.support.helpers import NEW_ORDER
from tests.support.hostile import samples as hs
from tests.support.hostile.support import DEPLOYS, FORM, XML, Attacks, refused

ATTACKS = Attacks()
attack = ATTACKS.attack
BIG = 6 * 1024 * 1024   # above ORDERFLOW_MAX_UPLOAD_MB (5)
START = "/api/v1/processes/order_flow/instances"


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
]:
    ATTACKS.request(*_row[:5], **_row[5])


@attack("xml")
def xxe_in_a_dmn_file(ctx): refused(ctx.upload("owner1", {"ship.bpmn": hs.SHIP, "shipping.dmn": hs.DMN_XXE}))
@attack("type")
def deploy_files_of_other_types(ctx): refused(ctx.upload("owner1", {"run.sh": "touch /tmp/x", "evil.py": "import os"}))
@attack("size")
def oversized_attachment(ctx): refused(ctx.start_hostile("big.pdf", note="x" * BIG), 413)


@attack("xml", stores=DEPLOYS)
def xinclude_is_not_followed(ctx):
    assert ctx.deploy(hs.XINCLUDE).status_code in (201, 422)
    assert b"root:x:0:0" not in ctx.send("GET", "/api/v1/processes/xincluded/bpmn").data


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
