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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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
BARE_MAX_NESTING = 25          # sub-processes inside sub-processes (a call activity calling its own process)
# SpiffWorkflow's task iterator stops looking 1000 tasks deep: a loop that grows the tree past that
# looks *completed* to the bare engine (no READY task found), so the bare run stops before it
BARE_MAX_DEPTH = 900

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
    """A message from outside, to the instance: correlated by its business key unless
    ``correlation`` names other properties (the message carries their values too)."""
    name: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    correlation: Mapping[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        return {**(self.correlation or {}), **self.payload}


@dataclass(frozen=True)
class Advance:
    """The clock moves on by ``seconds``; timers that are due fire."""
    seconds: float


@dataclass(frozen=True)
class CompleteAll:
    """A person completes every user/manual task as it opens, the smallest element id first,
    answering each field of the task's form from ``answers`` (fields not there stay empty),
    at most ``limit`` tasks."""
    answers: Mapping[str, Any] = field(default_factory=dict)
    limit: int = 25

    def data(self, fields: list[str]) -> dict[str, Any]:
        return {name: self.answers[name] for name in fields if name in self.answers}


Step = Complete | CompleteAll | Message | Advance


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
    start_message: Message | None = None   # the instance starts by this message (message start event)

    def at(self, now: datetime) -> Scenario:
        """The scenario with ``{{DATE}}`` in its files set to an hour after ``now``."""
        date = (now + timedelta(hours=1)).isoformat()
        files = {name: text.replace("{{DATE}}", date) for name, text in self.files.items()}
        return replace(self, files=files)


@dataclass
class Outcome:
    status: str                            # completed | running | error
    done: list[str]                        # completed element ids (task tree order, repeats kept)
    data: dict[str, Any]
    error: str | None = None
    order: list[str] = field(default_factory=list)  # bare only: completion order
    failed_at: str | None = None           # the element a failed run stopped at

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
        if steps > BARE_MAX_STEPS or len(workflow.subprocesses) > BARE_MAX_SUBPROCESSES or \
                task.workflow.depth > BARE_MAX_NESTING or task.depth > BARE_MAX_DEPTH:
            raise _BareRunaway(f"stopped after {steps} steps, {task.workflow.depth} deep, at {task.task_spec.bpmn_id}")

    def run() -> None:
        workflow.do_engine_steps(did_complete_task=record)

    workflow = None
    try:
        with _bare_clock(clock):
            workflow = bare_workflow(scenario)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(json.loads(json.dumps(scenario.start_data)))
            run()
            steps_to_play = ([scenario.start_message] if scenario.start_message else []) + list(scenario.steps)
            for step in steps_to_play:
                if isinstance(step, Complete):
                    task = _ready_manual(workflow, step.element)
                    task.data.update(json.loads(json.dumps(step.data)))
                    task.run()
                    record(task)
                    run()
                elif isinstance(step, CompleteAll):
                    for _ in range(step.limit):
                        ready = sorted((t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual),
                                       key=lambda t: t.task_spec.bpmn_id or "")
                        if not ready:
                            break
                        answers = step.data(_form_fields(ready[0], scenario.files))
                        ready[0].data.update(json.loads(json.dumps(answers)))
                        ready[0].run()
                        record(ready[0])
                        run()
                elif isinstance(step, Message):
                    definition = _message_definition(workflow, step.name)
                    workflow.send_event(BpmnEvent(definition, payload=step.body()))
                    run()
                else:
                    clock.value += timedelta(seconds=step.seconds)
                    workflow.refresh_timers()
                    run()
    except Exception as exc:  # the outcome says how it failed; the test compares it
        task = getattr(exc, "task", None)
        failed_at = task.task_spec.bpmn_id if task is not None else None
        if workflow is None:
            return Outcome("error", [], {}, f"{type(exc).__name__}: {exc}", order, failed_at)
        return Outcome("error", completed_ids(workflow), visible_data(workflow), f"{type(exc).__name__}: {exc}",
                       order, failed_at)
    status = "completed" if workflow.is_completed() else "running"
    return Outcome(status, completed_ids(workflow), visible_data(workflow), None, order)


def _ready_manual(workflow: BpmnWorkflow, element: str):
    for task in workflow.get_tasks(state=TaskState.READY):
        if task.task_spec.manual and task.task_spec.bpmn_id == element:
            return task
    ready = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
    raise LookupError(f"{element} is not ready (ready: {ready})")


def _form_fields(task, files: Mapping[str, str]) -> list[str]:
    """The fields of a user task's form as the diagram declares it: a spiff JSON-Schema form
    (formJsonSchemaFilename) or Camunda formData."""
    properties = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})
    name = properties.get("formJsonSchemaFilename")
    if name and name in files:
        return list(json.loads(files[name]).get("properties", {}))
    form = getattr(task.task_spec, "form", None)
    if form is not None:
        return [f.id for f in getattr(form, "fields", [])]
    return _camunda_form_fields(task.task_spec.bpmn_id, files)


def _camunda_form_fields(element_id: str | None, files: Mapping[str, str]) -> list[str]:
    """camunda:formData fields of an element (the spiff parser does not read them)."""
    from lxml import etree
    for name, text in files.items():
        if not name.endswith(".bpmn") or f'id="{element_id}"' not in text:
            continue
        root = etree.fromstring(text.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
        for el in root.iter():
            if isinstance(el.tag, str) and el.get("id") == element_id:
                return [f.get("id") for f in el.iter("{http://camunda.org/schema/1.0/bpmn}formField")]
    return []


def _message_definition(workflow: BpmnWorkflow, name: str):
    """The diagram's definition of the message ``name`` (a catching event's), to address it."""
    specs = [workflow.spec, *workflow.subprocess_specs.values()]
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            # an event-based gateway holds its branches' definitions (MultipleEventDefinition)
            for candidate in [definition, *getattr(definition, "event_definitions", [])]:
                if isinstance(candidate, MessageEventDefinition) and candidate.name == name:
                    return candidate
    raise LookupError(f"the diagram has no message {name}")


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
    def auth(user: str, password: str = "demo") -> dict[str, str]:
        from tests.support.helpers import Api
        return Api.auth(user, password)

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
        from orderflow.workflow import jobs
        for _ in range(20):  # bounded: a cycle timer re-queues itself, each sweep runs what is due now
            if jobs.run_due(self.app.extensions["orderflow.db"], "differential") == 0:
                return

    def run(self, scenario: Scenario) -> Outcome:
        resp = self.deploy(scenario.files)
        if resp.status_code != 201:
            return Outcome("refused", [], {}, json.dumps(resp.json.get("error", resp.json))[:2000])
        version = {d["key"]: d["version"] for d in resp.json["deployed"]}[scenario.process]
        if scenario.start_message is not None:
            step = scenario.start_message
            resp = self.client.post(f"/api/v1/messages/{step.name}", headers=self.auth("bank1"),
                                    json={"correlation": dict(step.correlation or {}), "payload": dict(step.payload)})
            if resp.status_code not in (200, 201):
                return Outcome("error", [], {}, f"message {step.name}: {resp.status_code} {resp.json}")
            instance_id = resp.json["instance_id"]
        elif scenario.timer_start:
            listing = self.client.get(f"/api/v1/instances?process={scenario.process}&status=running",
                                      headers=self.auth("manager1")).json["items"]
            instance_id = max(i["id"] for i in listing if i.get("version", version) == version)
        else:
            started = self.client.post(f"/api/v1/processes/{scenario.process}/instances?version={version}",
                                       json={"data": scenario.start_data}, headers=self.auth("admin"))
            if started.status_code != 201:
                return Outcome("error", [], {}, f"start: {started.status_code} {started.json}",
                               failed_at=(started.json.get("error") or {}).get("element_id"))
            instance_id = started.json["id"]
        error = None
        for step in scenario.steps:
            error = self._step(instance_id, scenario, step)
            if error:
                break
        detail = self.instance(instance_id)
        status = {"completed": "completed", "running": "running"}.get(detail["status"], "error")
        failed_at = error[1] if error else None
        if detail.get("incidents") and not error:
            error = (detail["incidents"][0]["message"], detail["incidents"][0].get("element_id"))
            failed_at = error[1]
        if error:
            status = "error"
        return Outcome(status, self.done(instance_id), detail["data"], error and error[0], failed_at=failed_at)

    def _exists(self, username: str) -> bool:
        found = self.client.get(f"/api/v1/admin/users?q={username}", headers=self.auth("admin")).json["items"]
        return any(u["username"] == username for u in found)

    def _user_for(self, group: str) -> tuple[str, str] | None:
        """A user of ``group``: the seeded '<group>1', or one made for the group (a diagram's own
        lane). Asked of the admin API: a failed log-in would count towards the throttle."""
        user = GROUP_USERS.get(group, f"{group}1")
        if self._exists(user):
            return user, "demo"
        user, password = f"diff_{group}".lower()[:60], "differential-pass"
        if not self._exists(user):
            made = self.client.post("/api/v1/admin/groups", json={"id": group, "name": group, "name_zh": group},
                                    headers=self.auth("admin"))
            if made.status_code != 201:  # not a group id the service takes (a lane's generated id)
                return None
            made = self.client.post("/api/v1/admin/users", headers=self.auth("admin"), json={
                "username": user, "display_name": group, "email": f"{user}@example.com", "password": password,
                "groups": [group]})
            assert made.status_code == 201, made.json
        return user, password

    def _complete(self, task: dict, data: Mapping[str, Any]) -> tuple[str, str | None] | None:
        found = (task["assignee"], "demo") if task.get("assignee") else self._user_for(task["group"])
        if found is None:  # a group nobody can be in: a manager hands the task to the process owners
            moved = self.client.post(f"/api/v1/tasks/{task['id']}/reassign", json={"group": "process_owner"},
                                     headers=self.auth("manager1"))
            assert moved.status_code == 200, moved.json
            found = ("owner1", "demo")
        user, password = found
        resp = self.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": dict(data)},
                                headers=self.auth(user, password))
        if resp.status_code == 200:
            return None
        return f"complete {task['element_id']}: {resp.status_code} {resp.json}", _element_of(resp)

    def _step(self, instance_id: int, scenario: Scenario, step: Step) -> tuple[str, str | None] | None:
        if isinstance(step, Complete):
            tasks = [t for t in self.instance(instance_id)["open_tasks"] if t["element_id"] == step.element]
            if not tasks:
                return f"{step.element} is not open", None
            return self._complete(tasks[0], step.data)
        if isinstance(step, CompleteAll):
            for _ in range(step.limit):
                detail = self.instance(instance_id)
                if detail["status"] != "running" or not detail["open_tasks"]:
                    return None
                task = min(detail["open_tasks"], key=lambda t: (t["element_id"], t["id"]))
                form = self.client.get(f"/api/v1/tasks/{task['id']}", headers=self.auth("admin")).json.get("form") or {}
                error = self._complete(task, step.data(list(form.get("properties", {}))))
                if error:
                    return error
            return None
        if isinstance(step, Message):
            correlation = step.correlation or {"business_key": scenario.start_data.get("business_key")}
            resp = self.client.post(f"/api/v1/messages/{step.name}", headers=self.auth("bank1"),
                                    json={"correlation": dict(correlation), "payload": dict(step.payload)})
            if resp.status_code == 200:
                return None
            return f"message {step.name}: {resp.status_code} {resp.json}", _element_of(resp)
        self.clock.value += timedelta(seconds=step.seconds)
        self.sweep()
        return None


def _element_of(resp) -> str | None:
    """The element a refused request names (a failed step's element)."""
    return ((resp.json or {}).get("error") or {}).get("element_id")
