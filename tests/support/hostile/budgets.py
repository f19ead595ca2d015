"""Work without a budget: each attack would hold a worker (and, inside one C call, the whole process)
for minutes on a backtracking regex, big-integer arithmetic, string formatting, a comprehension, a
timer cycle of no period, deep nesting or a huge list. Each is stopped by a bound on the work —
counted, never timed — and answered with a 4xx naming the field, the element or the bound."""
from __future__ import annotations

import json
import re

from tests.support import bpmn_samples as samples
from tests.support.helpers import NEW_ORDER, login
from tests.support.hostile import samples as hs
from tests.support.hostile.support import DEPLOYS, FORM, Attacks, deploy_refused, refused

ATTACKS = Attacks()
attack = ATTACKS.attack
START = "/api/v1/processes/order_flow/instances"
_BOUND = re.compile(r"too\s*(much|long|high|large|many|big|deep)|limit|budget|beyond|over \d|at most|steps|digits", re.I)


def _step_stopped(ctx, script: str, pid: str) -> None:
    """The script deploys; running it is a 409 naming its element and the bound that stopped it."""
    assert ctx.deploy(samples.script_process(script, pid)).status_code == 201
    error = refused(ctx.json_post(f"/api/v1/processes/{pid}/instances", '{"data": {}}', "admin"),
                    409, "step_failed").json["error"]
    assert error["element_id"] == "calc" and _BOUND.search(error["cause"]), error
    assert "MemoryError" not in error["cause"] and "Traceback" not in error["cause"], error


# -- regexes: a form's pattern runs on RE2 (linear time); what RE2 cannot run is refused at deploy ---------

@attack("regex", stores=DEPLOYS)
def form_pattern_with_nested_quantifiers(ctx):
    assert ctx.upload("owner1", hs.patterned("^(a+)+$")).status_code == 201
    body = json.dumps({"data": {"code": "a" * 50_000 + "!"}})
    error = refused(ctx.json_post("/api/v1/processes/patterned/instances", body, "admin")).json["error"]
    assert "code" in error["fields"], error


@attack("regex", stores=DEPLOYS)
def form_pattern_alternation_bomb(ctx):
    assert ctx.upload("owner1", hs.patterned("^(a|aa)+$", "alternating")).status_code == 201
    body = json.dumps({"data": {"code": "a" * 50_000 + "!"}})
    refused(ctx.json_post("/api/v1/processes/alternating/instances", body, "admin"))


@attack("regex")
def form_pattern_with_a_back_reference(ctx):
    error = refused(ctx.upload("owner1", hs.patterned(r"^(a+)\1$", "backref"))).json["error"]
    assert any("code" in p["message"] for p in error.get("problems", [error])), error


@attack("regex")
def form_pattern_with_a_look_ahead(ctx):
    refused(ctx.upload("owner1", hs.patterned(r"^(?=a)(a*)*$", "lookahead")))


# -- expressions and scripts: counted work, bounded numbers and texts -------------------------------------

for _name, _script in [
    ("big_integer_products", "a = 9**4000000\nb = a*a\nc = b*b\nd = c*c"),
    ("big_integer_power_tower", "x = 2**(2**(2**5))"),
    ("format_string_padding", 'x = "%0999999999d" % 1'),
    ("format_string_star_width", 'x = "%*d" % (999999999, 1)'),
    ("comprehension_that_builds_nothing", 'x = [1 for a in "x"*99999 for b in "x"*99999 if 0]'),
    ("sorting_a_huge_list", "x = sorted([3, 1, 2]*300000)"),
    ("integer_from_endless_digits", 'x = int("9"*4000)'),
    ("text_of_a_huge_number", "x = str(7**300000)"),
    ("work_spread_over_many_lines", "\n".join(f"x{i} = len([1 for a in 'x'*999 for b in 'y'*99])" for i in range(60))),
]:
    def _run(ctx, script=_script, name=_name):
        _step_stopped(ctx, script, name.replace("_", ""))
    _run.__name__ = _name
    attack("budget", stores=DEPLOYS)(_run)


# -- nesting and length, bounded before anything is parsed -------------------------------------------------

for _name, _expression in [("ten_thousand_brackets", "(" * 10_000 + "1" + ")" * 10_000),
                           ("hundred_thousand_nots", "not " * 100_000 + "x"),
                           ("hundred_thousand_minus_signs", "-" * 100_000 + "1"),
                           ("a_list_ten_thousand_deep", "[" * 10_000 + "]" * 10_000 + " == x"),
                           ("a_megabyte_condition", "x == 1 or " * 100_000 + "x == 2")]:
    def _run(ctx, expression=_expression):
        error = refused(ctx.deploy(hs.condition(expression)), 422).json["error"]
        assert any(p.get("element_id") == "a" for p in error["problems"]), error["problems"][:3]
    _run.__name__ = _name
    attack("nesting")(_run)


@attack("nesting")
def a_form_ten_thousand_objects_deep(ctx):
    error = refused(ctx.upload("owner1", hs.nested_form(10_000))).json["error"]
    assert "deepform_start.json" in json.dumps(error), error


@attack("nesting")
def a_script_of_a_hundred_thousand_lines(ctx):
    error = refused(ctx.deploy(samples.script_process("\n".join(f"x{i} = {i}" for i in range(100_000)), "long")),
                    422).json["error"]
    assert any(p.get("element_id") == "calc" for p in error["problems"]), error["problems"][:3]


# -- timers: a cycle has a minimum period --------------------------------------------------------------------

for _name, _cycle in [("zero_period_timer_cycle", "R/PT0S"), ("millisecond_timer_cycle", "R100000/PT0.001S"),
                      ("zero_day_timer_cycle", "R/P0D"), ("endless_duration_digits", "R/P" + "1" * 100_000 + "Y")]:
    def _run(ctx, cycle=_cycle):
        deploy_refused(ctx, hs.timer_start(cycle), "", "tick")
    _run.__name__ = _name
    attack("timer")(_run)


# -- lists: bounded per field before validation --------------------------------------------------------------

@attack("list")
def forty_thousand_empty_lines(ctx):
    body = json.dumps({"data": {**NEW_ORDER, "lines": [{}] * 40_000}})
    error = refused(ctx.json_post(START, body, "sales1")).json["error"]
    assert "lines" in error["fields"], error


@attack("list")
def forty_thousand_lines_in_a_page_post(ctx):
    client = ctx.app.test_client()
    token = login(client, "sales1")
    body = f"csrf_token={token}&customer=Acme&" + "&".join(f"lines-{i}-product=x" for i in range(40_000))
    page = refused(client.post("/processes/order_flow/start", data=body, content_type=FORM))
    assert "500" in page.data.decode()  # the table's bound is named
