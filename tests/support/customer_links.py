"""A process with a customer's own step, the facts it shows, and posting the customer's answer."""
from __future__ import annotations

import re

from tests.support import bpmn_samples as samples

ANSWER = {"csrf_token": None, "received_date": "2026-11-20", "decision": "confirm", "receipt_notes": "All fine"}


def csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


CUSTOMER_LANE = samples.process('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="confirm_receipt" name="Confirm receipt 客户确认收货">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="confirm_receipt.json"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="confirm_receipt"/>
  <bpmn:sequenceFlow id="f2" sourceRef="confirm_receipt" targetRef="end"/>''', pid="receipt_only", lanes='''
  <bpmn:laneSet id="lanes"><bpmn:lane id="customer" name="customer">
    <bpmn:flowNodeRef>confirm_receipt</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>''')


FACTS = {"order_no": "SO-TEST-1", "customer": "Acme Trading", "customer_email": "buyer@acme.example",
         "carrier": "SF Express", "tracking_no": "SF123", "shipped_date": "2026-11-01", "order_total": 99999}


def post_answer(client, path: str, **changes):
    page = client.get(path)
    # a refused link shows no form: take the session's token from the login page, so the refusal
    # below is the link's and not the CSRF check's
    token = csrf(page.data if page.status_code == 200 else client.get("/login").data)
    return client.post(path, data={**ANSWER, "csrf_token": token, **changes})
