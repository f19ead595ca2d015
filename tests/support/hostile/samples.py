"""Documents for the hostile-input tests (tests/support/hostile/): hostile XML and a small process whose forms carry template
injection, with a start form that takes an attachment."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.support import bpmn_samples as samples
from tests.support.camunda_samples import SHIP, SHIPPING_DMN, camunda

# every payload that could run a command tries to create this file; it must never appear
MARKER = Path(tempfile.gettempdir()) / "orderflow-hostile-marker"
TOUCH = f'__import__("os").system("touch {MARKER}")'
BODY = samples.script_process("a = 1").split("\n", 1)[1]  # the diagram without its XML declaration

XXE_PARAMETER_ENTITY = ('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'
                        + BODY)
EXTERNAL_DTD = '<?xml version="1.0"?>\n<!DOCTYPE d SYSTEM "http://example.invalid/evil.dtd">\n' + BODY
XINCLUDE = BODY.replace('<bpmn:scriptTask id="calc" name="Calculate">',
                        '<bpmn:scriptTask id="calc" name="Calculate"><bpmn:documentation>'
                        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
                        'parse="text"/></bpmn:documentation>').replace('id="scripted"', 'id="xincluded"')
DMN_XXE = SHIPPING_DMN.replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                               '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                               ).replace('name="Shipping"', 'name="&x;"')
DMN_GADGET = SHIPPING_DMN.replace('<text>"courier"</text>', f'<text>{TOUCH.replace(chr(34), "&quot;")}</text>')
JUEL_EXEC = camunda(f'''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:exclusiveGateway id="choose" default="b"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>a</bpmn:outgoing>
    <bpmn:outgoing>b</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:endEvent id="end_a"><bpmn:incoming>a</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="end_b"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="choose"/>
  <bpmn:sequenceFlow id="a" sourceRef="choose" targetRef="end_a"><bpmn:conditionExpression>${{Runtime.getRuntime().exec("touch {MARKER}") != null}}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="b" sourceRef="choose" targetRef="end_b"/>''', "juel")
JAVA_DELEGATE = camunda('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:serviceTask id="call" camunda:class="java.lang.Runtime"><bpmn:incoming>f1</bpmn:incoming></bpmn:serviceTask>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>''', "java")
OTHER_LANGUAGE = samples.script_process(f"require('child_process').execSync('touch {MARKER}')", "js").replace(
    '<bpmn:scriptTask id="calc" name="Calculate">', '<bpmn:scriptTask id="calc" name="Calculate" scriptFormat="javascript">')


def condition(expression: str) -> str:
    """start → gateway whose first flow's condition is ``expression`` (the other is the default)."""
    return samples.NO_DEFAULT.replace('<bpmn:exclusiveGateway id="choose">', '<bpmn:exclusiveGateway id="choose" default="b">') \
        .replace("x &gt; 1", expression.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")) \
        .replace("<bpmn:conditionExpression>x &lt;= 1</bpmn:conditionExpression>", "")


def timer(expression: str) -> str:
    return samples.BAD_TIMER.replace("two hours", expression.replace("&", "&amp;").replace("<", "&lt;"))


def service_parameter(expression: str) -> str:
    return samples.service_process("price_order").replace(
        'resultVariable="result"/>', f'resultVariable="result"><spiffworkflow:parameters><spiffworkflow:parameter '
        f'id="lines" type="any" value="{expression.replace(chr(34), "&quot;")}"/></spiffworkflow:parameters>'
        '</spiffworkflow:serviceTaskOperator>')


def form_key(key: str) -> str:
    return samples.USER_TASK_BARE.replace('<bpmn:userTask id="approve" name="Approve">',
                                          '<bpmn:userTask id="approve" name="Approve"><bpmn:extensionElements>'
                                          '<spiffworkflow:properties><spiffworkflow:property '
                                          f'name="formJsonSchemaFilename" value="{key}"/></spiffworkflow:properties>'
                                          '</bpmn:extensionElements>')


# -- "hostile": a process whose forms (deployed with it) hold template syntax in titles ------------------

TEMPLATE_TEXT = "{{ 7*7 }}"
CONFIG_TEXT = "{% raw %}{{ config }}{% endraw %}{{ config.SECRET_KEY }}"
GADGET_TEXT = "{% for c in ().__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}"

START_FORM = {"title": f"Start {TEMPLATE_TEXT}", "description": CONFIG_TEXT, "type": "object", "properties": {
    "note": {"type": "string", "title": f"Note {GADGET_TEXT}", "description": "<b>bold?</b> " + TEMPLATE_TEXT},
    "file": {"type": "string", "format": "attachment", "title": "File"}}}
TASK_FORM = {"title": f"Look {TEMPLATE_TEXT}", "description": CONFIG_TEXT, "type": "object", "properties": {
    "comment": {"type": "string", "title": GADGET_TEXT},
    "file": {"type": "string", "format": "attachment", "title": "File"}}, "ui": {"readonly": ["file"]}}
HOSTILE = samples.process('''
  <bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="formJsonSchemaFilename" value="hostile_start.json"/></spiffworkflow:properties>
    </bpmn:extensionElements><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="look" name="Look"><bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="formJsonSchemaFilename" value="hostile_task.json"/></spiffworkflow:properties>
    </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="look"/>
  <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="end"/>''', "hostile", lanes=(
    '<bpmn:laneSet id="ls"><bpmn:lane id="sales" name="Sales"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
    '<bpmn:flowNodeRef>look</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>\n'))
HOSTILE_FILES = {"hostile.bpmn": HOSTILE, "hostile_start.json": json.dumps(START_FORM),
                 "hostile_task.json": json.dumps(TASK_FORM)}

__all__ = ["SHIP", "SHIPPING_DMN"]


# -- budgets: a start form whose field carries a pattern, a timer start with a given cycle ------------------

def patterned(pattern: str, pid: str = "patterned") -> dict[str, str]:
    """A process started by admin whose start form's ``code`` must match ``pattern``."""
    form = {"title": "Code", "type": "object", "required": ["code"],
            "properties": {"code": {"type": "string", "title": "Code", "pattern": pattern}}}
    bpmn = samples.process(f'''
  <bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="formJsonSchemaFilename" value="{pid}_start.json"/></spiffworkflow:properties>
    </bpmn:extensionElements><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>''', pid)
    return {f"{pid}.bpmn": bpmn, f"{pid}_start.json": json.dumps(form)}


def nested_form(depth: int, pid: str = "deepform") -> dict[str, str]:
    """The same process with a start form of ``depth`` nested objects."""
    files = patterned("^a$", pid)
    inner: dict = {"type": "string"}
    text = json.dumps(inner)
    for _ in range(depth):
        text = '{"type": "object", "properties": {"x": ' + text + "}}"
    files[f"{pid}_start.json"] = '{"type": "object", "properties": {"code": ' + text + "}}"
    return files


def timer_start(cycle: str, pid: str = "cycled") -> str:
    return samples.process(f'''
  <bpmn:startEvent id="tick" name="Tick"><bpmn:outgoing>f1</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="tick" targetRef="end"/>''', pid)
