"""Data that would break an order for good: NaN, Infinity, integers beyond 64 bits, lone surrogates,
NUL characters, values JSON cannot hold, written by a script or sent to a waiting order. Each is
refused where it is written, naming the field; the order's data stays as it was."""
from __future__ import annotations

import json

from tests.support import bpmn_samples as samples
from tests.support.hostile.support import DEPLOYS, Attacks, refused

ATTACKS = Attacks()
attack = ATTACKS.attack

for _name, _script, _field in [
    ("script_stores_nan", 'x = float("nan")', "x"),
    ("script_stores_infinity", 'y = float("1e999")', "y"),
    ("script_stores_a_huge_integer", "z = 2**100", "z"),
    ("script_stores_a_lone_surrogate", 'w = "\\ud800"', "w"),
    ("script_stores_a_nul_character", 'v = "a\\x00b"', "v"),
    ("script_stores_a_set", "u = {1, 2}", "u"),
    ("script_stores_nan_deep_in_a_record", 'r = {"a": [1, float("nan")]}', "r"),
]:
    def _run(ctx, script=_script, field=_field, name=_name):
        pid = name.replace("_", "")
        assert ctx.deploy(samples.script_process(script, pid)).status_code == 201
        error = refused(ctx.json_post(f"/api/v1/processes/{pid}/instances", '{"data": {}}', "admin"),
                        409, "step_failed").json["error"]
        assert error["element_id"] == "calc" and f"'{field}" in error["cause"], error
    _run.__name__ = _name
    attack("data", stores=DEPLOYS)(_run)


@attack("data")
def message_payload_with_nan(ctx):
    body = '{"correlation": {"order_no": "x"}, "payload": {"amount": NaN}}'
    refused(ctx.json_post("/api/v1/messages/deposit_notice", body, "bank1"))


@attack("data")
def message_payload_with_a_huge_integer(ctx):
    body = json.dumps({"correlation": {"order_no": "x"}, "payload": {"amount": 10**40}})
    refused(ctx.json_post("/api/v1/messages/deposit_notice", body, "bank1"))
