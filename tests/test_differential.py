"""Differential tests: the service against bare SpiffWorkflow 3.2, diagram by diagram.

Each case plays one script of inputs (start data, user-task data, messages, clock moves) on
both engines (tests/differential_support.py) and compares what they did: the status, the
completed element ids (as a multiset: a loop's element counts once per pass) and the final
data. Probes (tests/probes/) are one small diagram per element kind of README's support table,
each with the path written down here; the corpus cases run every diagram tests/corpus/MANIFEST.tsv
marks runnable.

A difference is either a bug (the case fails, or is an ``xfail(strict=True)`` naming what is
broken in the service until a change fixes it) or deliberate, written down with its reason where
it occurs, and the case asserts exactly that difference so a change in either engine shows:

- ``Stock`` on a probe: bare SpiffWorkflow 3.2 is wrong there and the service fixes it (signal end
  events, conditional events, interrupting and error/escalation event sub-processes), or the
  service reads the diagram otherwise (unquoted ISO-8601 timers are literals);
- ``service_adds`` on a probe: data only the service keeps (a message start event's start form,
  the answers of a ``camunda:collection`` multi-instance task);
- corpus files the service refuses at deploy (``REFUSED`` in tests/test_corpus.py: Python the safe
  expression language does not run, unregistered handlers, missing forms, not runnable as drawn);
- ``CORPUS_STOCK_WRONG``, ``CORPUS_BOTH_FAIL`` below.

No wall-clock guard: the service stops a runaway run at its step/nesting bounds, the bare
engine here at ``BARE_MAX_STEPS`` steps, ``BARE_MAX_NESTING`` and ``BARE_MAX_DEPTH``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from handlers import REGISTRY
from orderflow import create_app
from tests.support import dbs
from tests.support.corpus import REFUSED, ROWS, _bundle
from tests.support.differential import (
    Advance,
    Complete,
    CompleteAll,
    Message,
    Outcome,
    Scenario,
    ServiceClock,
    ServiceDriver,
    load_files,
    run_bare,
)
from tests.support.helpers import login

PROBES = Path(__file__).resolve().parent / "probes"
FORM = "probe_values.json"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)   # the service clock's first value


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    url = dbs.fresh_url(tmp_path_factory.mktemp("differential"), "differential")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_SCHEDULER": False,
                      "ORDERFLOW_DATABASE_URL": url})
    runner = app.test_cli_runner()
    for command in (["init-db"], ["seed-demo"]):
        assert runner.invoke(args=command).exit_code == 0
    REGISTRY.update(DOUBLE)
    clock = ServiceClock(T0)
    app.extensions["orderflow.platform"].clock = clock
    page_client = app.test_client()
    login(page_client, "manager1")
    yield ServiceDriver(app, app.test_client(), page_client, clock)
    app.extensions["orderflow.db"].engine.dispose()
    dbs.drop(url)
    for key in DOUBLE:
        REGISTRY.pop(key, None)


@dataclass
class Probe:
    scenario: Scenario
    path: list[str]                       # the completed elements we expect (any order, repeats count)
    status: str = "completed"
    data: dict[str, Any] = field(default_factory=dict)   # expected final values (a subset of the data)
    xfail: str | None = None              # what is broken in the service (strict xfail)
    stock: Stock | None = None          # bare SpiffWorkflow 3.2 does otherwise on purpose: what, and why
    service_adds: dict[str, Any] = field(default_factory=dict)  # data only the service keeps (DELIBERATE)


@dataclass
class Stock:
    """Where bare SpiffWorkflow 3.2 does not take the probe's path, deliberately: it is wrong there
    (the service fixes it in engine/) or the service reads the diagram otherwise (unquoted ISO
    timers). The bare engine must show exactly this path and status; the service the probe's."""
    reason: str
    path: list[str]
    status: str = "running"


def probe(file: str, path: list[str], steps=(), start: dict | None = None, files=(), name: str | None = None,
          **kw) -> Probe:
    """A probe diagram ``tests/probes/<file>.bpmn`` (process id = file name) with its inputs."""
    name = name or file
    scenario_kw = {k: kw.pop(k) for k in ("dialect", "timer_start", "handlers", "start_message") if k in kw}
    bundle = load_files(PROBES, f"{file}.bpmn", *files)
    start = dict(start or {})
    if any(isinstance(s, Message) for s in steps):
        start.setdefault("business_key", f"P-{name}")   # messages from outside correlate by business key
    return Probe(Scenario(name, bundle, kw.pop("process", file), start_data=start, steps=list(steps),
                          **scenario_kw), path, **kw)


def probe_double(ctx, amount):
    """Double an amount (the service-task probe's handler)."""
    return {"doubled": amount * 2}


DOUBLE = {"probe_double": probe_double}
EARLY_START = Stock("SpiffWorkflow 3.2 starts an event sub-process with an error/escalation start event as soon "
                    "as the instance starts, without its event",
                    ["start", "ev_start", "react", "ev_end", "on_event", "work", "check", "end"], "completed")
PROBE_CASES = [
    # start events
    probe("none_start_script", ["start", "calc", "end"], start={"amount": 60, "items": [1, 2, 3]},
          data={"total": 120, "label": "big", "count": 3}),
    probe("timer_start", ["start", "after", "end"], timer_start=True, steps=[Advance(59 * 60), Advance(2 * 60)],
          data={"fired": True}),
    probe("message_start_form", ["start", "call_back", "end"], files=["probe_lead.json"],
          start_message=Message("new_lead", {"company": "ACME"}, {"lead_ref": "L-1"}),
          steps=[Complete("call_back")], data={"lead": {"company": "ACME", "lead_ref": "L-1"}},
          # deliberate: the service checks the message against the start event's form, and the form's
          # fields become the instance's data as when it is started through the API
          service_adds={"company": "ACME", "lead_ref": "L-1"}),
    # end events
    probe("end_terminate", ["start", "split", "decide", "stop"], steps=[Complete("decide")]),
    # an interrupted sub-process is marked completed, and the data it made is dropped with it
    probe("end_error", ["start", "sub", "sub_start", "sub_calc", "sub_throw", "caught", "handle", "end_handled"],
          data={"handled": True}),
    probe("end_escalation", ["start", "sub", "sub_start", "sub_calc", "sub_throw", "caught", "handle",
                             "end_handled"], data={"handled": True}),
    # the message thrown by the end event is caught by the same instance's boundary event on 'work'
    probe("end_message", ["start", "split", "decide", "throw_end", "heard", "react", "end_heard"],
          steps=[Complete("decide")], data={"heard_it": True}),
    probe("end_signal", ["start", "split", "decide", "throw_end", "heard", "react", "end_heard"],
          steps=[Complete("decide")], data={"heard_it": True},
          stock=Stock("SpiffWorkflow 3.2's EndEventParser ignores signalEventDefinition: a signal end event is "
                      "a none end event and throws nothing", ["start", "split", "decide", "throw_end"])),
    # tasks
    probe("user_manual", ["start", "enter", "pack", "end"], files=[FORM],
          steps=[Complete("enter", {"amount": 12.5, "note": "n"}), Complete("pack")],
          data={"amount": 12.5, "note": "n"}),
    probe("service_task", ["start", "call", "end"], start={"amount": 20}, handlers=DOUBLE,
          data={"result": {"doubled": 42}}),
    probe("business_rule", ["start", "decide", "end"], files=["probe_discount.dmn"], start={"amount": 150},
          data={"discount": "ten"}),
    probe("business_rule_camunda", ["start", "decide", "end"], files=["probe_discount.dmn"], start={"amount": 50},
          dialect="camunda", data={"discount": "none"}),
    # messages
    probe("send_receive", ["start", "notify", "await_reply", "end"], steps=[Message("reply", {"answer": "yes"})],
          data={"reply": {"answer": "yes"}}),
    probe("message_events", ["start", "wait_paid", "book", "send_receipt", "end"],
          steps=[Message("paid", {"amount": 7})], data={"payment": {"amount": 7}, "booked": 14}),
    # without a messageVariable the payload is not kept (both engines)
    probe("message_boundary", ["start", "cancelled", "end_cancelled"],
          steps=[Message("cancel_order", {"why": "customer"})]),
    # timers
    probe("timer_intermediate", ["start", "wait", "after", "end"], steps=[Advance(29 * 60), Advance(2 * 60)],
          data={"waited": True}),
    probe("timer_unquoted", ["start", "wait", "after", "end"], steps=[Advance(29 * 60), Advance(2 * 60)],
          data={"waited": True},
          stock=Stock("deliberate: the service reads an unquoted ISO-8601 value (PT30M, as Camunda Modeler writes "
                      "it) as a literal; stock SpiffWorkflow evaluates it as Python and fails", ["start"], "error")),
    probe("timer_boundary_interrupting", ["start", "limit", "remind", "end_late"], files=[FORM],
          steps=[Advance(3601)], data={"reminded": True}),
    probe("timer_boundary_nonint", ["start", "limit", "remind", "end_late", "work", "end"], files=[FORM],
          steps=[Advance(3601), Complete("work", {"note": "late"})], data={"reminded": True, "note": "late"}),
    # a cycle boundary event is one task that fires twice ('every' once, 'end_tick' twice)
    probe("timer_date_cycle", ["start", "until_date", "every", "end_tick", "end_tick", "work", "end"],
          steps=[Advance(59 * 60), Advance(2 * 60), Advance(601), Advance(601), Advance(601), Complete("work")]),
    # signal, error, escalation, conditional, cancel
    probe("signal_events", ["start", "split", "prepare", "throw_go", "wait_go", "went", "join", "end"],
          steps=[Complete("prepare")], data={"went": True}),
    probe("conditional_event", ["start", "split", "approve", "when_approved", "release", "join", "end"],
          files=[FORM], start={"approved": False}, steps=[Complete("approve", {"approved": True})],
          data={"approved": True, "released": True},
          stock=Stock("SpiffWorkflow 3.2 evaluates a waiting conditional event only when something refreshes it, "
                      "and nothing does: it never fires", ["start", "split", "approve"])),
    probe("cancel_transaction", ["start", "txn", "txn_start", "pay", "ok", "txn_cancel", "on_cancel", "undo",
                                 "end_cancelled"], files=[FORM], steps=[Complete("pay", {"choice": "cancel"})],
          data={"undone": True}),
    # gateways
    probe("exclusive_gateway", ["start", "size", "big_order", "merge", "end"], start={"amount": 150, "customer": "x"},
          data={"route": "big"}),
    probe("parallel_gateway", ["start", "split", "task_a", "task_b", "join", "sum", "end"], files=[FORM],
          steps=[Complete("task_b", {"note": "b"}), Complete("task_a", {"amount": 1})], data={"both": [1, "b"]}),
    probe("inclusive_gateway", ["start", "split", "task_a", "task_b", "join", "end"],
          start={"amount": 50, "choice": "x"}, data={"a": 1, "b": 2}),
    probe("event_based_gateway", ["start", "which", "got_answer", "answered", "end_answered"],
          steps=[Message("answer", {"reply": "ok"})], data={"outcome": "answered", "answer": {"reply": "ok"}}),
    probe("event_based_gateway", ["start", "which", "timed_out", "chase", "end_timed_out"], name="event_based_timer",
          steps=[Advance(3601)], data={"outcome": "timed out"}),
    probe("event_based_signal", ["start", "split", "which", "got_go", "end_go", "prepare", "throw_go", "end_b"],
          steps=[Complete("prepare")]),
    # sub-processes
    probe("subprocess", ["start", "sub_start", "sub_work", "sub_calc", "sub_end", "sub", "after", "end"],
          files=[FORM], steps=[Complete("sub_work", {"amount": 10})], data={"net": 9, "gross": 10}),
    probe("event_subprocess_message", ["start", "ev_start", "react", "ev_end", "on_event"], files=[FORM],
          steps=[Message("stop_request", {"why": "x"})], data={"reacted": True, "stop": {"why": "x"}},
          stock=Stock("SpiffWorkflow 3.2 runs an interrupting event sub-process but does not interrupt: 'work' "
                      "stays ready and the instance never ends", ["start", "ev_start", "react", "ev_end", "on_event"])),
    probe("event_subprocess_timer", ["start", "ev_start", "react", "ev_end", "on_event", "work", "end"],
          files=[FORM], steps=[Advance(3601), Complete("work")], data={"reacted": True}),
    # stock runs these event sub-processes at the start (see the *_unused probes): same elements, wrong moment
    probe("event_subprocess_error", ["start", "work", "check", "fail", "ev_start", "react", "ev_end", "on_event"],
          files=[FORM], steps=[Complete("work", {"choice": "fail"})], data={"reacted": True, "choice": "fail"},
          stock=Stock(EARLY_START.reason, ["start", "work", "check", "fail", "ev_start", "react", "ev_end", "on_event"],
                      "completed")),
    probe("event_subprocess_escalation", ["start", "work", "check", "fail", "ev_start", "react", "ev_end",
                                          "on_event"],
          files=[FORM], steps=[Complete("work", {"choice": "fail"})], data={"reacted": True, "choice": "fail"},
          stock=Stock(EARLY_START.reason, ["start", "work", "check", "fail", "ev_start", "react", "ev_end", "on_event"],
                      "completed")),
    probe("event_subprocess_error", ["start", "work", "check", "end"], name="event_subprocess_error_unused",
          files=[FORM], steps=[Complete("work", {"choice": "fine"})], data={"choice": "fine"}, stock=EARLY_START),
    probe("event_subprocess_escalation", ["start", "work", "check", "end"], name="event_subprocess_escalation_unused",
          files=[FORM], steps=[Complete("work", {"choice": "fine"})], data={"choice": "fine"}, stock=EARLY_START),
    # bare 3.2 keeps a non-interrupting event sub-process's data to itself; the service's order data
    # shows what it set (DELIBERATE, engine/events.py order_data)
    probe("event_subprocess_signal", ["start", "work", "ping", "ev_start", "react", "ev_end", "on_event", "more",
                                      "end"], steps=[Complete("work"), Complete("more")],
          service_adds={"reacted": True}),
    probe("call_activity", ["start", "called_start", "called_work", "called_calc", "called_end", "call", "after",
                            "end"], files=["probe_called.bpmn", FORM], steps=[Complete("called_work", {"amount": 4})],
          data={"doubled": 8, "final": 9}),
    # multi-instance and loops
    probe("mi_parallel", ["start", "each", "each", "each", "each", "end"], start={"items": [1, 2, 3]},
          data={"results": [10, 20, 30]}),
    probe("mi_sequential", ["start", "count_each", "count_each", "count_each", "total", "end"], files=[FORM],
          steps=[Complete("count_each", {"amount": 2}), Complete("count_each", {"amount": 5})],
          data={"counts": [2, 5], "counted": 7}),
    probe("mi_camunda_collection", ["start", "check_item", "check_item", "check_item", "end"], dialect="camunda",
          start={"items": ["a", "b"]},
          steps=[Complete("check_item", {"note": "1"}), Complete("check_item", {"note": "2"})],
          # deliberate (Camunda's reading): each instance's form answers reach the process data, the last one
          # wins; stock CamundaParser keeps them inside the instance
          service_adds={"note": "2"}),
    # BPMN's loopCondition: loop *while* it holds (Camunda users often read it as "until")
    probe("standard_loop", ["start", "step", "step", "step", "step", "end"], start={"count": 0}, data={"count": 3}),
    # lanes, data
    probe("lanes_pool", ["start", "review", "invoice", "end"], files=[FORM],
          steps=[Complete("review", {"note": "ok"}), Complete("invoice", {"amount": 3})]),
    probe("data_objects", ["start", "write", "between", "read", "end"], start={"amount": 2},
          data={"read_back": 7}),
    # a task with an io specification hands on only its outputs: 'amount', 'keep', 'scratch' are dropped
    probe("io_spec", ["start", "calc", "end"], start={"amount": 20, "keep": "k"}, data={"net": 15}),
]


def _params(cases):
    out = []
    for case in cases:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(case, id=case.scenario.name, marks=marks))
    return out


def _compare(bare: Outcome, served: Outcome, service_adds: dict | None = None) -> None:
    assert served.status == bare.status, (served.error, bare.error)
    assert served.done_set == bare.done_set, (sorted(served.done), sorted(bare.done))
    assert served.data == {**bare.data, **(service_adds or {})}


@pytest.mark.parametrize("case", _params(PROBE_CASES))
def test_probe_runs_the_same_on_both_engines(service, case: Probe):
    scenario = case.scenario.at(service.clock.value)
    bare = run_bare(scenario, service.clock.value)
    served = service.run(scenario)
    if case.stock is None:
        assert bare.status == case.status, bare.error
        assert bare.done_set == Counter(case.path), bare.order
        assert case.data.items() <= bare.data.items(), bare.data
        _compare(bare, served, case.service_adds)
    else:  # bare SpiffWorkflow deliberately differs: it shows the documented path, the service the probe's
        assert (bare.status, bare.done_set) == (case.stock.status, Counter(case.stock.path)), (bare.error, bare.order)
        assert served.status == case.status, served.error
        assert served.done_set == Counter(case.path), sorted(served.done)
        assert case.data.items() <= served.data.items(), served.data


# -- the corpus ------------------------------------------------------------------

RUNNABLE = [r for r in ROWS if r["expected"] == "yes" and r["path"].endswith(".bpmn")]

# what a person answers in the corpus's forms (field -> value), the same for every diagram
ANSWERS = {
    # the SpiffWorkflow tutorial (spiff-example-cli): one product, standard shipping, paid, shipped
    "product_name": "product_a", "product_quantity": 2, "product_color": "white", "product_size": "small",
    "product_style": "short", "shipping_method": "standard", "continue_shopping": "N", "place_order": "Y",
    "card_number": "4111", "shipping_address": "Harbour Road 5", "customer_charged": "Y",
    "product_available": "Y", "product_shipped": "Y", "reason_cancelled": "none", "reason_delayed": "none",
    # SpiffWorkflow's own test diagrams (Camunda formData fields)
    "answer": "Yes", "initialstuff": "ready", "work_done": "Yes", "delay_reason": "traffic",
    "NewBPMNFeautre": "loops", "NeedClarification": False, "Clarification": "none", "interrupt_task": "No",
}
# path -> (start data, steps): the inputs a person would give; default: every task answered from ANSWERS
# (their tasks have no form: the upstream tests write task data directly, so it comes as start data here)
CORPUS_INPUTS: dict[str, tuple[dict, list]] = {
    "spiff/tests/spiff/error_event_payload.bpmn": ({"error": True, "payload": {"code": 7}}, [CompleteAll(ANSWERS)]),
    "spiff/tests/spiff/escalation_event_payload.bpmn": ({"escalation": True, "payload": {"code": 7}},
                                                        [CompleteAll(ANSWERS)]),
    "spiff/tests/spiff/signal_event_payload.bpmn": ({"v1": 1, "v2": "two"}, [CompleteAll(ANSWERS)]),
    "spiff/tests/bpmn/data_object.bpmn": ({"obj_1": "hello"}, [CompleteAll(ANSWERS)]),
    "spiff/tests/bpmn/conditional_event.bpmn": ({"task_a_done": True, "task_c_done": True}, [CompleteAll(ANSWERS)]),
}

# path -> what is broken in the service (strict xfail); none today
CORPUS_XFAIL: dict[str, str] = {}
# path -> (reason, elements only bare SpiffWorkflow completes): deliberate, the service follows BPMN
CORPUS_STOCK_WRONG = {
    "spiff/tests/bpmn/event-subprocess.bpmn": (
        "SpiffWorkflow 3.2 does not interrupt the main flow when an interrupting event sub-process (signal start) "
        "runs: it also reaches the main end event", ["Event_03f19jy"]),
}
# path -> reason: both engines stop at the same element; deliberate: a failed step is not saved by the service
# (the instance stays where it was), while bare SpiffWorkflow keeps the half-run state
CORPUS_BOTH_FAIL = {
    "spiff/tests/bpmn/parallel_multiinstance_cardinality.bpmn":
        "the multi-instance task must write its output item, and it has no form that could (the upstream test "
        "writes task data directly)",
}


def _executable(text: str) -> list[tuple[str, bool]]:
    """(process id, starts on a timer) of each executable process in a BPMN file."""
    root = etree.fromstring(text.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    found = []
    for process in root.iter(f"{{{BPMN}}}process"):
        if process.get("isExecutable") != "false":
            timer = any(start.find(f"{{{BPMN}}}timerEventDefinition") is not None
                        for start in process.findall(f"{{{BPMN}}}startEvent"))
            found.append((process.get("id"), timer))
    return found


def corpus_scenario(row: dict[str, str]) -> Scenario:
    files = {name.rsplit("/", 1)[-1]: content.decode("utf-8") for name, content in _bundle(row).items()}
    main = row["path"].rsplit("/", 1)[-1]
    process, timer = _executable(files[main])[0]
    dialect = "spiff" if row["spiff_parser"].startswith("ok") else "camunda"
    start, steps = CORPUS_INPUTS.get(row["path"], ({}, [CompleteAll(ANSWERS)]))
    if timer:
        steps = [Advance(24 * 3600), *steps]
    return Scenario(row["path"], files, process, dialect=dialect, start_data=start, steps=steps, timer_start=timer)


def _corpus_params():
    out = []
    for row in RUNNABLE:
        reason = CORPUS_XFAIL.get(row["path"])
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(row, id=row["path"], marks=marks))
    return out


@pytest.mark.parametrize("row", _corpus_params())
def test_corpus_diagram_runs_the_same_on_both_engines(service, row):
    path = row["path"]
    scenario = corpus_scenario(row)
    bare = run_bare(scenario, service.clock.value)
    served = service.run(scenario)
    if path in REFUSED:  # deliberate: the service will not run it as written (the reasons: tests/test_corpus.py)
        assert served.status == "refused" and REFUSED[path] in served.error, served.error
        assert bare.status in {"running", "completed", "error"}
    elif path in CORPUS_BOTH_FAIL:
        assert (served.status, bare.status) == ("error", "error"), (served.error, bare.error)
        assert served.failed_at == bare.failed_at and served.failed_at, (served.error, bare.error)
        assert not served.done_set - bare.done_set
    elif path in CORPUS_STOCK_WRONG:
        only_bare = Counter(CORPUS_STOCK_WRONG[path][1])
        assert served.status == bare.status, (served.error, bare.error)
        assert served.done_set == bare.done_set - only_bare and only_bare <= bare.done_set, \
            (sorted(served.done), sorted(bare.done))
        assert served.data == bare.data
    else:
        _compare(bare, served)


# -- runaways: both engines stop by their bounds (steps, nesting), never by a clock ---------------

RUNAWAYS = [
    pytest.param(Scenario("runaway_loop", load_files(PROBES, "runaway_loop.bpmn"), "runaway_loop",
                          start_data={"n": 0}), id="loop"),
    pytest.param(corpus_scenario(next(r for r in ROWS if r["path"].endswith("call_activity_level_3.bpmn"))),
                 id="call-activity-calling-itself"),
]


@pytest.mark.parametrize("scenario", RUNAWAYS)
def test_a_runaway_is_stopped_by_bounds_on_both_engines(service, scenario):
    bare = run_bare(scenario, service.clock.value)
    assert bare.status == "error" and bare.error.startswith("_BareRunaway"), bare.error
    served = service.run(scenario)
    assert served.status == "error", served
    assert "stopped" in served.error and served.failed_at, served.error
