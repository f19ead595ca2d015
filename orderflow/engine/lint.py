"""Deploy-time lint: every mistake that SpiffWorkflow would only find when an order hits it.

Each rule reports the element id and the source line. Expressions and scripts are vetted
with the same checks the run-time evaluator applies, so nothing unsafe is ever deployed.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from orderflow.core.i18n import Msg
from orderflow.engine import data_io, lint_events
from orderflow.engine.durations import retry_delays
from orderflow.engine.expressions import ISO_LITERAL, ExpressionError, check_expression, evaluate, parse_script
from orderflow.engine.form_checks import form_rule_problems, pattern_messages
from orderflow.engine.form_refs import lint_problems as form_ref_problems
from orderflow.engine.model import ElementInfo, Problem
from orderflow.engine.timer_limits import MAX_TIMER_CHARS, TimerRefused
from orderflow.engine.xmlinfo import NS, local

_EXPRESSION_TAGS = {"conditionExpression", "completionCondition", "loopCardinality", "condition", "loopCondition"}
_TIMER_TAGS = {"timeDuration", "timeDate", "timeCycle"}
_SCRIPT_TAGS = {"script", "preScript", "postScript"}


def _owner_id(el: etree._Element) -> str | None:
    while el is not None:
        if el.get("id") and local(el) not in {"conditionExpression", "timerEventDefinition",
                                              "multiInstanceLoopCharacteristics"}:
            return el.get("id")
        el = el.getparent()
    return None


def _check_timer(text: str) -> str | None:
    """Return a message if the timer value is neither a valid ISO-8601 literal nor a safe expression,
    or is a cycle repeating faster than ORDERFLOW_MIN_TIMER_CYCLE (engine/timer_limits.py)."""
    value = text.strip()
    if len(value) > MAX_TIMER_CHARS:  # before any parse or pattern looks at it
        return Msg("Timer value '%(value)s…' is longer than %(limit)s characters; write a date, "
                   "a duration or a cycle such as R/P1D.", value=value[:40], limit=MAX_TIMER_CHARS)
    if not ISO_LITERAL.match(value):
        try:
            check_expression(value)
            if value[:1] not in "\"'":
                return None  # computed from data at run time; checked as an expression
            value = str(evaluate(value, {}))
        except ExpressionError as exc:
            return Msg("Timer value '%(value)s' is not an ISO-8601 date, duration or cycle (%(reason)s).",
                       value=text.strip(), reason=exc.message)
    try:
        if value.upper().startswith("R"):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except TimerRefused as exc:
        return exc.message
    except Exception:
        return Msg("Timer value '%(value)s' is not a valid ISO-8601 date, duration or cycle (e.g. PT2H, P3D, "
                   "R3/PT10M).", value=value)
    return None


MAX_RETRIES = 100  # "R1000000000/PT1S" would build a list of a billion delays


def _check_retry_size(written: str) -> None:
    value = written.strip()
    count = value[1:].partition("/")[0] if value.upper().startswith("R") else ""
    if len(value) > MAX_TIMER_CHARS * 10 or len(count) > 3 or (count.isdigit() and int(count) > MAX_RETRIES):
        raise ValueError("too many retries")


def _check_text(el: etree._Element, tag: str, text: str) -> str | None:
    if tag in _TIMER_TAGS:
        return _check_timer(text)
    if text.strip().startswith(("${", "#{")):
        return Msg("'%(expression)s' is a JUEL expression; write it as a plain expression, e.g. amount > 1000.",
                   expression=text.strip())
    try:
        if tag in _SCRIPT_TAGS:
            parse_script(text)
        else:
            check_expression(text)
    except ExpressionError as exc:
        if exc.line:
            return Msg("In '%(expression)s' (script line %(line)s): %(reason)s",
                       expression=exc.expression, line=exc.line, reason=exc.message)
        return Msg("In '%(expression)s': %(reason)s", expression=exc.expression, reason=exc.message)
    return None


def _check_expressions(process: etree._Element, file: str | None) -> list[Problem]:
    problems = []
    for el in process.iter():
        tag = local(el)
        text = el.text or ""
        if tag == "parameter" and el.get("value") is not None:
            tag, text = "parameter", el.get("value", "")
        elif tag not in _EXPRESSION_TAGS | _TIMER_TAGS | _SCRIPT_TAGS:
            continue
        if not text.strip():
            continue
        message = _check_text(el, tag, text)
        if message:
            problems.append(Problem(message, _owner_id(el), el.sourceline, file))
    return problems


def _check_gateways(process: etree._Element, file: str | None) -> list[Problem]:
    problems = []
    flows = {f.get("id"): f for f in process.iter(f"{{{NS['bpmn']}}}sequenceFlow")}
    for gw in process.iter(f"{{{NS['bpmn']}}}exclusiveGateway"):
        outgoing = [flows[o.text.strip()] for o in gw.iterfind("bpmn:outgoing", NS)
                    if o.text and o.text.strip() in flows]
        if len(outgoing) < 2:
            continue
        conditional = [f for f in outgoing if f.find("bpmn:conditionExpression", NS) is not None]
        if conditional and not gw.get("default"):
            problems.append(Problem(Msg(
                "This exclusive gateway has conditions but no default flow: an order whose data "
                "matches none of them would stop here. Mark one outgoing flow as the default."),
                gw.get("id"), gw.sourceline, file))
    return problems


# relatedOrder on a start event: the order named by the data's order_no must be in this state ("any": exist)
RELATED_ORDER_STATES = ("completed", "any")


def _check_user_task(info: ElementInfo, find_form: Callable[[str], dict | None], file: str | None) -> list[Problem]:
    problems = []
    if info.kind == "userTask" and not info.group and not info.customer:  # a customer lane has its own fallback
        problems.append(Problem(Msg("This user task has no group, so it goes to the default group's inbox "
                                    "(ORDERFLOW_DEFAULT_TASK_GROUP): put it in the lane of the department that "
                                    "does it, or choose its group in the panel (candidateGroups)."),
                                info.element_id, info.line, file, "warning"))
    if info.foreign_form:
        problems.append(Problem(Msg("The form '%(key)s' is a Camunda Tasklist form (HTML or Camunda Forms), "
                                    "which this service cannot show: the task gets a plain completion form. To ask "
                                    "for data, give it a JSON Schema form (formJsonSchemaFilename).",
                                    key=info.foreign_form), info.element_id, info.line, file, "warning"))
    elif info.kind == "userTask" and not info.form_key:
        problems.append(Problem(Msg("This user task has no form, so it shows only a Complete button: choose its "
                                    "form in the panel's Form list (formJsonSchemaFilename)."), info.element_id,
                                info.line, file, "warning"))
    if info.customer and not info.form_key:
        problems.append(Problem(Msg("This is the customer's step, and the customer's link shows only its form: "
                                    "choose its form in the panel's Form list (formJsonSchemaFilename)."),
                                info.element_id, info.line, file))
    if info.customer and info.signature:
        problems.append(Problem(Msg("A customer's step cannot be an electronic signature: customers have no "
                                    "password to sign with."), info.element_id, info.line, file))
    if info.related_order and info.related_order not in RELATED_ORDER_STATES:
        problems.append(Problem(Msg("relatedOrder must be one of %(states)s, not '%(value)s'.",
                                    states=", ".join(RELATED_ORDER_STATES), value=info.related_order),
                                info.element_id, info.line, file))
    if info.form_key:
        schema = find_form(info.form_key)
        if schema is None:
            problems.append(Problem(Msg("The form '%(key)s' is neither in the upload nor in forms/.",
                                        key=info.form_key), info.element_id, info.line, file))
        else:
            # patterns first: they run on RE2, and the meta-schema would compile them with re
            patterns = [Problem(message, info.element_id, info.line, file)
                        for message in pattern_messages(info.form_key, schema)]
            problems.extend(patterns or _schema_problems(info, schema, file))
            problems.extend(form_ref_problems(info, info.form_key, schema, file))  # no remote/file $ref
            problems.extend(Problem(Msg("The form '%(key)s', %(path)s: %(reason)s", key=info.form_key,
                                        path=".".join(map(str, path)), reason=message),
                                    info.element_id, info.line, file)
                            for message, path in form_rule_problems(schema))
    return problems


def _schema_problems(info: ElementInfo, schema: Any, file: str | None) -> list[Problem]:
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [Problem(Msg("The form '%(key)s' is not a valid JSON Schema: %(reason)s", key=info.form_key,
                            reason=exc.message), info.element_id, info.line, file)]
    except RecursionError:
        return [Problem(Msg("The form '%(key)s' is nested too deeply to be checked.", key=info.form_key),
                        info.element_id, info.line, file)]
    return []


def lint_process(process: etree._Element, elements: Mapping[str, ElementInfo], handlers: Mapping[str, Any],
                 find_form: Callable[[str], dict | None], file: str | None) -> list[Problem]:
    problems = _check_expressions(process, file) + _check_gateways(process, file)
    problems += lint_events.check(process, file)  # event constructs that would run wrongly (engine/lint_events.py)
    starts = [(i.form_key, i.element_id) for i in elements.values() if i.kind == "startEvent" and i.form_key]
    if starts:  # the process's data inputs must be asked for by the form written for its start
        form_key, element_id = starts[0]
        problems += data_io.check_start_form(process, find_form(form_key), element_id, file)
    for info in elements.values():
        if info.kind in {"userTask", "startEvent"}:
            problems.extend(_check_user_task(info, find_form, file))
        if info.retry:
            try:
                _check_retry_size(info.retry)
                retry_delays(info.retry)
            except Exception:
                problems.append(Problem(Msg(
                    "Retry policy '%(value)s' is not R<count>/<duration> (at most %(limit)s "
                    "retries) or a list like PT10S,PT1M.", value=info.retry[:100], limit=MAX_RETRIES),
                    info.element_id, info.line, file))
        if info.requires_signature_of:
            target = elements.get(info.requires_signature_of)
            if target is None or not target.signature:
                problems.append(Problem(Msg(
                    "requiresSignatureOf names '%(step)s', which is not a signature "
                    "step (a user task with signature=true) of this process.", step=info.requires_signature_of),
                    info.element_id, info.line, file))
        if info.kind == "serviceTask":
            if not info.handler:
                problems.append(Problem(Msg("This service task names no handler (serviceTaskOperator)."),
                                        info.element_id, info.line, file))
            elif info.handler not in handlers:
                problems.append(Problem(Msg(
                    "Unknown handler '%(handler)s'. Known handlers: %(handlers)s.",
                    handler=info.handler, handlers=", ".join(sorted(handlers))),
                    info.element_id, info.line, file))
    return problems
