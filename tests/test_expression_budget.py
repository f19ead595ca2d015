"""The expression language's work budget: counted, never timed, so every refusal names its bound.

Each class of runaway work (big integers, text formatting, comprehension rounds, work over long
values, deep nesting, over-long text, unclean stored values) is refused with an ExpressionError
whose words name the limit, before the work is done; a few go through the HTTP API (409 at run
time, 422 naming the element at deploy). No test asserts on time.
"""
from __future__ import annotations

import pytest

from orderflow.engine import expressions as ex
from orderflow.engine.expressions import ExpressionError, check_expression, evaluate, parse_script, run_script
from tests.support import bpmn_samples as samples
from tests.support.helpers import Api

WORK = "too much work"
DATA = "too much data"
LARGE = "grows too large"
DEEP = "nested too deeply"


def refused(expression: str, words: str, data: dict | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, dict(data or {}))
    assert words in caught.value.message, caught.value.message
    assert "Error" not in caught.value.message  # never Python's exception name
    return caught.value


def script_refused(script: str, words: str, data: dict | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        run_script(script, dict(data or {}))
    assert words in caught.value.message, caught.value.message
    return caught.value


# -- integers are bounded by bit length before the C call -----------------------------------------

@pytest.mark.parametrize("expression", [
    "10**4000000 * 10**4000000", "9**9**9", "9**4000000", "2**5000", "(2**3000) * (2**3000)",
    "(-7)**4000", "True * 10**1000 * 10**1000 * 10**1000 * 10**1000 * 10**1000", "10**10**10",
    "int('9' * 1000) * int('9' * 1000)", "1" + "0" * 1300, "round(2**4000, -300) * 2**4000",
])
def test_big_integers_are_refused_before_they_are_computed(expression):
    assert f"{ex.INT_DIGITS:,} digits" in refused(expression, LARGE).message


def test_numbers_of_money_size_and_harmless_powers_still_work():
    assert evaluate("2**4000 // 2**3990", {}) == 1024
    assert evaluate("1**(10**1000) + (-1)**(10**1000) + 0**(10**1000)", {}) == 2
    assert evaluate("2 ** -2", {}) == 0.25
    assert evaluate("round(1234567, -3)", {}) == 1235000
    assert evaluate("int('1' * 30) % 7", {}) == int("1" * 30) % 7


def test_a_product_chain_over_script_lines_shares_one_budget():
    # each line's number stays under the cap and is reduced before it is stored; the work adds up
    line = "y = (x * x * x * x * x * x * x * x) % 1000003"
    data: dict = {"x": 2**500}
    run_script("\n".join([line] * 10), data)  # a few lines are fine
    error = script_refused("\n".join([line] * 2000), WORK, {"x": 2**500})
    assert error.line and error.line > 10


def test_long_number_text_is_not_read():
    refused("int('9' * 5000)", "too long to read as a number")
    refused("float('1' * 5000)", "too long to read as a number")
    refused("round(5, -10**9)", "at most 300 decimal places")


# -- text formatting with % ------------------------------------------------------------------------

@pytest.mark.parametrize("expression", ['"%0999999999d" % 1', '"%*d" % (10**9, 1)', '"%s" % "x"',
                                        "'%(a)s' % {'a': 1}"])
def test_percent_formatting_of_text_is_refused(expression):
    refused(expression, "Formatting text with % is not supported")


def test_percent_on_numbers_stays_modulo():
    assert evaluate("17 % 5", {}) == 2
    assert evaluate("amount % 100", {"amount": 250}) == 50


# -- comprehension rounds and work over long values -----------------------------------------------

@pytest.mark.parametrize("expression, words", [
    ('[1 for a in "x"*99999 for b in "x"*99999 if 0]', WORK),   # builds nothing, still counted
    ('[1 for a in "x"*1000 for b in "x"*1000]', WORK),
    ('[1 for a in "x"*100 for b in "x"*100 for c in "x"*100]', WORK),
    ('[[b for b in "x"*2000] for a in "x"*2000]', WORK),
    ('{a: 1 for a in "x"*1000 for b in "x"*1000}', WORK),
    ("sorted([3, 1, 2] * 30000)", WORK),
    ('[sorted(l) for l in [[3, 1, 2] * 1000] for i in "x" * 1000]', WORK),
    ('("ab " * 33000).split() + ("ab " * 33000).split() + ("ab " * 33000).split()', DATA),
    ('[s.split() for s in ["a b " * 10000] for i in "x" * 1000]', DATA),
    ('[s.lower() for s in ["A" * 90000] for i in "x" * 1000]', WORK),
    ('[s.count("a") for s in ["A" * 90000] for i in "x" * 1000]', WORK),
    ('[9 in l for l in [[1] * 90000] for i in "x" * 1000]', WORK),
    ('["ab" in s for s in ["a" * 90000] for i in "x" * 1000]', WORK),
    ('[l == m for l in [[1] * 50000] for m in [[1] * 50000] for i in "x" * 1000]', WORK),
    ('[max(l) for l in [[1] * 50000] for i in "x" * 1000]', WORK),
    ('[sum(l) for l in [[1] * 50000] for i in "x" * 1000]', WORK),
    ('[any(l) for l in [[0] * 50000] for i in "x" * 1000]', WORK),
    ('[str(l) for l in [[1] * 5000] for i in "x" * 1000]', DATA),
    ('[s[::-1] for s in ["x" * 50000] for i in "x" * 1000]', DATA),
    ('[{**d} for d in [{"k" + str(i): i for i in "abcdefghij"}] for i in "x" * 99999]', DATA),
    ('[int(t) for t in ["9" * 1000] for i in "x" * 99999]', WORK),
    ('[3**2040 for i in "x" * 99999]', WORK),
    ("[[1] * 99999] * 99999", DATA), ('"x" * 10**9', DATA), ("[[1]*999]*999 + [[1]*999]*999", DATA),
])
def test_work_is_counted_and_refused_naming_the_budget(expression, words):
    assert f"{ex.FUEL:,}" in refused(expression, words).message


def test_work_over_order_data_is_counted_too():
    data = {"lines": [{"sku": "x" * 50, "qty": i} for i in range(2000)]}
    assert evaluate("sum([l['qty'] for l in lines])", data) == sum(range(2000))
    refused("[str(lines) for i in 'x' * 1000]", DATA, data)
    refused("[sorted([l['qty'] for l in lines]) for i in 'x' * 1000]", WORK, data)


def test_method_references_cannot_escape_their_cost():
    refused('sorted([1, 2], key=("x" * 9).count)', "must be called")
    assert evaluate("record.count", {"record": {"count": 3}}) == 3  # a field named like a method


def test_ordinary_expressions_stay_far_inside_the_budget():
    data = {"lines": [{"product": f"P{i}", "quantity": i, "unit_price": 1.5} for i in range(500)],
            "customer": "Shenzhen Bright Electronics"}
    assert evaluate("sum([l['quantity'] * l['unit_price'] for l in lines]) > 1000", data) is True
    assert evaluate("customer.lower().startswith('shenzhen') and len(customer.split()) == 3", data)
    assert evaluate("sorted([l.quantity for l in lines])[-1]", data) == 499
    assert evaluate("max([l.quantity for l in lines if l.product != 'P3'])", data) == 499
    assert ex._evaluator().spent < ex.FUEL // 10


# -- nesting and length bounded before parsing -----------------------------------------------------

@pytest.mark.parametrize("expression", [
    "(" * 10_000 + "1" + ")" * 10_000, "[" * 10_000 + "]" * 10_000, "-" * 100_000 + "1",
    "not " * 100_000 + "x", "-(" * 5_000 + "1" + ")" * 5_000, "{'a': " * 3000 + "1" + "}" * 3000,
    "(" * 60 + "1" + ")" * 60, "- + " * 30 + "1",
])
def test_deep_nesting_is_refused_before_parsing(expression):
    for check in (check_expression, lambda e: evaluate(e, {"x": 1}), lambda e: parse_script(f"y = {e}")):
        with pytest.raises(ExpressionError) as caught:
            check(expression)
        assert DEEP in caught.value.message or "longer than" in caught.value.message, caught.value.message
        assert len(caught.value.expression) < 300  # deploy problems quote it shortened


def test_long_operator_chains_are_bounded_after_parsing():
    with pytest.raises(ExpressionError) as caught:
        check_expression("+".join(["1"] * 150))   # no brackets: the tree is 150 levels deep
    assert f"over {ex.MAX_DEPTH} levels" in caught.value.message
    with pytest.raises(ExpressionError) as caught:
        check_expression("1" + "+1" * 9000)       # deep enough to break ast.parse itself
    assert DEEP in caught.value.message
    assert evaluate("+".join(["1"] * 90), {}) == 90
    assert evaluate("(" * 40 + "1" + ")" * 40, {}) == 1
    assert evaluate("a - -b", {"a": 1, "b": 2}) == 3
    assert evaluate("'((((' + \"[[[[\" * 20", {}).startswith("((((")  # brackets in text do not count


def test_long_literals_and_long_text_are_bounded():
    assert len(evaluate("[" + ",".join(["1"] * 3000) + "]", {})) == 3000
    with pytest.raises(ExpressionError) as caught:
        check_expression("[" + ",".join(["1"] * 6000) + "]")
    assert f"over {ex.MAX_NODES:,} parts" in caught.value.message
    with pytest.raises(ExpressionError) as caught:
        check_expression("x" * (ex.MAX_EXPRESSION_CHARS + 1))
    assert f"longer than {ex.MAX_EXPRESSION_CHARS:,} characters" in caught.value.message
    with pytest.raises(ExpressionError) as caught:
        parse_script("x = 1\n" * (ex.MAX_SCRIPT_CHARS // 6 + 1))
    assert f"longer than {ex.MAX_SCRIPT_CHARS:,} characters" in caught.value.message


def test_unreadable_characters_are_refused_in_words():
    for text in ("x == '\x00'", "x == '\ud800'"):
        with pytest.raises(ExpressionError) as caught:
            check_expression(text)
        assert "Error" not in caught.value.message


# -- linear regexes, same answers -----------------------------------------------------------------

@pytest.mark.parametrize("text, literal", [
    ("PT2H", True), ("P3D", True), ("P1Y2M3DT4H5M6S", True), ("P2W", True), ("PT1,5H", True),
    ("R3/PT10S", True), ("R/2024-01-01T10:00:00Z/P1D", True), ("R/PT1H/2024-01-01", True),
    ("2024-05-01", True), ("2024-05-01T10:00", True), ("2024-05-01T10:00:00.5+02:00", True),
    ("P", False), ("PT", False), ("P1DT", False), ("R3/P", False), ("amount > 1000", False),
    ("P" + "1" * 50_000 + "X", False), ("R/P" + "1" * 100_000 + "Y", True),
])
def test_iso_literals_are_read_in_linear_time(text, literal):
    assert bool(ex.ISO_LITERAL.match(text)) is literal


def test_javascript_and_script_lines_are_recognised_without_backtracking():
    with pytest.raises(ExpressionError) as caught:
        check_expression("a === b")
    assert "JavaScript" in caught.value.message
    with pytest.raises(ExpressionError) as caught:
        check_expression("x ;" + " " * 15_000 + "y")   # quadratic for a backtracking ;\s*$
    assert "not a valid expression" in caught.value.message
    assert [(n, name) for n, name, _ in parse_script("# note\n\na = 1\nb = (a +\n 2)\nc=b")] == \
        [(3, "a"), (4, "b"), (6, "c")]
    for bad in ("a == 1", "a =", "1 = a", "a = = 1"):
        with pytest.raises(ExpressionError):
            parse_script(bad)


# -- what a script stores is clean JSON of bounded size --------------------------------------------

@pytest.mark.parametrize("script, words", [
    ("a = 1\nx = float('nan')", "not finite"),
    ("a = 1\nx = {1, 2}", "(set)"),
    ("a = 1\nx = 2**70", "64-bit"),
    ("a = 1\nx = ['x' * 99999, 'y' * 99]", "too large to store"),
    ("a = 1\nx = {'k': [float('inf')]}", "not finite"),
    ("a = 1\nx = len", "cannot be stored"),
])
def test_scripts_store_only_clean_values(script, words):
    data: dict = {}
    with pytest.raises(ExpressionError) as caught:
        run_script(script, data)
    assert caught.value.line == 2 and "'x" in caught.value.message and words in caught.value.message
    assert data == {"a": 1}  # nothing of the refused line was stored


def test_reported_lines_are_the_script_lines():
    with pytest.raises(ExpressionError) as caught:
        run_script("# first a comment\n\na = 1\nb = 1 / 0", {})
    assert caught.value.line == 4 and "divides by zero" in caught.value.message


# -- through the API -------------------------------------------------------------------------------

def _deploy(api: Api, xml: str):
    return api.client.post("/api/v1/processes", data=xml.encode(), headers={
        **api.auth("owner1"), "Content-Type": "application/xml"})


@pytest.mark.parametrize("script, words", [
    ("a = 9**4000000\nb = a*a", LARGE),
    ('x = "%0999999999d" % 1', "Formatting text"),
    ('x = [1 for a in "x"*99999 for b in "x"*99999 if 0]', WORK),
    ("x = float('nan')", "not finite"),
    ("\n".join(["y = (9**300)**4 % 7"] * 4500), WORK),  # each line under the cap, together over the budget
])
def test_runaway_scripts_fail_their_step_with_the_bound_named(api: Api, script, words):
    pid = "budget"
    assert _deploy(api, samples.script_process(script, pid)).status_code == 201
    resp = api.post("admin", f"/api/v1/processes/{pid}/instances", {"data": {}})
    assert resp.status_code == 409, resp.json
    error = resp.json["error"]
    assert error["code"] == "step_failed" and error["element_id"] == "calc", error
    assert words in error["cause"] and "MemoryError" not in error["cause"], error


@pytest.mark.parametrize("xml", [
    samples.script_process("x = " + "(" * 10_000 + "1" + ")" * 10_000),
    samples.script_process("x = " + "-" * 100_000 + "1"),
    samples.script_process("x = 1\n" * 20_000),
])
def test_over_deep_or_over_long_scripts_are_refused_at_deploy(api: Api, xml):
    resp = _deploy(api, xml)
    assert resp.status_code == 422, resp.data[:500]
    problems = resp.json["error"]["problems"]
    assert any(p["element_id"] == "calc" and (DEEP in p["message"] or "longer than" in p["message"])
               for p in problems), problems
    assert len(resp.data) < 20_000  # the problem quotes the script shortened


@pytest.mark.parametrize("condition, words", [
    ("not " * 4_000 + "x", DEEP), ("(" * 5_000 + "1" + ")" * 5_000, DEEP), ("-" * 15_000 + "x", DEEP),
    ("not " * 100_000 + "x", "longer than 20,000 characters"),
])
def test_an_over_deep_or_over_long_condition_is_refused_at_deploy(api: Api, condition, words):
    from tests.support.hostile import samples as hs
    resp = _deploy(api, hs.condition(condition))
    assert resp.status_code == 422, resp.data[:500]
    problems = resp.json["error"]["problems"]
    assert any(p["element_id"] == "a" and words in p["message"] for p in problems), problems


# -- hashing: integers that share a hash cannot be keys --------------------------------------------

@pytest.mark.parametrize("expression", [
    "{i * 2305843009213693951: 0 for i in [int(a) * 10 + int(b) for a in '0123456789' for b in '0123456789']}",
    "{2**64: 1}", "{(1, 2**70)}", "2**70 in {1: 2}", "{1: 2}.get(2**70)", "{1: 2}[2**70]", "[2**70] - {}.keys()",
])
def test_big_integers_are_not_hashed(expression):
    refused(expression, "beyond 63 bits cannot be a key")


def test_small_keys_and_sets_still_work():
    assert evaluate("{1: 'a', 2: 'b'}[x]", {"x": 2}) == "b"
    assert evaluate("{'a', 'b'} - {'a'}", {}) == {"b"}
    assert evaluate("status in {'open', 'late'}", {"status": "late"}) is True


# -- service parameters are checked like stored values ---------------------------------------------

@pytest.mark.parametrize("expression, words", [
    ("[float('nan')]", "not finite"), ("['x' * 99999, 'y' * 99]", "too large to store"),
    ("[{1, 2}]", "(set)"),
])
def test_unclean_service_parameters_fail_the_step(api: Api, expression, words):
    from tests.support.hostile import samples as hs
    assert _deploy(api, hs.service_parameter(expression)).status_code == 201
    resp = api.post("admin", "/api/v1/processes/serviced/instances", {"data": {}})
    assert resp.status_code == 409, resp.json
    error = resp.json["error"]
    assert error["code"] == "step_failed" and error["element_id"] == "call", error
    assert "'lines" in error["cause"] and words in error["cause"], error
