"""Code in diagrams (scripts, conditions, timers, service parameters, DMN cells, other languages) is
refused at deploy naming the element; runaway work a deployed diagram causes is stopped by a bound."""
from __future__ import annotations

import re

from tests.support import bpmn_samples as samples
from tests.support.hostile import samples as hs
from tests.support.hostile.support import DEPLOYS, ORDERS, Attacks, deploy_refused, refused

ATTACKS = Attacks()
attack = ATTACKS.attack


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




@attack("code")
def dmn_cell_gadget(ctx): refused(ctx.upload("owner1", {"ship.bpmn": hs.SHIP, "shipping.dmn": hs.DMN_GADGET}))


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

