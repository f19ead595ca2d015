#!/usr/bin/env python3
"""Generate processes/satisfaction_survey.bpmn: the customer's satisfaction survey (满意度调查).

The order flow starts one survey per order once the customer confirms receipt (handler
``schedule_survey``, which passes survey_no, order_no, customer, customer_email, contact_name,
order_instance_id and ``survey_delay``). The survey waits ``survey_delay`` (ORDERFLOW_SURVEY_DELAY,
an ISO-8601 duration such as P7D), then asks the customer: the survey is the customer's own step
(``customer="true"``: the service e-mails them a single-use link to the form); customer service may
enter the answers for them. The step's SLA escalates an unanswered survey.

The model is declared below as data; ``tools/bpmn/bpmn_gen.py`` lays it out and writes it.

    python tools/bpmn/gen_satisfaction_survey.py [output.bpmn]      # default: processes/satisfaction_survey.bpmn

Edit the tables, run the script, commit the regenerated .bpmn. Needs lxml only.
"""
from __future__ import annotations

import sys

from bpmn_gen import Model

PROCESS_ID = "satisfaction_survey"
PROCESS_NAME = "Satisfaction survey / 满意度调查"

LANES = [
    ("service", "Customer service 客服"),
]

model = Model(
    PROCESS_ID, PROCESS_NAME, LANES, exporter="tools/bpmn/gen_satisfaction_survey.py",
    doc="Satisfaction survey after an order is received (售后服务: 满意度调查). Started by the order "
        "flow; waits survey_delay, then asks the customer through their own step.")

model.event("start_survey", "Survey scheduled 安排调查", "service", 0, kind="start")
# the duration is an expression: the data variable the order flow set from ORDERFLOW_SURVEY_DELAY
model.wait("wait_after_receipt", "Wait after receipt 收货后等待", "service", 1, "survey_delay")
# not "satisfaction_survey": a BPMN id is unique in its file, and the process already has that id
model.user("answer_survey", "Satisfaction survey 满意度调查", "service", 2,
           form="satisfaction_survey", sla="P14D", customer="true",
           doc="The customer rates the order; customer service may answer for them.")
model.script("set_survey_outcome", "Outcome: answered 已答复", "service", 3, 'outcome = "answered"')
model.event("survey_done", "Survey answered 调查完成", "service", 4)

model.flows = [
    ("start_survey", "wait_after_receipt", None, None),
    ("wait_after_receipt", "answer_survey", None, None),
    ("answer_survey", "set_survey_outcome", None, None),
    ("set_survey_outcome", "survey_done", None, None),
]


if __name__ == "__main__":
    sys.exit(model.main(sys.argv))
