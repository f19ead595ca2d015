#!/usr/bin/env python3
"""Generate processes/after_sales.bpmn: the after-sales case (售后服务) with lanes, time limits and DI.

A case opens on a completed order (the start event's ``relatedOrder="completed"``: the service looks
up the order named by ``order_no`` and copies its customer, contacts, lines and total into the case).
Customer service checks the claim; returned goods (return, exchange, repair) are inspected by quality
first; customer service decides the resolution and the money at stake; a sales manager approves
cases above ORDERFLOW_CASE_APPROVAL_THRESHOLD; finance refunds, the warehouse and logistics send a
replacement, or engineering repairs and logistics returns the goods; customer service tells the
customer and the case is closed on the customer's file.

The model is declared below as data; ``tools/bpmn/bpmn_gen.py`` lays it out and writes it (every user
task carries its time limit as its ``sla`` property: the service's SLA job escalates it).

    python tools/bpmn/gen_after_sales.py [output.bpmn]      # default: processes/after_sales.bpmn

Edit the tables, run the script, commit the regenerated .bpmn. Needs lxml only.
"""
from __future__ import annotations

import sys

from bpmn_gen import Model, q

PROCESS_ID = "after_sales"
PROCESS_NAME = "After-sales case / 售后服务"

# Lanes top to bottom: (group id = lane id, bilingual name).
LANES = [
    ("service", "Customer service 客服"),
    ("quality", "Quality 品质部"),
    ("sales_manager", "Sales manager 部门领导"),
    ("finance", "Finance 财务"),
    ("warehouse", "Warehouse 仓库"),
    ("logistics", "Logistics 物流"),
    ("engineering", "Engineering 技术部"),
]

model = Model(
    PROCESS_ID, PROCESS_NAME, LANES, exporter="tools/bpmn/gen_after_sales.py",
    doc="After-sales case (售后服务): returns, exchanges, repairs, refunds and complaints on a "
        "completed order, each recorded on the customer's file. Lanes are user groups. Every user "
        "task has a time limit (its sla property): when it passes, the service tells the group's "
        "managers and the audit trail records the missed deadline.",
    sla_style="property")
user, service, script = model.user, model.service, model.script
gateway, event = model.gateway, model.event

# 1-2 Open the case 售后登记
event("start_case", "Case received 售后登记", "service", 0, kind="start", form="new_case",
      props={"relatedOrder": "completed"})
service("assign_case_no", "Assign case number 生成售后单号", "service", 1, "assign_case_number",
        "case_no")
service("load_case_policy", "Load after-sales policy 读取售后政策", "service", 2,
        "load_after_sales_policy", "policy")
# 3 Intake 受理
user("intake_case", "Check the claim 售后受理", "service", 3, sla="PT4H",
     doc="Check the claim against the order and confirm the case type; a claim that is not valid is "
         "rejected (the customer is told why).")
gateway("gw_intake", "Claim accepted? 受理?", "service", 4)
# a claim that is not valid: the case's resolution is "reject" (drawn near the merge it leads to)
script("set_claim_rejected", "Claim rejected 不予受理", "service", 14, 'resolution = "reject"')
# 4 Inspect returned goods 退货检验
gateway("gw_case_type", "Goods to inspect? 需检验?", "service", 5)
user("inspect_return", "Inspect returned goods 退货检验", "quality", 6, sla="P2D",
     doc="Returns, exchanges and repairs: record what arrived and what quality found.")
# 5-6 Decide, approve above the threshold 处理决定 / 审批
user("decide_case", "Decide resolution 处理决定", "service", 7, sla="P1D",
     doc="Refund, replace, repair, explain (complaint answered / no fault found) or reject, with "
         "the money at stake.")
gateway("gw_case_amount", "Above threshold? 金额超限?", "service", 8)
user("approve_case", "Approve resolution 审批处理方案", "sales_manager", 9, sla="P1D",
     doc="Cases whose amount is above ORDERFLOW_CASE_APPROVAL_THRESHOLD.")
gateway("gw_case_approval", "Approved? 批准?", "sales_manager", 10)
# 7 Carry out the resolution 执行
gateway("gw_resolution", "Resolution? 处理方式?", "service", 11)
user("refund_payment", "Refund payment 退款", "finance", 12, sla="P3D")
user("pick_replacement", "Pick replacement 换货备货", "warehouse", 13, sla="P1D")
user("ship_replacement", "Ship replacement 换货发运", "logistics", 14, sla="P1D")
user("repair_goods", "Repair goods 维修", "engineering", 12, sla="P5D")
user("return_repaired", "Return repaired goods 维修品寄回", "logistics", 16, sla="P1D")
gateway("gw_resolved", "Resolved 已处理", "service", 15)
# 8 Tell the customer 告知客户
user("inform_customer", "Inform customer 告知客户", "service", 16, sla="P1D")
service("notify_case_outcome", "Notify customer 通知客户", "service", 17, "notify_customer",
        "outcome_notice", kind=q("after_sales_outcome"), order_no="order_no")
# 9 Close 结案: outcome refunded / replaced / repaired / explained / rejected
script("set_case_outcome", "Set outcome 结案结果", "service", 18,
       'outcome = {"refund": "refunded", "replace": "replaced", "repair": "repaired", '
       '"explain": "explained"}.get(resolution, "rejected")')
service("close_case_record", "Close case 结案", "service", 19, "close_case", "closure",
        case_no="case_no", outcome="outcome")
event("case_closed", "Case closed 已结案", "service", 20)

# Sequence flows: (source, target, name, condition[, port hints]); see bpmn_gen.Model.
F = [
    ("start_case", "assign_case_no", None, None),
    ("assign_case_no", "load_case_policy", None, None),
    ("load_case_policy", "intake_case", None, None),
    ("intake_case", "gw_intake", None, None),
    ("gw_intake", "gw_case_type", "Accept 受理", 'decision == "accept"'),
    ("gw_intake", "set_claim_rejected", "Reject 不予受理", "default", {"out": "top"}),
    ("set_claim_rejected", "gw_resolved", None, None, {"in": "left"}),
    ("gw_case_type", "inspect_return", "Return / exchange / repair 退换修",
     'case_type in ["return", "exchange", "repair"]'),
    ("gw_case_type", "decide_case", "Refund / complaint 退款/投诉", "default"),
    ("inspect_return", "decide_case", None, None),
    ("decide_case", "gw_case_amount", None, None),
    ("gw_case_amount", "approve_case", "Above threshold 超过限额",
     'case_amount > policy["approval_threshold"]'),
    ("gw_case_amount", "gw_resolution", "Up to threshold 限额内", "default"),
    ("approve_case", "gw_case_approval", None, None),
    ("gw_case_approval", "gw_resolution", "Approve 批准", 'decision == "approve"'),
    ("gw_case_approval", "decide_case", "Send back 退回", "default", {"in": "top"}),
    ("gw_resolution", "refund_payment", "Refund 退款", 'resolution == "refund"'),
    ("gw_resolution", "pick_replacement", "Replace 换货", 'resolution == "replace"'),
    ("gw_resolution", "repair_goods", "Repair 维修", 'resolution == "repair"'),
    ("gw_resolution", "gw_resolved", "Explain / reject 解释/拒绝", "default",
     {"out": "top", "in": "top"}),
    ("refund_payment", "gw_resolved", None, None, {"in": "left"}),
    ("pick_replacement", "ship_replacement", None, None),
    ("ship_replacement", "gw_resolved", None, None, {"out": "right"}),
    ("repair_goods", "return_repaired", None, None),
    ("return_repaired", "gw_resolved", None, None, {"in": "bottom"}),
    ("gw_resolved", "inform_customer", None, None),
    ("inform_customer", "notify_case_outcome", None, None),
    ("notify_case_outcome", "set_case_outcome", None, None),
    ("set_case_outcome", "close_case_record", None, None),
    ("close_case_record", "case_closed", None, None),
]
model.flows = F


if __name__ == "__main__":
    sys.exit(model.main(sys.argv))
