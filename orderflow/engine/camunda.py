"""Diagrams saved by Camunda Modeler, rewritten in place into the dialect the engine runs.

Runs on the parsed tree before SpiffWorkflow and the lint see it, so everything after
reads one dialect: JUEL ``${…}`` conditions become plain expressions (or a problem on the
element), external-task topics become handler calls, ``camunda:decisionRef`` becomes the
called decision, and ``camunda:formData`` becomes a generated JSON-Schema form. The stored
sources stay as uploaded; the rewrite is repeated whenever they are compiled.
"""
from __future__ import annotations

import re
from typing import Any

from lxml import etree

from orderflow.core.i18n import Msg
from orderflow.engine.model import Problem
from orderflow.engine.multi_instance import rewrite_collection
from orderflow.engine.xmlinfo import NS, local

SPIFF = NS["spiff"]
CAMUNDA = NS["camunda"]
_EXPRESSION_TAGS = {"conditionExpression", "completionCondition", "loopCardinality", "condition", "loopCondition",
                    "timeDuration", "timeDate", "timeCycle"}

# -- JUEL ---------------------------------------------------------------------

# Linear: every alternative reads its characters once. A quote always starts a string token, to
# its closing quote or the end ("dq"/"sq" tell which): a string that could fail made finditer
# rescan the rest of the text from every later quote, quadratic over '"' + '\\"' * n.
_JUEL_TOKEN = re.compile(r"""
    (?P<string>"(?:[^"\\]|\\.)*(?P<dq>")?|'(?:[^'\\]|\\.)*(?P<sq>')?)
  | (?P<op>&&|\|\||==|!=|<=|>=|!|<|>|\(|\)|\+|-|\*|/|%)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE)
_JUEL_WORDS = {"and": "and", "or": "or", "not": "not", "eq": "==", "ne": "!=", "lt": "<", "gt": ">",
               "le": "<=", "ge": ">=", "true": "True", "false": "False", "null": "None", "div": "/", "mod": "%"}
_JUEL_OPS = {"&&": "and", "||": "or", "!": "not"}


class Untranslatable(Exception):
    """What cannot be translated: a token as written, or a ``Msg`` ("a function call")."""

    @property
    def reason(self) -> str:
        return self.args[0] if self.args else ""


def is_juel(text: str) -> bool:
    value = text.strip()
    return value.startswith(("${", "#{")) and value.endswith("}")


def translate_juel(text: str) -> str:
    """``${amount > 1000 && tier eq 'key'}`` → ``amount > 1000 and tier == 'key'``.

    Only comparisons, arithmetic and and/or/not over data fields and literals translate;
    method calls (``execution.getVariable(…)``), ``empty`` and ternaries do not.
    """
    body = text.strip()[2:-1]
    out: list[str] = []
    for match in _JUEL_TOKEN.finditer(body):
        kind, token = match.lastgroup, match.group()
        if kind == "space":
            continue
        if kind == "string" and not (match.group("dq") or match.group("sq")):
            raise Untranslatable(token[:1])  # a quote that is never closed
        if kind == "other" or (kind == "name" and token in {"empty", "execution", "task"}):
            raise Untranslatable(token)
        if kind == "name" and "." in token and token.split(".")[0] in {"execution", "task", "dateTime"}:
            raise Untranslatable(token)
        if kind == "op" and token in _JUEL_OPS:
            token = _JUEL_OPS[token]
        elif kind == "name" and token in _JUEL_WORDS:
            token = _JUEL_WORDS[token]
        elif kind == "op" and token == "(" and out and out[-1][-1:].isalnum() and out[-1] not in {"and", "or", "not"}:
            raise Untranslatable(Msg("a function call"))
        out.append(token)
    if not out:
        raise Untranslatable(Msg("empty"))
    return " ".join(out)


# -- formData ------------------------------------------------------------------

_FORM_TYPES = {"string": {"type": "string"}, "long": {"type": "integer"}, "integer": {"type": "integer"},
               "double": {"type": "number"}, "boolean": {"type": "boolean"},
               "date": {"type": "string", "format": "date"}}


def form_from_form_data(element: etree._Element, form_data: etree._Element) -> dict:
    """A JSON Schema with one property per ``camunda:formField`` (types, enums, defaults, constraints)."""
    properties: dict[str, dict] = {}
    required: list[str] = []
    for field in form_data.iterfind("camunda:formField", NS):
        name = field.get("id")
        if not name:
            continue
        kind = field.get("type") or "string"
        prop: dict[str, Any] = dict(_FORM_TYPES.get(kind, {"type": "string"}))
        prop["title"] = field.get("label") or name
        values = field.findall("camunda:value", NS)
        if kind == "enum" or values:
            prop = {"type": "string", "title": prop["title"], "enum": [v.get("id") for v in values],
                    "enumNames": [v.get("name") or v.get("id") for v in values]}
        default = field.get("defaultValue")
        if default is not None and not is_juel(default):
            prop["default"] = _typed(default, prop.get("type"))
        for constraint in field.iterfind("camunda:validation/camunda:constraint", NS):
            name_c, config = constraint.get("name"), constraint.get("config")
            if name_c == "required":
                required.append(name)
            elif name_c in {"min", "max"} and config is not None and prop.get("type") in {"integer", "number"}:
                prop["minimum" if name_c == "min" else "maximum"] = _typed(config, "number")
            elif name_c in {"minlength", "maxlength"} and config and config.isdigit():
                prop["minLength" if name_c == "minlength" else "maxLength"] = int(config)
            elif name_c == "readonly":
                prop["readOnly"] = True
        properties[name] = prop
    schema = {"type": "object", "title": element.get("name") or element.get("id"), "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _typed(value: str, kind: str | None) -> int | float | bool | str:
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            return value.strip().lower() == "true"
    except ValueError:
        pass
    return value


# -- the rewrite ----------------------------------------------------------------

def _owner(el: etree._Element) -> etree._Element:
    while el is not None and not (el.get("id") and local(el) not in {"conditionExpression", "timerEventDefinition"}):
        el = el.getparent()
    return el


def _extensions(el: etree._Element) -> etree._Element:
    ext = el.find("bpmn:extensionElements", NS)
    if ext is None:
        ext = etree.Element(f"{{{NS['bpmn']}}}extensionElements")
        el.insert(0, ext)
    return ext


def _set_spiff_property(el: etree._Element, name: str, value: str) -> None:
    ext = _extensions(el)
    props = ext.find("spiff:properties", NS)
    if props is None:
        props = etree.SubElement(ext, f"{{{SPIFF}}}properties")
    if props.find(f"spiff:property[@name='{name}']", NS) is None:
        etree.SubElement(props, f"{{{SPIFF}}}property", name=name, value=value)


def _problem(el: etree._Element, message: str, file: str | None, severity: str = "error") -> Problem:
    owner = _owner(el)
    return Problem(message, owner.get("id") if owner is not None else None, el.sourceline, file, severity)


def rewrite(root: etree._Element, file: str | None) -> tuple[list[Problem], dict[str, dict]]:
    """Rewrite Camunda constructs in ``root``; returns problems and the generated forms."""
    problems: list[Problem] = []
    forms: dict[str, dict] = {}
    for el in root.iter():
        tag = local(el)
        if tag in _EXPRESSION_TAGS and el.text and is_juel(el.text):
            try:
                el.text = translate_juel(el.text)
            except Untranslatable as exc:
                problems.append(_problem(el, Msg(
                    "The JUEL expression '%(expression)s' cannot be translated (%(what)s is not supported): "
                    "only comparisons and and/or/not of data fields are. Write it as a plain expression, "
                    "e.g. amount > 1000 and approved.", expression=el.text.strip(), what=exc.reason), file))
        elif tag == "serviceTask" or (tag in {"sendTask", "businessRuleTask"} and el.get(f"{{{CAMUNDA}}}topic")):
            _service_task(el, file, problems)
        if tag == "businessRuleTask":
            _business_rule_task(el, file, problems)
        if tag == "multiInstanceLoopCharacteristics":  # camunda:collection (engine/multi_instance.py)
            problems.extend(rewrite_collection(el, file))
        if tag in {"userTask", "startEvent"}:
            form_data = el.find("bpmn:extensionElements/camunda:formData", NS)
            if form_data is not None and el.get("id"):
                key = f"{el.get('id')}_form"
                forms[key] = form_from_form_data(el, form_data)
                _set_spiff_property(el, "formJsonSchemaFilename", f"{key}.json")
        if tag == "script" and el.getparent() is not None:
            fmt = (el.getparent().get("scriptFormat") or "python").lower()
            if fmt not in {"python", "text/python", "text/x-python", ""}:
                problems.append(_problem(el, script_language_problem(fmt), file))
        if tag == "userTask":
            _routing(el, file, problems)
        io = el.find("bpmn:extensionElements/camunda:inputOutput", NS)
        if io is not None:
            _input_output(el, io, file, problems)
        for listener in ("executionListener", "taskListener"):
            if el.find(f"bpmn:extensionElements/camunda:{listener}", NS) is not None:
                problems.append(_problem(el, Msg("camunda:%(listener)s is ignored: listeners run Java or scripts, "
                                                 "which this service does not execute.", listener=listener),
                                         file, "warning"))
    return problems, forms


def _routing(el: etree._Element, file: str | None, problems: list[Problem]) -> None:
    """Camunda routing the service does not follow: said at deploy, not silently dropped."""
    if el.get(f"{{{CAMUNDA}}}candidateUsers"):
        problems.append(_problem(el, Msg("camunda:candidateUsers is not followed: tasks go to groups here (lane or "
                                         "candidateGroups); name a group, or one user as camunda:assignee."),
                                 file, "warning"))
    for attr in ("assignee", "candidateGroups"):
        value = el.get(f"{{{CAMUNDA}}}{attr}") or ""
        if is_juel(value):
            message = Msg("camunda:assignee '%(value)s' is computed by an expression, which is not followed here: "
                          "the task goes to its lane's group. Name the user directly.", value=value.strip()) \
                if attr == "assignee" else \
                Msg("camunda:candidateGroups '%(value)s' is computed by an expression, which is not followed here: "
                    "the task goes to its lane's group. Name the groups directly.", value=value.strip())
            problems.append(_problem(el, message, file, "warning"))


# -- camunda:inputOutput -----------------------------------------------------------

_PRE_SCRIPT_TAGS = {"task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
                    "subProcess", "callActivity"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _parameter_value(param: etree._Element) -> str:
    """A Camunda parameter's value as an expression; raises Untranslatable with the reason."""
    script = param.find("camunda:script", NS)
    if script is not None:
        raise Untranslatable(_script_as_value(script.get("scriptFormat") or "script"))
    for tag in ("list", "map"):
        container = param.find(f"camunda:{tag}", NS)
        if container is not None:
            if tag == "list":
                return "[" + ", ".join(_text_value(v.text or "") for v in container.iterfind("camunda:value", NS)) + "]"
            return "{" + ", ".join(f"{e.get('key')!r}: {_text_value(e.text or '')}"
                                   for e in container.iterfind("camunda:entry", NS)) + "}"
    return _text_value(param.text or "")


def _text_value(text: str) -> str:
    """Plain text is a string constant in Camunda; ``${…}`` is an expression."""
    value = text.strip()
    if is_juel(value):
        try:
            return translate_juel(value)
        except Untranslatable as exc:
            raise Untranslatable(Msg("'%(token)s' in %(value)s is not supported (only comparisons, arithmetic and "
                                     "and/or/not of data fields are)", token=exc.reason, value=value)) from None
    return repr(value) if value else "None"


def _input_output(el: etree._Element, io: etree._Element, file: str | None, problems: list[Problem]) -> None:
    """Camunda's input/output mappings as spiffworkflow pre/post scripts (a script task: its own
    first and last lines). Unlike Camunda, the inputs stay in the order's data after the step."""
    lines: dict[str, list[str]] = {"inputParameter": [], "outputParameter": []}
    for kind in lines:
        for param in io.iterfind(f"camunda:{kind}", NS):
            name = (param.get("name") or "").strip()
            if not _NAME.match(name):
                problems.append(_problem(param, Msg("The camunda:%(kind)s '%(name)s' is ignored: only plain names "
                                                    "(letters, digits, '_') can be set.", kind=kind, name=name),
                                         file, "warning"))
                continue
            try:
                lines[kind].append(f"{name} = {_parameter_value(param)}")
            except Untranslatable as exc:
                problems.append(_problem(param, Msg("The camunda:%(kind)s '%(name)s' cannot be mapped: %(reason)s. "
                                                    "Give it a literal value or a plain ${…} expression.",
                                                    kind=kind, name=name, reason=exc.reason), file))
    inputs, outputs = lines["inputParameter"], lines["outputParameter"]
    if not inputs and not outputs:
        return
    tag = local(el)
    if tag == "scriptTask" and el.find("bpmn:script", NS) is not None:
        script = el.find("bpmn:script", NS)
        script.text = "\n".join(inputs + [script.text or ""] + outputs)
    elif tag in _PRE_SCRIPT_TAGS:
        ext = _extensions(el)
        for spiff_tag, new, first in (("preScript", inputs, True), ("postScript", outputs, False)):
            if not new:
                continue
            found = ext.find(f"spiff:{spiff_tag}", NS)
            if found is None:
                found = etree.SubElement(ext, f"{{{SPIFF}}}{spiff_tag}")
            old = [found.text] if found.text and found.text.strip() else []
            found.text = "\n".join(new + old if first else old + new)
    else:
        problems.append(_problem(io, Msg("camunda:inputOutput on a %(tag)s is not supported: only tasks and "
                                         "sub-processes map inputs and outputs here.", tag=tag), file))


_LANGUAGES = {"javascript": "JavaScript", "js": "JavaScript", "ecmascript": "JavaScript", "nashorn": "JavaScript",
              "graal.js": "JavaScript", "groovy": "Groovy", "juel": "JUEL", "ruby": "Ruby", "jruby": "Ruby",
              "feel": "FEEL", "kotlin": "Kotlin"}


def _language(fmt: str) -> str | None:
    return _LANGUAGES.get(fmt.lower().split("/")[-1].removeprefix("x-"))


def script_language_problem(fmt: str) -> str:
    """Refusal of a script in another language, naming the language in words."""
    language = _language(fmt)
    if language:
        return Msg("%(language)s is not supported (scriptFormat '%(format)s'): scripts here are lines of "
                   "'name = expression' in the engine's expression language (scriptFormat python).",
                   language=language, format=fmt)
    return Msg("Scripts in '%(format)s' cannot run here; scripts here are lines of 'name = expression' in the "
               "engine's expression language (scriptFormat python).", format=fmt)


def _script_as_value(fmt: str) -> str:
    """Why a camunda:script cannot be a parameter's value: the start of ``script_language_problem``."""
    if ":" in fmt or ";" in fmt:  # the refusal has always been cut at the first ':' or ';', here inside the format
        return f"{str(script_language_problem(fmt)).split(':')[0].split(';')[0]} (a script as the value)"
    language = _language(fmt)
    if language:
        return Msg("%(language)s is not supported (scriptFormat '%(format)s') (a script as the value)",
                   language=language, format=fmt)
    return Msg("Scripts in '%(format)s' cannot run here (a script as the value)", format=fmt)


def _service_task(el: etree._Element, file: str | None, problems: list[Problem]) -> None:
    if el.find("bpmn:extensionElements/spiff:serviceTaskOperator", NS) is not None:
        return
    topic = el.get(f"{{{CAMUNDA}}}topic")
    if el.get(f"{{{CAMUNDA}}}type") == "external" and topic:
        operator = etree.SubElement(_extensions(el), f"{{{SPIFF}}}serviceTaskOperator", id=topic)
        result = el.get(f"{{{CAMUNDA}}}resultVariable")
        if result:
            operator.set("resultVariable", result)
        return
    for attr in ("class", "delegateExpression", "expression"):
        if el.get(f"{{{CAMUNDA}}}{attr}"):
            problems.append(_problem(el, Msg("camunda:%(attr)s names Java code, which cannot run here; make it an "
                                             "external task (Implementation: External, Topic = a handler name).",
                                             attr=attr), file))
            return
    if el.find("bpmn:extensionElements/camunda:connector", NS) is not None:
        problems.append(_problem(el, Msg("Camunda connectors cannot run here; make it an external task whose topic "
                                         "names a handler."), file))


def _business_rule_task(el: etree._Element, file: str | None, problems: list[Problem]) -> None:
    if el.find("bpmn:extensionElements/spiff:calledDecisionId", NS) is not None:
        return
    decision = el.get(f"{{{CAMUNDA}}}decisionRef")
    if decision and not is_juel(decision):
        called = etree.SubElement(_extensions(el), f"{{{SPIFF}}}calledDecisionId")
        called.text = decision
    elif el.get(f"{{{CAMUNDA}}}topic") is None:
        problems.append(_problem(el, Msg("This business rule task names no decision: set its DMN decision id "
                                         "(camunda:decisionRef or spiffworkflow:calledDecisionId)."), file))
