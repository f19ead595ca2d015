"""Run instances: start, complete a user task, snapshot. Returns plain dataclasses.

Every engine run is bounded (``max_steps``) so a diagram that loops without waiting
becomes a ``StepFailed`` instead of a hung worker. Engine and handler exceptions are
translated into the service's own errors with the element that failed.
"""
from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from orderflow.core.errors import InvalidInput, OrderflowError, StepFailed, TaskNotReady
from orderflow.core.i18n import Msg, Texts
from orderflow.engine import (  # timer_limits bounds SpiffWorkflow's timers on import
    data_faults,
    live_check,
    store,
    timer_limits,
    tree_walk,
    waits,
)
from orderflow.engine.clock import engine_clock
from orderflow.engine.events import close_event_subprocesses, fire_conditions, order_data, waiting_definitions
from orderflow.engine.expressions import ExpressionError
from orderflow.engine.live_cache import LiveWorkflows, size_of, size_of_json
from orderflow.engine.model import ReadyTask, Snapshot
from orderflow.engine.scripting import HandlerFailed, SafeScriptEngine, Services, refuses_input
from orderflow.engine.service_tasks import describe, store_result
from orderflow.engine.specs import ProcessDef

MAX_SUBPROCESSES = 500  # open subprocesses and call activities in one instance
MAX_NESTING = 25         # sub-processes inside sub-processes (a call activity calling itself)
MAX_TREE_DEPTH = 900     # tasks in one branch of the task tree (SpiffWorkflow iterates 1000 deep)
MAX_RUN_GROWTH = 250     # tasks one branch may grow by in one run: each step scans the whole tree
MAX_RUN_TASKS = 500      # tasks one run may add to a (sub)process: a wide multi-instance costs steps x tasks


class _Runaway(Exception):
    pass


class Runaway(StepFailed):
    """The engine-step bound stopped a run; the workflow is consistent up to the last step."""

    code = "runaway"
    steps: int  # the steps the run took before it was stopped (set where it is raised)


class Runtime:
    def __init__(self, registry: Mapping[str, Any], max_steps: int = 5000,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), cache_bytes: int = 0,
                 verify_cache: bool = False):
        self.registry = registry
        self.max_steps = max_steps
        self.clock = clock
        self.live = LiveWorkflows(cache_bytes)
        self._sizes: weakref.WeakKeyDictionary[BpmnWorkflow, int] = weakref.WeakKeyDictionary()  # for keep
        self._sizes_lock = threading.Lock()
        self.verify_cache = verify_cache  # tests: every hit is checked against its stored state

    def _engine(self, services: Services) -> SafeScriptEngine:
        return SafeScriptEngine(self.registry, services)

    def new(self, pdef: ProcessDef, services: Services) -> BpmnWorkflow:
        return BpmnWorkflow(pdef.spec, pdef.subprocess_specs, script_engine=self._engine(services))

    def load(self, pdef: ProcessDef, state: str | Callable[[], str], services: Services, key: Any = None,
             token: str | None = None) -> BpmnWorkflow:
        """The workflow stored as ``state`` (its text, or a function reading it, called only when
        needed): the live one kept under ``key`` when it was stored under ``token`` on this very
        definition, else deserialized."""
        entry = self.live.take(key, token, pdef) if key is not None else None
        if entry is None:
            text = state() if callable(state) else state
            workflow, size = store.load_stored(text, pdef), size_of(text)
        else:
            workflow, size = entry.workflow, entry.size
            if self.verify_cache:
                live_check.require_same(workflow, state() if callable(state) else state, pdef)
        with self._sizes_lock:
            self._sizes[workflow] = size
        workflow.script_engine = self._engine(services)
        return workflow

    def keep(self, key: Any, token: str | None, pdef: ProcessDef, workflow: BpmnWorkflow,
             stored: store.Stored | None = None) -> None:
        """``workflow`` was stored under ``token`` as ``stored`` (or read, unchanged: ``stored`` None):
        the next load of ``key`` naming that token may reuse it."""
        if stored is not None:
            size: int | None = size_of_json(stored.chars)
        else:
            with self._sizes_lock:
                size = self._sizes.get(workflow)
        if token is not None and size is not None:
            self.live.put(key, token, pdef, workflow, size)

    dump = staticmethod(store.dump)
    store_step = staticmethod(store.store_step)

    def start(self, workflow: BpmnWorkflow, data: dict[str, Any]) -> int:
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        return self._run(workflow)

    def complete(self, workflow: BpmnWorkflow, task_uuid: str, data: dict[str, Any]) -> int:
        task = self.find_task(workflow, task_uuid)
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReady(Msg("This task is no longer waiting for input: someone completed it or the order "
                                   "moved on."))
        task.data.update(data)
        return self._run(workflow, first=task)

    def fire_timers(self, workflow: BpmnWorkflow) -> list[str]:
        """Let every timer whose time has come fire, run what follows; the timers that fired."""
        waiting = {t: (element_id, copy.deepcopy(t.internal_data.get("event_value")))
                   for t, definition, element_id in waiting_definitions(workflow)
                   if isinstance(definition, TimerEventDefinition) and t.state == TaskState.WAITING}
        try:
            with engine_clock(self.clock):
                workflow.refresh_timers()
        except (SpiffWorkflowException, ExpressionError, ValueError, TypeError, KeyError) as exc:
            raise _step_failed(exc, _culprit(exc)) from exc
        # a cycle stays WAITING and counts down; the others leave WAITING or are marked fired
        fired = [element_id for t, (element_id, before) in waiting.items()
                 if t.state != TaskState.WAITING or t.internal_data.get("event_fired")
                 or t.internal_data.get("event_value") != before]
        self._run(workflow)
        return fired

    def resume(self, workflow: BpmnWorkflow) -> int:
        """Run what is runnable again (after a stopped run or a failed condition was fixed)."""
        return self._run(workflow)

    def finish_service(self, workflow: BpmnWorkflow, task_uuid: str, result: Any = None,
                       call: bool = True, idempotency_key: str | None = None) -> int:
        """Complete a waiting service task: call its handler (``call``) or take ``result`` as given."""
        task = self.find_task(workflow, task_uuid)
        if task is None or task.state != TaskState.STARTED or not hasattr(task.task_spec, "operation_name"):
            raise TaskNotReady(Msg("This step is no longer waiting for its service call."))
        if call:
            with engine_clock(self.clock):
                try:
                    result = workflow.script_engine.invoke(task, task.task_spec, idempotency_key)
                except HandlerFailed as exc:
                    raise _handler_failed(exc) from exc
        store_result(task, result)
        try:
            with engine_clock(self.clock):
                task.complete()  # its followers update here: a bad timer after it fails now
        except (SpiffWorkflowException, ExpressionError, ValueError, TypeError, KeyError) as exc:
            raise _step_failed(exc, _culprit(exc) or task) from exc
        return self._run(workflow)

    def deliver_message(self, workflow: BpmnWorkflow, name: str, payload: dict[str, Any]) -> str:
        """Hand a message from outside to the event waiting for it (a catch event, an event-based
        gateway's branch, an event sub-process's start); returns that event's element id."""
        found = waits.message_definition(workflow, name)
        if found is None:
            raise TaskNotReady(Msg("This order is not waiting for the message '%(name)s'.", name=name))
        definition, element_id, _ = found
        missing = [p.name for p in definition.correlation_properties
                   if not _reads(workflow, p.retrieval_expression, payload)]
        if missing:  # SpiffWorkflow would fail evaluating the retrieval expression on the payload
            raise InvalidInput(Msg("The message '%(name)s' must carry its correlation properties: %(missing)s is "
                                   "missing from 'correlation' and 'payload'.", name=name, missing=", ".join(missing)),
                               fields={p: Msg("required") for p in missing})
        event = BpmnEvent(definition, payload=payload, correlations=dict(workflow.correlations))
        try:
            with engine_clock(self.clock):
                workflow.send_event(event)
        except (SpiffWorkflowException, ExpressionError, ValueError, TypeError, KeyError) as exc:
            raise _step_failed(exc, _culprit(exc)) from exc
        self._run(workflow)
        return element_id

    @staticmethod
    def find_task(workflow: BpmnWorkflow, task_uuid: str) -> Task | None:
        from uuid import UUID
        try:
            return workflow.get_task_from_id(UUID(task_uuid))
        except (ValueError, KeyError, WorkflowException):
            return None

    def _run(self, workflow: BpmnWorkflow, first: Task | None = None) -> int:
        count = 0
        last = None
        nested = False
        base: dict[int, int] = {}  # id(workflow) -> the depth of its first task this run
        sizes: dict[int, int] = {}  # id(workflow) -> its number of tasks when first seen this run

        def bound(task: Task) -> None:
            # every check is O(1) or O(depth): SpiffWorkflow already scans the whole task tree
            # (and every open subprocess, and every waiting task) per step, so a runaway costs
            # steps x tree size; nesting, per-run depth growth and per-run new tasks keep both
            # small. The absolute tree depth guards its iterator,
            # which stops looking at MAX_TREE_DEPTH + 100: a deeper loop would look *completed*.
            nonlocal count, last, nested
            count += 1
            last = task.task_spec.bpmn_id or task.task_spec.name
            depth = task.depth
            start = base.setdefault(id(task.workflow), depth)
            if task.workflow.depth > MAX_NESTING or len(workflow.subprocesses) > MAX_SUBPROCESSES:
                nested = True
                raise _Runaway()
            grown = len(task.workflow.tasks) - sizes.setdefault(id(task.workflow), len(task.workflow.tasks))
            if count > self.max_steps or depth > MAX_TREE_DEPTH or depth - start > MAX_RUN_GROWTH \
                    or grown > MAX_RUN_TASKS:
                raise _Runaway()

        current = first
        try:
            with engine_clock(self.clock):
                if first is not None:
                    first.run()
                    count += 1
                current = None
                workflow.do_engine_steps(did_complete_task=bound)
                count += fire_conditions(workflow, bound)
                close_event_subprocesses(workflow, bound)
        except _Runaway:
            stopped = _runaway(nested, count, self.max_steps, last)
            stopped.steps = count
            raise stopped from None
        except HandlerFailed as exc:
            raise _handler_failed(exc) from exc
        except (SpiffWorkflowException, ExpressionError) as exc:
            raise _step_failed(exc, current) from exc
        except OrderflowError:
            raise
        except Exception as exc:  # SpiffWorkflow's own errors on bad data (a timer of 'banana'): the step's fault
            raise _step_failed(exc, _culprit(exc) or current) from exc
        return count

    @staticmethod
    def snapshot(workflow: BpmnWorkflow) -> Snapshot:
        """What the service projects after a step, from one walk over the task tree
        (``tree_walk.py``): ready user tasks, finished elements, the order's data, what the instance
        waits for."""
        tree = tree_walk.walk(workflow)
        ready = [ReadyTask(str(t.id), t.task_spec.bpmn_id or t.task_spec.name,
                           t.task_spec.bpmn_name or t.task_spec.name, t.data) for t in tree.ready if t.task_spec.manual]
        finished = [t.task_spec.bpmn_id for t in tree.completed if t.task_spec.bpmn_id]
        data = order_data(workflow, tree.open)
        # what workflow.is_completed() would walk the tree again for (and remember, as it does)
        completed = workflow.completed = bool(workflow.completed or tree.finished)
        pending = [] if completed else waits.pending(workflow, data, tree.started)
        messages = sorted({w.name for w in pending if w.kind == "message" and w.name})
        return Snapshot(ready=ready, completed=completed, data=data,
                        next_timer_at=waits.next_timer_at(pending), finished_elements=finished,
                        waiting_messages=messages, waits=pending)


def _reads(workflow: BpmnWorkflow, expression: str, payload: dict[str, Any]) -> bool:
    try:
        workflow.script_engine.environment.evaluate(expression, dict(payload))
    except ExpressionError:
        return False
    return True


def _runaway(nested: bool, count: int, max_steps: int, element: str | None) -> Runaway:
    if nested:
        return Runaway(Msg(
            "The process opened sub-processes more than %(depth)s deep (or more than %(count)s at once) and was "
            "stopped at '%(element)s'; a call activity probably calls its own process. Ask the process owner to "
            "check it, then retry or terminate the order.", depth=MAX_NESTING, count=MAX_SUBPROCESSES,
            element=element), element_id=element)
    return Runaway(Msg(
        "The process ran %(steps)s steps without waiting for anyone and was stopped at '%(element)s'; "
        "it is probably looping. Ask the process owner to check the loop, then retry or terminate "
        "the order.", steps=min(count, max_steps), element=element), element_id=element)


def _culprit(exc: BaseException) -> Task | None:
    """The innermost SpiffWorkflow task the failing code was working on (its methods call it my_task)."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("my_task")
        if getattr(candidate, "task_spec", None) is not None:
            found = candidate
        tb = tb.tb_next
    return found


def _step_failed(exc: Exception, task: Task | None) -> StepFailed | InvalidInput:
    spiff_task = getattr(exc, "task", None) or task
    element_id = None
    if spiff_task is not None:
        element_id = spiff_task.task_spec.bpmn_id or spiff_task.task_spec.name
    cause = getattr(exc, "exception", None) or exc
    detail = cause.message if isinstance(cause, ExpressionError) else str(cause)
    detail = detail.strip().rstrip(".").strip() or type(cause).__name__
    detail = data_faults.explain(cause, spiff_task) or detail  # the data field, in words (engine/data_faults.py)
    definition = getattr(getattr(spiff_task, "task_spec", None), "event_definition", None)
    if isinstance(cause, timer_limits.TimerRefused):
        detail = cause.message[:1].lower() + cause.message[1:].rstrip(".")  # too fast or too long, from data
    elif isinstance(definition, TimerEventDefinition) \
            and not isinstance(cause, (ExpressionError, SpiffWorkflowException)):
        detail = f"the timer's value ({definition.expression}) is not an ISO-8601 date, duration or cycle such as PT2H"
    if isinstance(cause, HandlerFailed):
        return _handler_failed(cause)
    reason = _expression_reason(cause, detail)
    if reason is not None:   # the expression's own words, translatable whole; the same English as below
        if element_id:
            message = Msg("The process stopped at '%(element)s': %(reason)s Nothing was saved; correct the input "
                          "or ask the process owner to fix the diagram.", element=element_id, reason=reason)
        else:
            message = Msg("The process stopped: %(reason)s Nothing was saved; correct the input or ask the "
                          "process owner to fix the diagram.", reason=reason)
        return StepFailed(message, element_id, detail)
    if element_id:
        message = Msg("The process stopped at '%(element)s': %(detail)s. Nothing was saved; "
                      "correct the input or ask the process owner to fix the diagram.",
                      element=element_id, detail=detail)
    else:
        message = Msg("The process stopped: %(detail)s. Nothing was saved; "
                      "correct the input or ask the process owner to fix the diagram.", detail=detail)
    return StepFailed(message, element_id, detail)


def _expression_reason(cause: BaseException, detail: str) -> Msg | None:
    """The failed expression's (or script line's) sentence as a Msg, when ``detail`` says just that:
    its own words with the period the step's message adds after them."""
    found: BaseException | None = cause
    for _ in range(3):   # the scripting wrapper holds the ExpressionError, perhaps inside the parser's
        if isinstance(found, ExpressionError) or found is None:
            break
        found = getattr(found, "expression_error", None) or getattr(found, "exception", None)
    if not isinstance(found, ExpressionError) or not isinstance(found.message, Msg) or not found.message.endswith("."):
        return None
    words = found.message
    if detail == words.rstrip(".").strip():
        return words
    if found.line and detail == f"Script failed (line {found.line}): {words.rstrip('.').strip()}":
        return Msg("Script failed (line %(line)s): %(reason)s", line=found.line, reason=words)
    if detail == f"Script failed: {words.rstrip('.').strip()}":
        return Msg("Script failed: %(reason)s", reason=words)
    return None


def _handler_failed(exc: HandlerFailed) -> StepFailed | InvalidInput:
    """Same English as ``str(exc)`` (scripting.HandlerFailed), as a translatable message; a
    handler's refusal of the data is the reader's input error, on the field it names."""
    if refuses_input(exc.cause):
        text = Texts(exc.cause.message, zh=getattr(exc.cause, "message_zh", ""))
        return InvalidInput(text, fields={getattr(exc.cause, "field", None) or exc.element_id: text},
                            element_id=exc.element_id)
    if _from_the_database(exc.cause):  # the service's own storage failed under the handler (a race, a lock):
        cause = "the database refused a change"  # its text names tables and SQL, which no reader needs
    else:
        cause = f"{type(exc.cause).__name__}: {exc.cause}"
    message = Msg("The step '%(element)s' failed in handler '%(handler)s': %(cause)s",
                  element=exc.element_id, handler=exc.handler, cause=cause)
    failed = StepFailed(message, exc.element_id, cause)
    # errors.py declares no traceback: only a handler's failure has one (read with getattr)
    failed.traceback = describe(exc.cause)[1]  # type: ignore[attr-defined]
    return failed


def _from_the_database(exc: BaseException) -> bool:
    """An error of the database layer (SQLAlchemy or a driver), by where its class lives."""
    return type(exc).__module__.split(".")[0] in {"sqlalchemy", "psycopg", "psycopg2", "sqlite3"}


instance_data = order_data  # the name other modules knew
