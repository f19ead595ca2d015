"""The after-sales and survey models: generated diagrams that deploy cleanly, forms and groups that fit,
the order flow's customer steps and survey hook, and the after-sales handlers on their own."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from handlers import REGISTRY
from handlers.after_sales import assign_case_number, close_case, load_after_sales_policy, schedule_survey
from orderflow.access.accounts import STAFF_GROUPS
from orderflow.engine import Services, compile_bundle
from orderflow.engine.runtime import Runtime
from tests.support.helpers import fill
from tests.support.servers import PATIENCE

ROOT = Path(__file__).resolve().parent.parent
GENERATED = {
    "order_flow": ROOT / "tools/bpmn/gen_order_flow.py",
    "after_sales": ROOT / "tools/bpmn/gen_after_sales.py",
    "satisfaction_survey": ROOT / "tools/bpmn/gen_satisfaction_survey.py",
}
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiff": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


def load_form(key: str):
    path = ROOT / "forms" / f"{key}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def compiled(key: str):
    """The process as ``flask deploy`` compiles it: its BPMN file with every DMN file beside it."""
    dmn = {p.name: p.read_bytes() for p in (ROOT / "processes").glob("*.dmn")}
    path = ROOT / "processes" / f"{key}.bpmn"
    [pdef] = compile_bundle({path.name: path.read_bytes(), **dmn}, REGISTRY, load_form)
    return pdef


def xml(key: str) -> etree._Element:
    return etree.parse(str(ROOT / "processes" / f"{key}.bpmn")).getroot()


def element(key: str, element_id: str) -> etree._Element:
    [found] = xml(key).xpath(f"//*[@id='{element_id}']")
    return found


def props(el: etree._Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in el.iterfind(".//spiff:property", NS)}


# ------------------------------------------------------------------ the diagrams


@pytest.mark.parametrize("key", sorted(GENERATED))
def test_process_deploys_without_problems(key):
    pdef = compiled(key)  # raises DeployRejected on any lint error
    assert pdef.key == key
    assert pdef.warnings == []


@pytest.mark.parametrize("key", sorted(GENERATED))
def test_generator_reproduces_the_committed_diagram(key, tmp_path):
    out = tmp_path / f"{key}.bpmn"
    run = subprocess.run([sys.executable, str(GENERATED[key]), str(out)], capture_output=True, text=True,
                         cwd=ROOT, timeout=PATIENCE)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == (ROOT / "processes" / f"{key}.bpmn").read_bytes(), \
        f"processes/{key}.bpmn is not what {GENERATED[key].name} generates: run it and commit the result"


@pytest.mark.parametrize("key", ["after_sales", "satisfaction_survey"])
def test_every_user_task_has_a_known_group_a_form_and_an_sla(key):
    tasks = [e for e in compiled(key).elements.values() if e.kind == "userTask"]
    assert tasks
    for task in tasks:
        assert task.group in STAFF_GROUPS, f"{task.element_id}: group {task.group!r}"
        assert task.form_key and load_form(task.form_key), f"{task.element_id}: form {task.form_key!r}"
        assert task.sla, f"{task.element_id} has no SLA"


def test_after_sales_steps_lanes_and_forms():
    pdef = compiled("after_sales")
    expected = {
        "intake_case": ("service", "PT4H"), "inspect_return": ("quality", "P2D"),
        "decide_case": ("service", "P1D"), "approve_case": ("sales_manager", "P1D"),
        "refund_payment": ("finance", "P3D"), "pick_replacement": ("warehouse", "P1D"),
        "ship_replacement": ("logistics", "P1D"), "repair_goods": ("engineering", "P5D"),
        "return_repaired": ("logistics", "P1D"), "inform_customer": ("service", "P1D"),
    }
    tasks = {e.element_id: (e.group, e.sla) for e in pdef.elements.values() if e.kind == "userTask"}
    assert tasks == expected
    assert pdef.name == "After-sales case / 售后服务"
    start = pdef.start
    assert (start.element_id, start.group, start.form_key) == ("start_case", "service", "new_case")
    assert props(element("after_sales", "start_case"))["relatedOrder"] == "completed"
    handlers = {e.element_id: e.handler for e in pdef.elements.values()
                if e.kind == "serviceTask"}         # no escalation tasks: the time limits are sla properties
    assert handlers == {"assign_case_no": "assign_case_number", "load_case_policy": "load_after_sales_policy",
                        "notify_case_outcome": "notify_customer", "close_case_record": "close_case"}


def test_new_case_form():
    form = load_form("new_case")
    assert form["required"] == ["order_no", "case_type", "description"]
    assert form["properties"]["case_type"]["enum"] == ["return", "exchange", "repair", "refund", "complaint"]
    assert form["properties"]["case_type"]["enumNames_zh"] == ["退货", "换货", "维修", "退款", "投诉"]
    assert form["properties"]["customer_email"]["format"] == "email"
    assert form["properties"]["quantity"]["minimum"] == 1
    assert form["properties"]["claimed_amount"]["minimum"] == 0


def test_survey_waits_for_the_delay_in_the_data_then_asks_the_customer():
    wait = element("satisfaction_survey", "wait_after_receipt")
    assert etree.QName(wait).localname == "intermediateCatchEvent"
    # an expression naming the data variable, not a quoted literal
    assert wait.findtext("bpmn:timerEventDefinition/bpmn:timeDuration", namespaces=NS) == "survey_delay"
    survey = compiled("satisfaction_survey").elements["answer_survey"]
    assert (survey.form_key, survey.sla, survey.customer) == ("satisfaction_survey", "P14D", True)
    form = load_form("satisfaction_survey")
    assert form["required"] == ["rating"]
    assert form["ui"]["readonly"] == ["order_no", "customer"]
    for name in ("rating", "quality_rating", "delivery_rating", "service_rating"):
        assert form["properties"][name]["type"] == "integer"
        assert form["properties"][name]["enum"] == [1, 2, 3, 4, 5]


def test_survey_runs_after_its_delay():
    now = [datetime(2026, 11, 28, 9, 0, tzinfo=UTC)]
    runtime, services = Runtime(REGISTRY, clock=lambda: now[0]), Services(config={})
    pdef = compiled("satisfaction_survey")
    workflow = runtime.new(pdef, services)
    runtime.start(workflow, {"survey_no": "SO-1-S", "order_no": "SO-1", "customer": "C", "survey_delay": "PT12H"})
    snap = runtime.snapshot(workflow)
    assert snap.ready == [] and snap.next_timer_at == datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
    now[0] = snap.next_timer_at + timedelta(seconds=1)
    assert runtime.fire_timers(workflow) == ["wait_after_receipt"]
    [ready] = runtime.snapshot(workflow).ready
    assert ready.element_id == "answer_survey"
    runtime.complete(workflow, ready.task_uuid, fill(load_form("satisfaction_survey"), {}, rating=4))
    snap = runtime.snapshot(workflow)
    assert snap.completed and snap.data["outcome"] == "answered" and snap.data["rating"] == 4


# ------------------------------------------------------------------ after-sales routes (engine only)


def _run_case(choices: dict[str, list[dict]], case_type: str = "return") -> tuple[list[str], dict, list]:
    audits: list = []
    counters: dict[str, int] = {}

    def next_sequence(name: str) -> int:
        counters[name] = counters.get(name, 0) + 1
        return counters[name]
    services = Services(config={"ORDERFLOW_CASE_APPROVAL_THRESHOLD": 5000}, next_sequence=next_sequence,
                        audit=lambda *a: audits.append(a))
    runtime, pdef = Runtime(REGISTRY), compiled("after_sales")
    workflow = runtime.new(pdef, services)
    runtime.start(workflow, {"order_no": "SO-20261127-0001", "case_type": case_type, "description": "Dead on arrival",
                             "customer": "Shenzhen Bright Electronics", "customer_tier": "standard"})
    path = []
    for _ in range(30):
        snap = runtime.snapshot(workflow)
        if snap.completed:
            return path, snap.data, audits
        ready = snap.ready[0]
        values = dict((choices.get(ready.element_id) or [{}]).pop(0)) if choices.get(ready.element_id) else {}
        schema = load_form(pdef.elements[ready.element_id].form_key)
        prefilled = {k: v for k, v in ready.data.items() if k not in {"decision", "comment"}}
        runtime.complete(workflow, ready.task_uuid, fill(schema, prefilled, values.pop("decision", None), **values))
        path.append(ready.element_id)
    raise AssertionError(f"the case did not close: {path}")


@pytest.mark.parametrize("choices, case_type, steps, outcome", [
    ({"intake_case": [{"decision": "reject", "intake_notes": "Bought elsewhere"}]}, "return",
     ["intake_case", "inform_customer"], "rejected"),
    ({"decide_case": [{"resolution": "refund", "case_amount": 120}]}, "refund",
     ["intake_case", "decide_case", "refund_payment", "inform_customer"], "refunded"),
    ({"decide_case": [{"resolution": "replace", "case_amount": 800}]}, "exchange",
     ["intake_case", "inspect_return", "decide_case", "pick_replacement", "ship_replacement", "inform_customer"],
     "replaced"),
    ({"decide_case": [{"resolution": "repair", "case_amount": 60}]}, "repair",
     ["intake_case", "inspect_return", "decide_case", "repair_goods", "return_repaired", "inform_customer"],
     "repaired"),
    ({"decide_case": [{"resolution": "explain", "case_amount": 0}]}, "complaint",
     ["intake_case", "decide_case", "inform_customer"], "explained"),
    ({"decide_case": [{"resolution": "refund", "case_amount": 9000}, {"resolution": "refund", "case_amount": 4000}],
      "approve_case": [{"decision": "reject", "approval_reason": "Refund part only"}]}, "return",
     ["intake_case", "inspect_return", "decide_case", "approve_case", "decide_case", "refund_payment",
      "inform_customer"], "refunded"),
    ({"decide_case": [{"resolution": "replace", "case_amount": 9000}], "approve_case": [{"decision": "approve"}]},
     "exchange", ["intake_case", "inspect_return", "decide_case", "approve_case", "pick_replacement",
                  "ship_replacement", "inform_customer"], "replaced"),
])
def test_after_sales_routes(choices, case_type, steps, outcome):
    path, data, audits = _run_case(choices, case_type)
    assert path == steps
    assert data["outcome"] == outcome
    assert data["case_no"].startswith("AS-") and data["policy"] == {"approval_threshold": 5000}
    closed = [detail for action, _, detail in audits if action == "case_closed"]
    assert closed and closed[0]["outcome"] == outcome and closed[0]["case_no"] == data["case_no"]
    told = [detail for action, _, detail in audits if action == "customer_notified"]
    assert told and told[0]["kind"] == "after_sales_outcome"


# ------------------------------------------------------------------ the order flow's changes


def test_customer_steps_in_the_order_flow():
    elements = compiled("order_flow").elements
    customer = sorted(e.element_id for e in elements.values() if e.customer)
    assert customer == ["confirm_change", "confirm_receipt", "confirm_sample"]
    for step in customer:
        assert elements[step].group == "sales"  # staff may still complete it for the customer


@pytest.mark.parametrize("key, facts", [
    ("confirm_sample", {"order_no", "customer", "lines"}),
    ("confirm_change", {"order_no", "customer", "change_description", "change_test_result"}),
    ("confirm_receipt", {"order_no", "customer", "carrier", "tracking_no"}),
])
def test_customer_forms_show_the_order_facts_and_nothing_internal(key, facts):
    form = load_form(key)
    shown = set(form["ui"]["readonly"])
    assert facts <= shown
    texts = json.dumps({name: form["properties"][name] for name in shown}, ensure_ascii=False)
    for internal in ("unit_price", "order_total", "payment_terms", "deposit", "balance", "customer_tier"):
        assert internal not in texts, f"{key} shows {internal} to the customer"
    for prop in form["properties"].values():  # the wording works for the customer and for staff
        assert "Customer confirms" not in json.dumps(prop)


def test_new_order_takes_an_optional_customer_email():
    form = load_form("new_order")
    email = form["properties"]["customer_email"]
    assert (email["type"], email["format"], email["maxLength"]) == ("string", "email", 300)
    assert (email["title"], email["title_zh"]) == ("Customer e-mail", "客户邮箱")
    assert "customer_email" not in form["required"]
    order = form["ui"]["order"]
    assert order.index("customer_email") == order.index("contact_phone") + 1


def test_survey_is_scheduled_between_receipt_and_archive():
    root = xml("order_flow")
    flows = {(f.get("sourceRef"), f.get("targetRef")) for f in root.iter(f"{{{NS['bpmn']}}}sequenceFlow")}
    assert ("confirm_receipt", "request_survey") in flows and ("request_survey", "archive_documents") in flows
    assert ("confirm_receipt", "archive_documents") not in flows
    operator = element("order_flow", "request_survey").find(".//spiff:serviceTaskOperator", NS)
    assert (operator.get("id"), operator.get("resultVariable")) == ("schedule_survey", "survey")
    assert compiled("order_flow").elements["request_survey"].group == "sales"


# ------------------------------------------------------------------ the handlers on their own


class FakeCtx:
    def __init__(self, data=None, config=None, start=None):
        self.data = dict(data or {})
        self.config = dict(config or {})
        self.instance_id = 41
        self.process_key = "order_flow"
        self.audits: list[tuple[str, dict]] = []
        self.started: list[tuple[str, dict]] = []
        self._start = start

    def now(self):
        return datetime(2026, 11, 27, 8, 30, tzinfo=UTC)

    def next_sequence(self, name):
        self.sequence_name = name
        return 7

    def audit(self, action, detail=None):
        self.audits.append((action, dict(detail or {})))

    def start_process(self, key, data):
        self.started.append((key, data))
        return self._start(key, data) if self._start else data["survey_no"]


def test_handlers_are_registered():
    for name in ("assign_case_number", "load_after_sales_policy", "close_case", "schedule_survey"):
        assert name in REGISTRY


def test_case_number():
    ctx = FakeCtx()
    assert assign_case_number(ctx) == "AS-20261127-007"
    assert ctx.sequence_name == "case_no:20261127"


@pytest.mark.parametrize("config, threshold", [
    ({}, 5000), ({"ORDERFLOW_CASE_APPROVAL_THRESHOLD": "12000"}, 12000),
    ({"ORDERFLOW_CASE_APPROVAL_THRESHOLD": 2500.5}, 2500.5), ({"ORDERFLOW_CASE_APPROVAL_THRESHOLD": 0}, 0),
])
def test_after_sales_policy(config, threshold):
    assert load_after_sales_policy(FakeCtx(config=config)) == {"approval_threshold": threshold}


@pytest.mark.parametrize("bad", ["lots", None, -1, True, float("nan"), float("inf"), [5000]])
def test_after_sales_policy_refuses_bad_settings(bad):
    with pytest.raises(ValueError, match="ORDERFLOW_CASE_APPROVAL_THRESHOLD"):
        load_after_sales_policy(FakeCtx(config={"ORDERFLOW_CASE_APPROVAL_THRESHOLD": bad}))


def test_close_case_records_the_outcome_on_the_customer_file():
    ctx = FakeCtx(data={"order_no": "SO-1", "case_type": "repair", "customer": "C"})
    result = close_case(ctx, case_no="AS-20261127-007", outcome="repaired")
    assert result == {"closed_at": "2026-11-27T08:30:00+00:00"}
    [(action, detail)] = ctx.audits
    assert action == "case_closed"
    assert {k: detail[k] for k in ("case_no", "order_no", "case_type", "outcome", "customer")} == {
        "case_no": "AS-20261127-007", "order_no": "SO-1", "case_type": "repair", "outcome": "repaired",
        "customer": "C"}
    with pytest.raises(ValueError, match="case_no"):
        close_case(ctx, case_no="", outcome="repaired")
    with pytest.raises(ValueError, match="outcome"):
        close_case(ctx, case_no="AS-1", outcome=None)


def test_schedule_survey_starts_the_survey():
    ctx = FakeCtx(data={"order_no": "SO-1", "customer": "C", "contact_name": "Ms Li",
                        "customer_email": "li@example.com"}, config={"ORDERFLOW_SURVEY_DELAY": "PT12H"})
    assert schedule_survey(ctx, order_no="SO-1") == {"scheduled": True, "survey_no": "SO-1-S"}
    [(key, data)] = ctx.started
    assert key == "satisfaction_survey"
    assert data == {"survey_no": "SO-1-S", "order_no": "SO-1", "customer": "C", "contact_name": "Ms Li",
                    "customer_email": "li@example.com", "order_instance_id": 41, "survey_delay": "PT12H"}
    assert ctx.audits == []


def test_schedule_survey_defaults_and_the_returned_key():
    ctx = FakeCtx(data={"customer": "C"}, start=lambda key, data: "SURVEY-9")
    assert schedule_survey(ctx, order_no="SO-2") == {"scheduled": True, "survey_no": "SURVEY-9"}
    [(_, data)] = ctx.started
    assert data["survey_delay"] == "P7D" and "customer_email" not in data


def test_schedule_survey_is_skipped_when_the_survey_is_not_deployed():
    def not_deployed(key, data):
        raise LookupError("no version of the process 'satisfaction_survey' is deployed")
    ctx = FakeCtx(data={"customer": "C"}, start=not_deployed)
    assert schedule_survey(ctx, order_no="SO-3") == {"scheduled": False}
    [(action, detail)] = ctx.audits
    assert action == "survey_skipped"
    assert detail["order_no"] == "SO-3" and "satisfaction_survey" in detail["reason"]


@pytest.mark.parametrize("good", ["P7D", "PT12H", "P1W", "P1DT12H", "PT30M", "P1M"])
def test_survey_delay_accepts_iso_durations(good):
    ctx = FakeCtx(config={"ORDERFLOW_SURVEY_DELAY": good})
    assert schedule_survey(ctx, order_no="SO-4")["scheduled"] is True
    assert ctx.started[0][1]["survey_delay"] == good


@pytest.mark.parametrize("bad", ["7 days", "P", "PT", "7D", "P1W2D", "", 7, None, "P7D; rm"])
def test_survey_delay_must_be_an_iso_duration(bad):
    ctx = FakeCtx(config={"ORDERFLOW_SURVEY_DELAY": bad})
    with pytest.raises(ValueError, match="ORDERFLOW_SURVEY_DELAY"):
        schedule_survey(ctx, order_no="SO-5")
    assert ctx.started == []


def test_schedule_survey_needs_the_order_number():
    with pytest.raises(ValueError, match="order_no"):
        schedule_survey(FakeCtx(), order_no="")
