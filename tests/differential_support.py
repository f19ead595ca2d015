"""Differential runs: one diagram, one script of inputs, two engines.

A *scenario* is a diagram bundle (BPMN, DMN, form JSON) plus the inputs a person or a system
would give it: start data, user-task completions with their data, messages with payloads, and
moves of the clock. ``run_bare`` plays it on bare SpiffWorkflow 3.2 (the stock parser for the
diagram's dialect and the stock ``PythonScriptEngine``); ``run_service`` plays it through the
service's HTTP API (deploy, start, complete, post messages) with the service clock moved by
hand and the background jobs swept. Both return an ``Outcome``: the status, the completed
element ids, and the data as people see it.

Neither side has a wall-clock guard. The service is bounded by its own step and nesting bounds;
the bare engine here by ``BARE_MAX_STEPS`` engine steps and ``BARE_MAX_SUBPROCESSES`` open
sub-processes (counted in ``did_complete_task``), so a runaway diagram stops as an error.
"""
from __future__ import annotations

import io
import json
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

BARE_MAX_STEPS = 2000          # engine steps per bare run before it counts as a runaway
BARE_MAX_SUBPROCESSES = 100    # open sub-processes / call activities in one bare instance

# the users who act for a group in the seeded demo data
GROUP_USERS = {"process_owner": "owner1", "manager": "manager1", "admin": "admin", "integration": "bank1"}


# -- the script of inputs ------------------------------------------------------

@dataclass(frozen=True)
class Complete:
    """A person completes the open user/manual task ``element`` with ``data``."""
    element: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """A message from outside, to the instance (correlated by its business key)."""
    name: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Advance:
    """The clock moves on by ``seconds``; timers that are due fire."""
    seconds: float


Step = Complete | Message | Advance


@dataclass
class Scenario:
    name: str
    files: dict[str, str]                  # file name -> text (BPMN, DMN, form JSON)
    process: str                           # the process id to start
    dialect: str = "spiff"                 # which stock parser the bare engine uses: spiff | camunda
    start_data: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    timer_start: bool = False              # the service starts it at deploy (timer start event)
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)


@dataclass
class Outcome:
    status: str                            # completed | running | error
    done: list[str]                        # completed element ids (task tree order, repeats kept)
    data: dict[str, Any]
    error: str | None = None
    order: list[str] = field(default_factory=list)  # bare only: completion order

    @property
    def done_set(self) -> Counter:
        return Counter(self.done)


def load_files(folder: Path, *names: str, **replace: str) -> dict[str, str]:
    files = {}
    for name in names:
        text = (folder / name).read_text(encoding="utf-8")
        for key, value in replace.items():
            text = text.replace("{{" + key + "}}", value)
        files[name] = text
    return files


# -- bare SpiffWorkflow ----------------------------------------------------------

class _BareRunaway(Exception):
    pass


class _BareClock:
    def __init__(self, start: datetime):
        self.value = start


@contextmanager
def _bare_clock(clock: _BareClock) -> Iterator[None]:
    """SpiffWorkflow's timers call ``datetime.now(timezone.utc)`` in their module: point it at
    ``clock`` for the bare run, and put back whatever was there (the service's shim) after."""
    previous = timer_module.datetime

    class _Now(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return clock.value.astimezone(tz) if tz is not None else clock.value

    timer_module.datetime = _Now
    try:
        yield
    finally:
        timer_module.datetime = previous


class _PlainEnvironment(TaskDataEnvironment):
    """The stock environment, plus service calls to plain functions (stock has none)."""

    def __init__(self, handlers: Mapping[str, Callable[..., Any]]):
        super().__init__()
        self.handlers = handlers

    def call_service(self, context, operation_name=None, operation_params=None, **_):
        params = {k: v["value"] for k, v in (operation_params or {}).items()}
        return json.dumps(self.handlers[operation_name](None, **params))


def bare_parser(dialect: str):
    return SpiffBpmnParser() if dialect == "spiff" else CamundaParser()


def bare_workflow(scenario: Scenario) -> BpmnWorkflow:
    parser = bare_parser(scenario.dialect)
    for name, text in scenario.files.items():
        if name.endswith(".dmn"):
            parser.add_dmn_str(text.encode(), filename=name)
        elif name.endswith(".bpmn"):
            parser.add_bpmn_str(text.encode(), filename=name)
    spec = parser.get_spec(scenario.process)
    engine = PythonScriptEngine(environment=_PlainEnvironment(scenario.handlers))
    return BpmnWorkflow(spec, parser.get_subprocess_specs(scenario.process), script_engine=engine)


def run_bare(scenario: Scenario, start_at: datetime) -> Outcome:
    clock = _BareClock(start_at)
    order: list[str] = []
    steps = 0

    def record(task) -> None:
        nonlocal steps
        steps += 1
        if task.task_spec.bpmn_id:
            order.append(task.task_spec.bpmn_id)
        if steps > BARE_MAX_STEPS or len(workflow.subprocesses) > BARE_MAX_SUBPROCESSES:
            raise _BareRunaway(f"stopped after {steps} steps")

    def run() -> None:
        workflow.do_engine_steps(did_complete_task=record)

    workflow = None
    try:
        with _bare_clock(clock):
            workflow = bare_workflow(scenario)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(json.loads(json.dumps(scenario.start_data)))
            run()
            for step in scenario.steps:
                if isinstance(step, Complete):
                    task = _ready_manual(workflow, step.element)
                    task.data.update(json.loads(json.dumps(step.data)))
                    task.run()
                    record(task)
                    run()
                elif isinstance(step, Message):
                    definition = _waiting_message(workflow, step.name)
                    workflow.send_event(BpmnEvent(definition, payload=dict(step.payload)))
                    run()
                else:
                    clock.value += timedelta(seconds=step.seconds)
                    workflow.refresh_timers()
                    run()
    except Exception as exc:  # the outcome says how it failed; the test compares it
        if workflow is None:
            return Outcome("error", [], {}, f"{type(exc).__name__}: {exc}", order)
        return Outcome("error", completed_ids(workflow), visible_data(workflow), f"{type(exc).__name__}: {exc}", order)
    status = "completed" if workflow.is_completed() else "running"
    return Outcome(status, completed_ids(workflow), visible_data(workflow), None, order)


def _ready_manual(workflow: BpmnWorkflow, element: str):
    for task in workflow.get_tasks(state=TaskState.READY):
        if task.task_spec.manual and task.task_spec.bpmn_id == element:
            return task
    ready = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
    raise LookupError(f"{element} is not ready (ready: {ready})")


def _waiting_message(workflow: BpmnWorkflow, name: str):
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return definition
    raise LookupError(f"nothing waits for the message {name}")


def completed_ids(workflow: BpmnWorkflow) -> list[str]:
    return [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]


def visible_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The data of the last step run, plus what open branches hold (keys not already there)."""
    data = dict(workflow.last_task.data) if workflow.last_task is not None else {}
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        for key, value in task.data.items():
            data.setdefault(key, value)
    return json.loads(json.dumps(data, default=str))


# -- the service, through its HTTP API ---------------------------------------------

class ServiceClock:
    """The platform's clock, moved by hand."""

    def __init__(self, start: datetime):
        self.value = start

    def __call__(self) -> datetime:
        return self.value


class ServiceDriver:
    def __init__(self, app, client, page_client, clock: ServiceClock):
        self.app, self.client, self.page_client, self.clock = app, client, page_client, clock

    @staticmethod
    def auth(user: str) -> dict[str, str]:
        from tests.helpers import Api
        return Api.auth(user)

    def deploy(self, files: Mapping[str, str]):
        upload = {"files": [(io.BytesIO(text.encode()), name) for name, text in files.items()]}
        return self.client.post("/api/v1/processes", data=upload, headers=self.auth("owner1"),
                                content_type="multipart/form-data")

    def instance(self, instance_id: int) -> dict:
        resp = self.client.get(f"/api/v1/instances/{instance_id}", headers=self.auth("manager1"))
        assert resp.status_code == 200, resp.json
        return resp.json

    def done(self, instance_id: int) -> list[str]:
        """The elements the order page marks done (its diagram's ``data-done``)."""
        page = self.page_client.get(f"/orders/{instance_id}")
        assert page.status_code == 200, page.status_code
        found = re.search(r"data-done='([^']*)'", page.get_data(as_text=True))
        assert found, "the order page shows no diagram"
        import html
        return json.loads(html.unescape(found.group(1)))

    def sweep(self) -> None:
        from orderflow import jobs
        for _ in range(20):  # bounded: a cycle timer re-queues itself, each sweep runs what is due now
            if jobs.run_due(self.app.extensions["orderflow.db"], "differential") == 0:
                return

    def run(self, scenario: Scenario) -> Outcome:
        resp = self.deploy(scenario.files)
        if resp.status_code != 201:
            return Outcome("refused", [], {}, json.dumps(resp.json.get("error", resp.json))[:2000])
        version = {d["key"]: d["version"] for d in resp.json["deployed"]}[scenario.process]
        if scenario.timer_start:
            listing = self.client.get(f"/api/v1/instances?process={scenario.process}&status=running",
                                      headers=self.auth("manager1")).json["items"]
            instance_id = max(i["id"] for i in listing if i.get("version", version) == version)
        else:
            started = self.client.post(f"/api/v1/processes/{scenario.process}/instances?version={version}",
                                       json={"data": scenario.start_data}, headers=self.auth("admin"))
            if started.status_code != 201:
                return Outcome("error", [], {}, f"start: {started.status_code} {started.json}")
            instance_id = started.json["id"]
        error = None
        for step in scenario.steps:
            error = self._step(instance_id, scenario, step)
            if error:
                break
        detail = self.instance(instance_id)
        status = {"completed": "completed", "running": "running"}.get(detail["status"], "error")
        if detail.get("incidents") and not error:
            error = detail["incidents"][0]["message"]
        if error:
            status = "error"
        return Outcome(status, self.done(instance_id), detail["data"], error)

    def _step(self, instance_id: int, scenario: Scenario, step: Step) -> str | None:
        if isinstance(step, Complete):
            tasks = [t for t in self.instance(instance_id)["open_tasks"] if t["element_id"] == step.element]
            if not tasks:
                return f"{step.element} is not open"
            user = GROUP_USERS.get(tasks[0]["group"], f"{tasks[0]['group']}1")
            resp = self.client.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", json={"data": dict(step.data)},
                                    headers=self.auth(user))
            return None if resp.status_code == 200 else f"complete {step.element}: {resp.status_code} {resp.json}"
        if isinstance(step, Message):
            key = scenario.start_data.get("business_key")
            resp = self.client.post(f"/api/v1/messages/{step.name}", headers=self.auth("bank1"),
                                    json={"correlation": {"business_key": key}, "payload": dict(step.payload)})
            return None if resp.status_code == 200 else f"message {step.name}: {resp.status_code} {resp.json}"
        self.clock.value += timedelta(seconds=step.seconds)
        self.sweep()
        return None


def start_of_day(value: datetime) -> datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=timezone.utc)
