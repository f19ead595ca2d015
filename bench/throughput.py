"""Throughput: whole orders through the service vs. the bare SpiffWorkflow engine.

All runs drive the same diagram (processes/order_flow.bpmn) along the same happy path with the
same form data, in the same process, one after another:

  memory   SpiffWorkflow 3.2.0 alone, the workflow kept in memory: the floor, the engine's own work
  bare     SpiffWorkflow alone, stock serializer: deserialize + serialize around every step
  cold     the service's domain layer on a real SQLite file, one transaction per step, every step
           deserializing its workflow (ORDERFLOW_WORKFLOW_CACHE_MB=0)
  domain   the same with live workflows kept between steps (the default)
  http     the domain run through Flask's test client with HTTP Basic, JSON in and out

Prints orders/s, ms per user step and each run's step cost against the floor (memory) and against
the bare engine with its serializer. Goals: domain/bare >= 0.5 in speed; an HTTP step <= 2x a step
of the engine in memory.
Usage: python bench/throughput.py [--orders N]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datetime import UTC  # noqa: E402

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine  # noqa: E402
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import select  # noqa: E402

from handlers import REGISTRY  # noqa: E402
from orderflow.engine.expressions import ISO_LITERAL  # noqa: E402
from tests.support.helpers import NEW_ORDER, Api, fill  # noqa: E402

FORMS = {p.stem: json.loads(p.read_text()) for p in (ROOT / "forms").glob("*.json")}


def form_data(schema: dict, values: dict) -> dict:
    """What a clerk enters in the form as it is shown (the fields that apply to the order)."""
    data = fill(schema, {k: v for k, v in values.items() if k not in {"decision", "comment"}})
    for part in ("deposit", "balance"):  # finance books what is still due, as the service's form suggests
        if f"{part}_amount" in data and f"{part}_outstanding" in values:
            data[f"{part}_amount"] = values[f"{part}_outstanding"]
    return data


# -- bare engine ---------------------------------------------------------------

class _Ctx:
    def __init__(self, data):
        self.data, self.config, self.instance_id, self.process_key = data, {}, None, "order_flow"
        self._seq = 0

    def now(self):
        from datetime import datetime
        return datetime.now(UTC)

    def next_sequence(self, name):
        self._seq += 1
        return self._seq

    def audit(self, action, detail=None):
        pass

    def mail(self, to, subject, body):
        return False

    def start_process(self, key, data):
        # the bare engine runs one diagram: the survey the domain run starts after receipt is skipped
        raise LookupError(f"the bare engine does not start '{key}'")


class _Env(TaskDataEnvironment):
    def evaluate(self, expression, context, external_context=None):
        if ISO_LITERAL.match(expression.strip()):  # stock eval cannot read unquoted PT3H
            return expression.strip()
        return super().evaluate(expression, context, external_context)

    def call_service(self, context, operation_name=None, operation_params=None, **_):
        params = {k: v["value"] for k, v in (operation_params or {}).items()}
        return json.dumps(REGISTRY[operation_name](_Ctx(context), **params))


class _Engine(PythonScriptEngine):
    def call_service(self, task, **kwargs):  # 3.2.0's own wrapper hides handler errors; this one does not
        result = self.environment.call_service(task.data, **kwargs)
        spec = task.task_spec  # a dict result without a result variable merges into the data, as the
        if spec.result_variable == f"spiff__{spec.bpmn_id}_result":  # service's store_result does
            value = json.loads(result)
            if isinstance(value, dict):
                task.data.update(value)
        return result


def memory(orders: int) -> tuple[float, int]:
    return bare(orders, keep=True)


def bare(orders: int, keep: bool = False) -> tuple[float, int]:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(ROOT / "processes/order_flow.bpmn"))
    parser.add_dmn_file(str(ROOT / "processes/approval_level.dmn"))
    spec, subs = parser.get_spec("order_flow"), parser.get_subprocess_specs("order_flow")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    engine = _Engine(environment=_Env())
    forms_by_element = _form_keys()
    steps, started = 0, time.perf_counter()
    for _ in range(orders):
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        for task in wf.get_tasks(state=TaskState.READY):
            task.data.update(NEW_ORDER)
        wf.do_engine_steps()
        state = None if keep else serializer.serialize_json(wf)
        while True:
            if not keep:
                wf = serializer.deserialize_json(state)
                wf.script_engine = engine
            ready = [t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.manual]
            if not ready:
                break
            task = ready[0]
            task.data.update(form_data(FORMS[forms_by_element[task.task_spec.bpmn_id]], task.data))
            task.run()
            wf.do_engine_steps()
            state = None if keep else serializer.serialize_json(wf)
            steps += 1
        assert wf.is_completed()
    return time.perf_counter() - started, steps


def _form_keys() -> dict[str, str]:
    import re
    text = (ROOT / "processes/order_flow.bpmn").read_text()
    keys = {}
    user_task = r'<bpmn:userTask id="([^"]+)".*?formJsonSchemaFilename" value="([^"]+)\.json"'
    for match in re.finditer(user_task, text, re.S):
        keys[match.group(1)] = match.group(2)
    return keys


# -- the service -------------------------------------------------------------------

def make_app(folder: str, cache_mb: int = 128):
    from orderflow import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "ORDERFLOW_WORKFLOW_CACHE_MB": cache_mb,
                      "ORDERFLOW_WORKFLOW_CACHE_VERIFY": False,
                      "ORDERFLOW_DATABASE_URL": f"sqlite:///{folder}/bench{cache_mb}.sqlite"})
    runner = app.test_cli_runner()
    for command in (["init-db"], ["deploy"], ["seed-demo"]):
        assert runner.invoke(args=command).exit_code == 0
    return app


def domain(app, orders: int) -> tuple[float, int]:
    from orderflow.core.models import HumanTask, User
    from orderflow.workflow import instances, tasks
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        users = {u.username: u for u in s.scalars(select(User))}
    steps, started = 0, time.perf_counter()
    for _ in range(orders):
        with db.session() as s:
            inst = instances.start(s, s.merge(users["sales1"], load=False), "order_flow", dict(NEW_ORDER))
            s.commit()
            instance_id = inst.id
        while True:
            with db.session() as s:
                task = s.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.status == "ready").limit(1))
                if task is None:
                    break
                actor = s.merge(users[f"{task.group_id}1"], load=False)
                view = tasks.form_for(s, actor, task.id)
                tasks.complete(s, actor, task.id, form_data(view.schema, view.values), password="demo")
                s.commit()
                steps += 1
    return time.perf_counter() - started, steps


def http(app, orders: int) -> tuple[float, int]:
    """A lean client: the complete response lists the next open tasks; per step it gets the
    task's form and pre-filled values, then completes it."""
    api = Api(app.test_client())
    steps, started = 0, time.perf_counter()
    for _ in range(orders):
        open_tasks = api.start_order()["open_tasks"]
        while open_tasks:
            task = open_tasks[0]
            user = f"{task['group']}1"
            form = api.get(user, f"/api/v1/tasks/{task['id']}").json
            body = {"data": form_data(form["form"], form["values"]), "password": "demo"}
            resp = api.post(user, f"/api/v1/tasks/{task['id']}/complete", body)
            assert resp.status_code == 200, resp.json
            open_tasks = resp.json["open_tasks"]
            steps += 1
    return time.perf_counter() - started, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app, cold_app = make_app(folder), make_app(folder, cache_mb=0)
        bare(2), memory(2), domain(app, 2), domain(cold_app, 2)  # warm up: parse, caches, imports
        results = {}
        for name, run in (("memory", memory), ("bare", bare), ("cold", lambda n: domain(cold_app, n)),
                          ("domain", lambda n: domain(app, n)), ("http", lambda n: http(app, n))):
            print(f"running {name} ({args.orders} orders) ...", file=sys.stderr, flush=True)
            results[name] = run(args.orders)
        for each in (app, cold_app):
            each.extensions["orderflow.db"].engine.dispose()
    step = {name: seconds / steps for name, (seconds, steps) in results.items()}
    print(f"{args.orders} orders, {results['bare'][1] // args.orders} user steps each, order_flow.bpmn")
    print(f"{'run':<8}{'orders/s':>10}{'ms/step':>10}{'x memory':>10}{'vs bare':>10}")
    for name, (seconds, _) in results.items():
        print(f"{name:<8}{args.orders / seconds:>10.1f}{1000 * step[name]:>10.2f}"
              f"{step[name] / step['memory']:>10.2f}{step['bare'] / step[name]:>10.2f}")
    speed = step["bare"] / step["domain"]
    print(f"goal: domain/bare >= 0.50 in speed -> {'met' if speed >= 0.5 else 'NOT met'} ({speed:.2f})")
    cost = step["http"] / step["memory"]
    print(f"goal: an HTTP step <= 2x an in-memory engine step -> {'met' if cost <= 2 else 'NOT met'} ({cost:.2f}x)")


if __name__ == "__main__":
    main()
