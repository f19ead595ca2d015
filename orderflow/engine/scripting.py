"""SpiffWorkflow's script engine, replaced by the safe expression language.

SpiffWorkflow 3.2.0 evaluates every expression with ``eval``/``exec`` and full builtins,
and its ``call_service`` turns any handler error into ``NameError: script``. Both are
overridden here: expressions go through ``expressions.evaluate``, scripts through
``expressions.run_script`` (both on a counted work budget; what a script stores is checked
there), and service tasks dispatch to the handler registry. Parameters evaluated for a handler
are checked like stored data (``json_clean``): a handler never receives NaN, a set or megabytes
that an expression made up, since whatever it echoes back ends up in the order.
"""
from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol, TypeGuard

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import SequentialMultiInstanceTask
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.task import Task

from orderflow.engine import expressions, json_clean
from orderflow.engine.service_tasks import describe, policy, result_json, store_result


class Refusal(Protocol):
    """What a handler's refusal carries (``handlers.registry.Refused``; ``field``, ``message_zh`` optional)."""

    refuses_input: bool
    message: str


def refuses_input(cause: BaseException) -> TypeGuard[Refusal]:
    """The handler refused the data it was given (``handlers.registry.Refused``): a 422 for the
    request, not an incident. Duck-typed: the engine never imports handlers."""
    return bool(getattr(cause, "refuses_input", False))


class HandlerFailed(Exception):
    """A service handler raised: carries the element, the handler and the cause."""

    def __init__(self, element_id: str, handler: str, cause: BaseException):
        super().__init__(f"The step '{element_id}' failed in handler '{handler}': {type(cause).__name__}: {cause}")
        self.element_id = element_id
        self.handler = handler
        self.cause = cause


@dataclass
class Services:
    """What the service lends to handlers during one engine run (DB counters, audit)."""

    config: Mapping[str, Any] = field(default_factory=dict)
    next_sequence: Callable[[str], int] | None = None
    audit: Callable[[str, str, dict], None] | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    instance_id: int | None = None
    process_key: str = ""
    elements: Mapping[str, Any] = field(default_factory=dict)   # element id -> ElementInfo
    # defer(task_uuid, element_id, handler, delays, error) -> None: run later as a job
    defer: Callable[..., None] | None = None
    # fail(task_uuid, element_id, handler, message, traceback) -> None: park as an incident
    fail: Callable[..., None] | None = None
    default_async_retry: str = "R3/PT10S"
    # start_process(key, data) -> business key: starts another deployed process in this transaction
    start_process: Callable[[str, dict], str | None] | None = None
    # mail(to, subject, body): queue an e-mail to someone outside (a customer), sent after the commit
    mail: Callable[[str, str, str], None] | None = None


@dataclass
class HandlerContext:
    """The ``ctx`` every handler receives; handlers never import the service."""

    data: dict[str, Any]
    instance_id: int | None
    process_key: str
    element_id: str
    config: Mapping[str, Any]
    idempotency_key: str
    _services: Services

    def now(self) -> datetime:
        return self._services.clock()

    def next_sequence(self, name: str) -> int:
        if self._services.next_sequence is None:
            raise RuntimeError("No sequence store is attached to this engine run.")
        return self._services.next_sequence(name)

    def audit(self, action: str, detail: dict | None = None) -> None:
        if self._services.audit is not None:
            self._services.audit(action, self.element_id, dict(detail or {}))

    def mail(self, to: str, subject: str, body: str) -> bool:
        """Queue an e-mail (the outbox; sent after the commit). False when this run has no outbox."""
        if self._services.mail is None:
            return False
        self._services.mail(str(to), str(subject), str(body))
        return True

    def start_process(self, key: str, data: dict) -> str | None:
        """Start an instance of another deployed process (a follow-up such as a survey) in the same
        transaction; returns its business key. LookupError when no version of ``key`` is deployed."""
        if self._services.start_process is None:  # a bare engine (tests, benchmarks): nothing to start
            raise LookupError(f"no process can be started from this engine run (asked for '{key}')")
        return self._services.start_process(key, dict(data))


@lru_cache(maxsize=256)
def _parameter_names(handler: Callable[..., Any]) -> tuple[str, ...]:
    """The handler's keyword parameters after ``ctx``."""
    params = list(inspect.signature(handler).parameters.values())[1:]
    return tuple(p.name for p in params if p.kind in {p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY})


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        if external_context:
            context = {**external_context, **context}
        return expressions.evaluate(expression, context)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        expressions.run_script(script, context)
        return True

    def call_service(self, context: dict, **kwargs: Any) -> str:  # pragma: no cover - engine calls ours
        raise NotImplementedError


MAX_PARALLEL_INSTANCES = 500  # a parallel multi-instance creates a task per instance up front


def _cardinality(task: Task, expression: str, value: Any) -> int:
    """A multi-instance's count must be a whole number the engine can make tasks for: SpiffWorkflow
    3.2 leaves the order running with nothing to do on -1 or 2.5, and a parallel one builds all its
    10**12 tasks at once (a sequential one makes one at a time: the run bounds stop a runaway)."""
    whole = value if isinstance(value, int) and not isinstance(value, bool) else \
        int(value) if isinstance(value, float) and value.is_integer() else None
    most = None if isinstance(task.task_spec, SequentialMultiInstanceTask) else MAX_PARALLEL_INSTANCES
    if whole is None or whole < 0 or (most is not None and whole > most):
        bound = f"from 0 to {most}" if most is not None else "of 0 or more"
        raise WorkflowTaskException(f"The number of instances '{expression}' must be a whole number {bound}; "
                                    f"it is {str(value)[:40]}.", task=task)
    return whole


def _check_parameters(task: Task, params: Mapping[str, Any]) -> None:
    """Evaluated parameters are clean JSON of bounded size, as a script's stored values are."""
    for name, value in params.items():
        found = json_clean.problem(value, name, limit=expressions.VALUE_LIMIT)
        if found:
            raise WorkflowTaskException(f"The parameter '{found[0]}' cannot be passed on: {found[1]}", task=task)


class SafeScriptEngine(PythonScriptEngine):
    """One per loaded workflow: it carries the services of the current request."""

    def __init__(self, registry: Mapping[str, Callable[..., Any]], services: Services | None = None):
        super().__init__(environment=SafeEnvironment())
        self.registry = registry
        self.services = services or Services()

    def validate(self, expression: str) -> None:
        expressions.check_expression(expression)

    def evaluate(self, task: Task, expression: str, external_context: dict | None = None) -> Any:
        value = super().evaluate(task, expression, external_context)
        if expression and expression == getattr(task.task_spec, "cardinality", None):
            return _cardinality(task, expression, value)
        return value

    def execute(self, task: Task, script: str, external_context: dict | None = None) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except expressions.ExpressionError as exc:
            where = f" (line {exc.line})" if exc.line else ""
            error = WorkflowTaskException(f"Script failed{where}: {exc.message}", task=task, exception=exc)
            error.expression_error = exc   # SpiffWorkflow keeps only its class name: the step's message reads it
            raise error from None

    def context(self, task: Task, idempotency_key: str | None = None) -> HandlerContext:
        element_id = task.task_spec.bpmn_id or task.task_spec.name
        return HandlerContext(
            data=json.loads(json.dumps(task.data, default=str)),
            instance_id=self.services.instance_id,
            process_key=self.services.process_key,
            element_id=element_id,
            config=self.services.config,
            idempotency_key=idempotency_key or f"{self.services.instance_id}:{task.id}",
            _services=self.services,
        )

    def invoke(self, task: Task, spec: ServiceTask, idempotency_key: str | None = None) -> Any:
        """Call the task's handler; raises HandlerFailed with the element and the cause."""
        element_id = task.task_spec.bpmn_id or task.task_spec.name
        handler = self.registry.get(spec.operation_name)
        if handler is None:
            raise HandlerFailed(element_id, spec.operation_name,
                                LookupError(f"no handler named '{spec.operation_name}'"))
        params = {name: value["value"] for name, value in spec.evaluate_params(task).items()}
        _check_parameters(task, params)
        for name in _parameter_names(handler):  # unset parameters read the data field of that name,
            if name not in params and name in task.data:  # as a Camunda external-task worker would
                params[name] = task.data[name]
        try:
            return result_json(handler(self.context(task, idempotency_key), **params))
        except Exception as exc:  # the handler's failure is the step's failure, with its cause
            raise HandlerFailed(element_id, spec.operation_name, exc) from exc

    def run_service(self, task: Task, spec: ServiceTask) -> bool | None:
        """Inline when it can; None (task waits) when deferred to a job or parked as an incident."""
        element_id = task.task_spec.bpmn_id or task.task_spec.name
        handler = self.registry.get(spec.operation_name)
        asynchronous, delays = policy(spec, handler, self.services.elements.get(element_id),
                                      self.services.default_async_retry)
        if asynchronous and self.services.defer is not None:
            self.services.defer(str(task.id), element_id, spec.operation_name, [0.0] + delays, None)
            return None
        try:
            store_result(task, self.invoke(task, spec))
            return True
        except HandlerFailed as exc:
            if self.services.fail is None or refuses_input(exc.cause):
                raise  # a refusal of the data fails the whole request; nothing is stored
            message, trace = describe(exc.cause)
            if delays and self.services.defer is not None:
                self.services.defer(str(task.id), element_id, spec.operation_name, delays, message)
            else:
                self.services.fail(str(task.id), element_id, spec.operation_name, message, trace)
            return None

    def call_service(self, task: Task, operation_name: str = "", operation_params: dict | None = None, **_: Any) -> str:
        raise NotImplementedError("service tasks run through run_service")  # pragma: no cover
