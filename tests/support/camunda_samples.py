"""Diagrams written the Camunda way (claims, a DMN shipping decision) for the Camunda and hostile tests."""
from __future__ import annotations

CAMUNDA_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
                'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://x" '
                'exporter="Camunda Modeler" exporterVersion="5.20.0">\n')


def camunda(body: str, pid: str = "claims") -> str:
    return f'{CAMUNDA_HEAD}<bpmn:process id="{pid}" isExecutable="true">\n{body}\n</bpmn:process>\n</bpmn:definitions>\n'


CLAIM = camunda('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="enter" name="Enter claim" camunda:formKey="claim_form" camunda:candidateGroups="sales">
    <bpmn:extensionElements><camunda:formData>
      <camunda:formField id="amount" label="Amount" type="long">
        <camunda:validation><camunda:constraint name="required" /><camunda:constraint name="min" config="1" /></camunda:validation>
      </camunda:formField>
      <camunda:formField id="kind" label="Kind" type="enum" defaultValue="repair">
        <camunda:value id="repair" name="Repair" /><camunda:value id="refund" name="Refund" />
      </camunda:formField>
      <camunda:formField id="urgent" label="Urgent" type="boolean" />
    </camunda:formData></bpmn:extensionElements>
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:serviceTask id="price" name="Price it" camunda:type="external" camunda:topic="price_order">
    <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>
  <bpmn:exclusiveGateway id="big" default="small_flow"><bpmn:incoming>f3</bpmn:incoming>
    <bpmn:outgoing>big_flow</bpmn:outgoing><bpmn:outgoing>small_flow</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="sales_manager" camunda:assignee="sales_manager2"
      camunda:dueDate="P2D">
    <bpmn:incoming>big_flow</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
  <bpmn:boundaryEvent id="remind" attachedToRef="approve" cancelActivity="false">
    <bpmn:outgoing>f6</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT4H</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:endEvent id="reminded"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>small_flow</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="enter"/>
  <bpmn:sequenceFlow id="f2" sourceRef="enter" targetRef="price"/>
  <bpmn:sequenceFlow id="f3" sourceRef="price" targetRef="big"/>
  <bpmn:sequenceFlow id="big_flow" sourceRef="big" targetRef="approve">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${amount &gt; 1000 &amp;&amp; kind eq 'refund' || urgent}</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="small_flow" sourceRef="big" targetRef="end"/>
  <bpmn:sequenceFlow id="f4" sourceRef="approve" targetRef="end"/>
  <bpmn:sequenceFlow id="f6" sourceRef="remind" targetRef="reminded"/>''')


DMN_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" '
            'id="dmn_defs" name="DRD" namespace="http://camunda.org/schema/1.0/dmn">\n')


SHIPPING_DMN = DMN_HEAD + '''
  <decision id="shipping" name="Shipping">
    <decisionTable id="shipping_table" hitPolicy="FIRST">
      <input id="in_weight" label="Weight"><inputExpression id="in_weight_e" typeRef="number"><text>weight</text></inputExpression></input>
      <input id="in_zone" label="Zone"><inputExpression id="in_zone_e" typeRef="string"><text>zone</text></inputExpression></input>
      <output id="out_method" name="method" typeRef="string" />
      <rule id="r1"><inputEntry id="r1a"><text>[0..10]</text></inputEntry><inputEntry id="r1b"><text>"HK","MO"</text></inputEntry>
        <outputEntry id="r1o"><text>"courier"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="r2a"><text>&lt;= 10</text></inputEntry><inputEntry id="r2b"><text>not("HK","MO")</text></inputEntry>
        <outputEntry id="r2o"><text>"post"</text></outputEntry></rule>
      <rule id="r3"><inputEntry id="r3a"><text>-</text></inputEntry><inputEntry id="r3b"><text></text></inputEntry>
        <outputEntry id="r3o"><text>"freight"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>'''


SHIP = camunda('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:businessRuleTask id="decide" name="Decide shipping" camunda:decisionRef="shipping">
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
  <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>''', "ship")
