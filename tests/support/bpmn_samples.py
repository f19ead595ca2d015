"""Small BPMN documents built for tests (valid and hostile)."""
from __future__ import annotations

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://x">\n')


def process(body: str, pid: str = "sample", lanes: str = "") -> str:
    return f'{HEAD}<bpmn:process id="{pid}" isExecutable="true">\n{lanes}{body}\n</bpmn:process>\n</bpmn:definitions>\n'


def script_process(script: str, pid: str = "scripted") -> str:
    return process(f'''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:scriptTask id="calc" name="Calculate"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
  <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="end"/>''', pid)


def service_process(handler: str, pid: str = "serviced") -> str:
    return process(f'''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:serviceTask id="call" name="Call"><bpmn:extensionElements>
    <spiffworkflow:serviceTaskOperator id="{handler}" resultVariable="result"/></bpmn:extensionElements>
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
  <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>''', pid)


LOOP_FOREVER = process('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:exclusiveGateway id="merge"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:scriptTask id="count"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="merge"/>
  <bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="count"/>
  <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="merge"/>''', "looping")

NO_DEFAULT = process('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:exclusiveGateway id="choose"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>a</bpmn:outgoing><bpmn:outgoing>b</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:endEvent id="end_a"><bpmn:incoming>a</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="end_b"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="choose"/>
  <bpmn:sequenceFlow id="a" sourceRef="choose" targetRef="end_a"><bpmn:conditionExpression>x &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="b" sourceRef="choose" targetRef="end_b"><bpmn:conditionExpression>x &lt;= 1</bpmn:conditionExpression></bpmn:sequenceFlow>''', "nodefault")

BAD_TIMER = process('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeDuration>two hours</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
  <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>''', "badtimer")

USER_TASK_BARE = process('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="approve" name="Approve"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
  <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>''', "bare")

XXE = ('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       + script_process("a = 1").split("\n", 1)[1].replace('name="Calculate"', 'name="&x;"'))

BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
                  + ']>\n' + script_process("a = 1").split("\n", 1)[1].replace('name="Calculate"', 'name="&lol9;"'))


def timer_process(duration: str = "PT1S", pid: str = "timed") -> str:
    return process(f'''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:intermediateCatchEvent id="wait" name="Wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:scriptTask id="after" name="After"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:script>waited = True</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
  <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>''', pid)


def service_then_task(handler: str, props: str = "", pid: str = "calling") -> str:
    """start → service task (handler) → user task 'review' (lane sales, form review_order) → end"""
    lanes = ('<bpmn:laneSet id="ls"><bpmn:lane id="sales" name="Sales"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
             '<bpmn:flowNodeRef>call</bpmn:flowNodeRef><bpmn:flowNodeRef>review</bpmn:flowNodeRef>'
             '<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>\n')
    return process(f'''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:serviceTask id="call" name="Call the bank"><bpmn:extensionElements>
    <spiffworkflow:serviceTaskOperator id="{handler}" resultVariable="result"/>
    <spiffworkflow:properties>{props}</spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
  <bpmn:userTask id="review" name="Review"><bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="formJsonSchemaFilename" value="release_order.json"/></spiffworkflow:properties>
    </bpmn:extensionElements><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
  <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="review"/>
  <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>''', pid, lanes)


MESSAGE_WAIT = (HEAD.replace('targetNamespace="http://x">', 'targetNamespace="http://x">') + '''
<bpmn:message id="paid_msg" name="payment_received"><bpmn:extensionElements>
  <spiffworkflow:messageVariable>payment</spiffworkflow:messageVariable></bpmn:extensionElements></bpmn:message>
<bpmn:correlationProperty id="order_ref" name="Order reference">
  <bpmn:correlationPropertyRetrievalExpression messageRef="paid_msg"><bpmn:messagePath>order_ref</bpmn:messagePath>
  </bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>
<bpmn:process id="paying" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:intermediateCatchEvent id="wait_payment" name="Payment"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:messageEventDefinition messageRef="paid_msg"/></bpmn:intermediateCatchEvent>
  <bpmn:scriptTask id="book" name="Book"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:script>paid_amount = payment["amount"]</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_payment"/>
  <bpmn:sequenceFlow id="f2" sourceRef="wait_payment" targetRef="book"/>
  <bpmn:sequenceFlow id="f3" sourceRef="book" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''')
