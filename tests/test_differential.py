"""Differential tests: the service against bare SpiffWorkflow 3.2, diagram by diagram.

Each case plays one script of inputs (start data, user-task data, messages, clock moves) on
both engines (tests/differential_support.py) and compares what they did: the status, the
completed element ids (as a multiset: a loop's element counts once per pass) and the final
data. Probes (tests/probes/) are one small diagram per element kind of README's support table,
each with the path written down here; the corpus cases run every diagram tests/corpus/MANIFEST.tsv
marks runnable.

A difference is either a bug (the case fails, or is an ``xfail(strict=True)`` naming what is
broken while another change fixes it) or deliberate: ``DELIBERATE`` below says why, and the
case asserts the documented difference so a change in either engine shows.

No wall-clock guard: the service stops a runaway run at its step/nesting bounds, the bare
engine here at ``BARE_MAX_STEPS`` steps.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from orderflow import create_app
from tests import dbs
from tests.differential_support import (Advance, Complete, Message, Outcome, Scenario, ServiceClock,
                                        ServiceDriver, load_files, run_bare)
from tests.helpers import login

PROBES = Path(__file__).resolve().parent / "probes"
FORM = "probe_values.json"
T0 = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)   # the service clock's first value


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    url = dbs.fresh_url(tmp_path_factory.mktemp("differential"), "differential")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_SCHEDULER": False,
                      "ORDERFLOW_DATABASE_URL": url})
    runner = app.test_cli_runner()
    for command in (["init-db"], ["seed-demo"]):
        assert runner.invoke(args=command).exit_code == 0
    clock = ServiceClock(T0)
    app.extensions["orderflow.platform"].clock = clock
    page_client = app.test_client()
    login(page_client, "manager1")
    yield ServiceDriver(app, app.test_client(), page_client, clock)
    app.extensions["orderflow.db"].engine.dispose()
    dbs.drop(url)


@dataclass
class Probe:
    scenario: Scenario
    path: list[str]                       # the completed elements we expect (any order, repeats count)
    status: str = "completed"
    data: dict[str, Any] = field(default_factory=dict)   # expected final values (a subset of the data)
    xfail: str | None = None              # what is broken in the service (strict xfail)


def probe(name: str, path: list[str], steps=(), start: dict | None = None, files=(), **kw) -> Probe:
    scenario_kw = {k: kw.pop(k) for k in ("dialect", "timer_start", "handlers") if k in kw}
    bundle = load_files(PROBES, f"{name}.bpmn", *files)
    start = dict(start or {})
    if any(isinstance(s, Message) for s in steps):
        start.setdefault("business_key", f"P-{name}")   # messages from outside correlate by business key
    return Probe(Scenario(name, bundle, kw.pop("process", name), start_data=start, steps=list(steps),
                          **scenario_kw), path, **kw)


PROBE_CASES = [
    probe("none_start_script", ["start", "calc", "end"], start={"amount": 60, "items": [1, 2, 3]},
          data={"total": 120, "label": "big", "count": 3}),
    probe("user_manual", ["start", "enter", "pack", "end"], files=[FORM],
          steps=[Complete("enter", {"amount": 12.5, "note": "n"}), Complete("pack")],
          data={"amount": 12.5, "note": "n"}),
    probe("timer_intermediate", ["start", "wait", "after", "end"], steps=[Advance(29 * 60), Advance(2 * 60)],
          data={"waited": True}),
]


def _params(cases):
    out = []
    for case in cases:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(case, id=case.scenario.name, marks=marks))
    return out


def _compare(bare: Outcome, served: Outcome) -> None:
    assert served.status == bare.status, (served.error, bare.error)
    assert served.done_set == bare.done_set, (sorted(served.done), sorted(bare.done))
    assert served.data == bare.data


@pytest.mark.parametrize("case", _params(PROBE_CASES))
def test_probe_runs_the_same_on_both_engines(service, case: Probe):
    bare = run_bare(case.scenario, service.clock.value)
    assert bare.status == case.status, bare.error
    assert bare.done_set == Counter(case.path), bare.order
    assert case.data.items() <= bare.data.items(), bare.data
    served = service.run(case.scenario)
    _compare(bare, served)

