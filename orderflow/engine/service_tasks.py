"""Service tasks that may wait: run inline, or defer to a background job, or park as an incident.

SpiffWorkflow's service task calls its operator inline and either completes or fails the
whole run. Here a service task returns ``None`` (the task stays STARTED, i.e. waiting)
when its handler is asynchronous or has failed; the service records a job or an incident
and later completes the task with the handler's result.
"""
from __future__ import annotations

import json
import traceback
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, StartEvent
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.task import Task

from orderflow.engine import events, json_clean, multi_instance
from orderflow.engine.durations import retry_delays


class DeferrableServiceTask(ServiceTask):
    def _execute(self, task: Task) -> bool | None:
        return task.workflow.script_engine.run_service(task, self)


class OrderflowParser(SpiffBpmnParser):
    # tag -> (parser class, task spec class)
    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[type, type]]] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, DeferrableServiceTask),
        full_tag("startEvent"): (events.StartEventParser, StartEvent),
        full_tag("endEvent"): (events.EndEventParser, EndEvent)}

    def get_spec(self, process_id: str, *args: Any, **kwargs: Any) -> BpmnProcessSpec:
        spec = super().get_spec(process_id, *args, **kwargs)
        events.adopt(spec)
        multi_instance.adopt(spec)
        return spec

    def get_subprocess_specs(self, name: str, *args: Any, **kwargs: Any) -> dict[str, BpmnProcessSpec]:
        specs = super().get_subprocess_specs(name, *args, **kwargs)
        for spec in specs.values():
            events.adopt(spec)
            multi_instance.adopt(spec)
        return specs


def policy(spec: ServiceTask, handler: Any, info: Any, default_async_retry: str) -> tuple[bool, list[float]]:
    """(asynchronous?, delays before each retry) from the diagram, then the handler's registration."""
    asynchronous = bool(getattr(info, "asynchronous", False) or getattr(handler, "handler_asynchronous", False))
    written = getattr(info, "retry", None) or getattr(handler, "handler_retry", None)
    if written:
        return asynchronous, retry_delays(written)
    if spec.retries:
        base = spec.retry_backoff_base or 2
        return asynchronous, [float(base ** n) for n in range(1, int(spec.retries) + 1)]
    return asynchronous, retry_delays(default_async_retry) if asynchronous else []


def store_result(task: Task, result: Any) -> None:
    """Put the handler's result where the diagram asked; with no result variable a dict of
    results merges into the data, as a Camunda external-task worker's variables do."""
    variable = task.task_spec.result_variable
    unnamed = not variable or variable == f"spiff__{task.task_spec.bpmn_id}_result"  # SpiffWorkflow's default
    if unnamed and isinstance(result, dict):
        task.data.update(result)
    elif variable:
        task.data[variable] = result


class UnstorableResult(ValueError):
    """A handler returned what order data cannot hold; the step fails (an incident), nothing is stored."""


def result_json(result: Any) -> Any:
    """What the handler returned, as JSON data: dates, decimals and ids as text (as they always
    were); NaN, huge integers, lone surrogates or sets fail the step naming the field."""
    value = _plain(result)
    found = json_clean.problem(value)
    if found is not None:
        where = f"the result's field '{found[0]}'" if found[0] else "the result"
        raise UnstorableResult(f"{where} cannot be stored: {found[1]}")
    return value


_AS_TEXT = (datetime, date, time, Decimal, UUID)


def _plain(value: Any, depth: int = 0) -> Any:
    """Containers copied with text keys, as ``json.dumps`` would; a date, decimal or id as text;
    anything else left for ``json_clean`` to name (depth beyond its limit, likewise)."""
    if depth > json_clean.MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _key(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    return str(value) if isinstance(value, _AS_TEXT) else value


def _key(key: Any) -> Any:
    return json.dumps(key) if isinstance(key, (bool, type(None))) else str(key) if isinstance(key, (int, float)) \
        else key  # (a tuple key stays: json_clean names it)


def describe(exc: BaseException) -> tuple[str, str]:
    return f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc))[-8000:]
