#!/usr/bin/env python3
"""Generate processes/order_flow.bpmn: the order flow model with lanes, time limits and full DI.

The model is declared below as data (lanes, nodes on a column/row grid, sequence flows);
``tools/bpmn/bpmn_gen.py`` writes the semantic XML (Spiff dialect) and lays out the diagram: every node
sits in its lane's band at its column, every user task carries its time limit as its ``sla``
property (``sla_style="property"``: the service's own SLA job tells the group's managers when it
passes and records "sla_breached"; the order page and the monitor draw a small clock on the task; no
boundary timers, escalation tasks or their end events), every
message from outside (bank notices, customer answers; see ``MESSAGES``) interrupts the task waiting
for it through a boundary message event and a script task that records the payload (placed one
row under the task), and every sequence flow is routed orthogonally around the shapes (A* over a
visibility grid).

    python tools/bpmn/gen_order_flow.py [output.bpmn]      # default: processes/order_flow.bpmn

Edit the tables, run the script, commit the regenerated .bpmn. Needs lxml only.
"""
from __future__ import annotations

import sys

from bpmn_gen import Model, q

PROCESS_ID = "order_flow"
PROCESS_NAME = "Order flow / 订单流程"

# --------------------------------------------------------------------------- the model

# Lanes top to bottom: (group id = lane id, bilingual name).
LANES = [
    ("sales", "Sales 销售"),
    ("sales_manager", "Sales manager 部门领导"),
    ("vp", "Vice president 副总"),
    ("finance", "Finance 财务"),
    ("engineering", "Engineering 技术部"),
    ("purchasing", "Purchasing 资材部"),
    ("pmc", "PMC 生产物料控制"),
    ("production", "Production 制造部"),
    ("quality", "Quality 品质部"),
    ("warehouse", "Warehouse 仓库"),
    ("design", "Design 美工"),
    ("logistics", "Logistics 物流"),
]

model = Model(
    PROCESS_ID, PROCESS_NAME, LANES, exporter="tools/bpmn/gen_order_flow.py",
    doc="Order management flow (BS-OM-F003 订单流程管理标准), 19 steps. Lanes are user groups. "
        "Every user task has a time limit (its sla property): when it passes, the service tells the "
        "group's managers and the audit trail records the missed deadline. "
        "Bank notices and customer answers (messages correlated by the order number) interrupt the "
        "task waiting for them and move the order on.",
    sla_style="property")
N = model.nodes
user, service, script, rule = model.user, model.service, model.script, model.rule
gateway, event = model.gateway, model.event


def PAYMENT(part: str, source: str) -> dict:
    """record_payment's parameters for one part (deposit, balance) from finance's form or a bank notice."""
    params = {"part": q(part), "amount": f"{part}_amount", "expected": f"{part}_expected",
                  "payments": f"{part}_payments", "payer": f"{part}_payer", "date": f"{part}_date",
                  "kind": f"{part}_kind", "source": q(source)}
    if source == "bank":
        params["reference"] = f"{part}_reference"
    return params


def payment_stage(part: str, zh: str, what: str, col: float, expected: str, confirm_sla: str,
                  confirm_zh: str, bank_zh: str) -> None:
    """A payment's steps (deposit, balance): what is due, finance's entry and a bank's notice both
    booked by record_payment, a gateway on the sums, the vp's exception for less, sales chasing."""
    title = part.capitalize()
    script(f"set_{part}_expected", f"Compute {part} 计算{zh}", "finance", col,
           f"{part}_expected = {expected}\n{part}_payments = []\n{part}_received = 0\n"
           f"{part}_outstanding = {part}_expected")
    user(f"confirm_{part}", f"Confirm {part} {confirm_zh}", "finance", col + 1, sla=confirm_sla,
         doc=f"{what} only when the {part}'s payments add up to what is due (or the vp accepts less).")
    service(f"record_{part}", f"Record {part} payment 登记{zh}", "finance", col + 2, "record_payment", None,
            **PAYMENT(part, "finance"))
    service(f"record_bank_{part}_payment", f"Record bank {part} {bank_zh}", "finance", col + 2,
            "record_payment", None, row=model.message_rows, **PAYMENT(part, "bank"))
    gateway(f"gw_{part}", f"{title} paid in full? {zh}付清?", "finance", col + 3)
    user(f"approve_{part}_exception", f"Accept partial {part} (VP) 副总批准部分{zh}", "vp", col + 3, sla="P1D",
         doc=f"{what.split(':')[0]}: the only way on before the {part} is paid in full.")
    gateway(f"gw_{part}_exception", "Exception approved? 批准例外?", "vp", col + 4)
    user(f"chase_{part}", f"Chase {part} 催收{zh}", "sales", col + 3, sla="P2D")


def payment_flows(part: str, then: str) -> list[tuple]:
    """The payment stage's flows; ``then`` is where a paid (or excused) payment leads."""
    return [
        (f"set_{part}_expected", f"confirm_{part}", None, None),
        (f"confirm_{part}", f"record_{part}", None, None),
        (f"record_{part}", f"gw_{part}", None, None),
        (f"record_bank_{part}_payment", f"gw_{part}", None, None),
        (f"gw_{part}", then, "Paid in full 已付清", f"{part}_received >= {part}_expected"),
        (f"gw_{part}", f"approve_{part}_exception", "Exception asked 申请例外", 'decision == "exception"'),
        (f"gw_{part}", f"chase_{part}", "Shortfall 不足", "default"),
        (f"approve_{part}_exception", f"gw_{part}_exception", None, None),
        (f"gw_{part}_exception", then, "Approved 批准", 'decision == "approve"'),
        (f"gw_{part}_exception", f"chase_{part}", "Rejected 驳回", "default"),
        (f"chase_{part}", f"confirm_{part}", None, None),
    ]


# 1 Receive order 订单接收
event("start_order", "Order received 接收订单", "sales", 0, kind="start", form="new_order")
service("assign_number", "Assign order number 生成订单号", "sales", 1,
        "assign_order_number", "order_no")
service("price_lines", "Price order 计算金额", "sales", 2, "price_order", "pricing", lines="lines")
script("set_order_total", "Set order total 订单金额", "sales", 3,
       'order_total = pricing["order_total"]')
service("load_policy", "Load order policy 读取审批政策", "sales", 4, "load_order_policy",
        "policy")
rule("decide_approval", "Decide approval level 确定审批级别", "sales", 5, "approval_level",
     doc="Step 3: who approves, by amount and customer tier: processes/approval_level.dmn.")
_SHIFT_FROM = len(N)  # nodes declared below sit one column right of their numbers (decide_approval)
# 2 Review 订单审核 (stock first, then data/credit/price)
user("check_stock", "Check stock 库存确认", "warehouse", 5, sla="PT3H",
     doc="Step 1-2: confirm the order against stock within 3 h of entry.")
gateway("gw_stock", "Stock sufficient? 库存充足?", "warehouse", 6)
user("handle_shortage", "Agree alternative with customer 缺货处理", "sales", 7,
     doc="Step 2: tell the customer; wait for restock, substitute, partial delivery or cancel.")
gateway("gw_shortage", "Customer's choice? 客户选择?", "sales", 8)
script("set_outcome_cancelled", "Outcome: cancelled 订单取消", "sales", 8,
       'outcome = "cancelled"', row=model.message_rows)
event("order_cancelled", "Order cancelled 已取消", "sales", 9, row=model.message_rows)
user("review_order", "Review order 订单审核", "sales", 9, sla="PT2H",
     doc="Step 2: data complete, customer identity/credit, price policy. SLA 2 h.")
gateway("gw_review", "Review passed? 审核通过?", "sales", 10)
# 3 Approval by amount 订单审批
gateway("gw_amount", "Above threshold? 金额超限?", "sales", 11)
user("approve_order_vp", "Approve order (VP) 副总审批", "vp", 12, form="approve_order",
     doc="Step 3: important orders above the approval threshold.")
user("approve_order_manager", "Approve order 部门领导审批", "sales_manager", 12,
     form="approve_order", doc="Step 3: ordinary orders up to the approval threshold.")
gateway("gw_approval", "Approved? 批准?", "sales_manager", 13)
script("set_outcome_rejected", "Outcome: rejected 订单驳回", "sales_manager", 14,
       'outcome = "rejected"')
event("order_rejected", "Order rejected 已驳回", "sales_manager", 15)
# 4 Sample 样机确认
# customer="true": the customer's own step. The service e-mails the customer a single-use link to a
# page with only this step's form; sales (the lane) may still complete it on the customer's behalf.
user("confirm_sample", "Sample confirmation 样机确认", "sales", 14, sla="P7D", customer="true",
     doc="Step 4: 1-2 sample units; the customer confirms software and hardware.")
gateway("gw_sample", "Sample confirmed? 样机确认?", "sales", 15)
user("revise_sample", "Revise sample 样机修改", "engineering", 16, sla="P3D")
# 5 Spec sheet 客户规格需求表
user("spec_sheet", "Specification sheet 客户规格需求表", "sales", 17, sla="P2D")
# 6 Contract 签订订单合同
user("draft_contract", "Draft contract 起草合同", "sales", 18)
user("review_contract", "Review contract 合同审核", "sales_manager", 19)
gateway("gw_contract", "Contract approved? 合同通过?", "sales_manager", 20)
# 7 Deposit 确认预收款项: every payment (finance's entry or a bank notice) goes into the ledger by
# record_payment; the gateway routes on what the payments add up to, never on a clicked option. A
# partial deposit goes on only through the vp's explicit (audited) exception.
payment_stage("deposit", "预付款", "Step 7: production starts", 21,
              'round(order_total * policy["deposit_rate"], 2)', confirm_sla="P3D",
              confirm_zh="确认预收款", bank_zh="登记银行到账")
_SHIFT_DEPOSIT = len(N)  # nodes declared below sit two columns right (the deposit's ledger and exception)
# 8 Release to departments 发放订单需求
user("release_order", "Release order 发放订单需求", "sales", 25)
gateway("fork_release", "Release 发放", "sales", 26, kind="and")
user("make_bom", "Make BOM 制作BOM", "engineering", 27, sla="P2D")
user("purchase_materials", "Purchase materials 物料采购", "purchasing", 28, sla="P7D")
# 9 Artwork 图纸设计
user("design_artwork", "Design artwork 图纸设计", "design", 27.5, sla="P5D")
# 10 Contract review 合同评审
user("contract_review", "Contract review 合同评审", "sales_manager", 27.5, sla="P2D")
gateway("join_release", "Ready 齐备", "pmc", 29, kind="and")
# 11 Material tracking 物料跟踪
user("track_materials", "Track materials 物料跟踪", "pmc", 30, sla="P7D")
gateway("gw_materials", "Materials complete? 物料齐套?", "pmc", 31)
user("expedite_purchase", "Expedite purchase 催料", "purchasing", 31.5, sla="P3D")
# 12 Production schedule 生产排程
user("schedule_production", "Schedule production 生产排程", "pmc", 32.5, sla="PT1H")
user("approve_schedule", "Approve schedule 排程审批", "vp", 33.5, sla="PT3H")
gateway("gw_schedule", "Schedule approved? 排程批准?", "vp", 34.5)
service("notify_ship_date", "Tell customer ship date 通知交期", "sales", 35.5, "notify_customer",
        "ship_date_notice", kind=q("ship_date"), order_no="order_no")
# 13-14 Production, anomalies and changes 生产跟踪 / 异常与变更
user("produce", "Production 生产跟踪", "production", 36.5, sla="P14D",
     doc="Steps 13-14: progress at least daily; a customer change stops for test and "
         "confirmation.")
gateway("gw_produce", "Production status? 生产状态?", "production", 37.5)
user("test_change", "Test change 变更测试", "engineering", 38.5, sla="P2D")
gateway("gw_change_test", "Change test passed? 测试通过?", "engineering", 39.5)
# the customer sees only a change that passed engineering's test; production resumes only on their yes
user("confirm_change", "Customer confirms change 客户确认变更", "sales", 39.5, sla="P2D",
     customer="true")
gateway("gw_change_confirmed", "Customer accepts? 客户接受?", "sales", 40.5)
# 15 Inspection 品质检验
user("qc_inspection", "QC inspection 品质检验", "quality", 39.5, sla="PT1H")
gateway("gw_qc", "QC passed? 检验合格?", "quality", 40.5)
user("rework", "Rework 返工", "production", 41.5, sla="P3D")
# 16 Goods-in and balance 入库与催收余款
user("goods_in", "Goods-in 入库", "warehouse", 42.5, sla="PT2H")
payment_stage("balance", "余款", "Step 16: the sales list is issued", 43.5,
              "max(round(order_total - deposit_received, 2), 0)", confirm_sla="P7D",
              confirm_zh="确认余款", bank_zh="登记余款到账")
_SHIFT_BALANCE = len(N)  # nodes declared below sit two more columns right (the balance's ledger)
# 17 Release signature 销货清单签字
user("prepare_sales_list", "Prepare sales list 开具销货清单", "sales", 47.5)
# the vp's electronic signature: its meaning is part of the record; whoever issued the sales list
# (or entered the order) may not sign it (four eyes, orderflow/workflow/signatures.py)
user("sign_release", "Sign release 销货清单签字", "vp", 48.5, signature="true",
     signatureMeaning="approved for release / 批准放行", signatureRequestedBy="prepare_sales_list",
     doc="Step 17: the warehouse must not ship without the signed sales list.")
gateway("gw_sign", "Signed? 已签字?", "vp", 49.5)
# 18 Ship 出货
# refused unless sign_release's latest signature approves the sales list as it still stands
user("ship_order", "Ship order 出货", "logistics", 50.5, sla="PT3H", requiresSignatureOf="sign_release")
service("notify_shipped", "Tell customer shipped 通知出货", "logistics", 51.5, "notify_customer",
        "shipped_notice", kind=q("shipped"), order_no="order_no")
# 19 Complete and archive 订单完成/存档
user("confirm_receipt", "Customer confirms receipt 客户确认收货", "sales", 52.5, sla="P30D",
     customer="true")
# after-sales (售后服务): the satisfaction survey (processes/satisfaction_survey.bpmn) starts now and
# waits ORDERFLOW_SURVEY_DELAY before it asks the customer. The element id differs from the handler's
# name: Spiff resolves flow targets by any element id, the handler's included.
service("request_survey", "Schedule satisfaction survey 安排满意度调查", "sales", 53.5,
        "schedule_survey", "survey", order_no="order_no")
user("archive_documents", "Archive documents 订单存档", "sales", 54.5, form="archive_order",
     sla="P3D")
service("archive_record", "Archive order 归档", "sales", 55.5, "archive_order", "archive",
        order_no="order_no")
script("set_outcome_completed", "Outcome: completed 订单完成", "sales", 56.5,
       'outcome = "completed"')
event("order_completed", "Order completed 订单完成", "sales", 57.5)
for _node in N[_SHIFT_FROM:]:
    _node.col += 1
for _node in N[_SHIFT_DEPOSIT:]:
    _node.col += 2
for _node in N[_SHIFT_BALANCE:]:
    _node.col += 2

# Sequence flows: (source, target, name, condition[, port hints]). condition "default" marks the
# gateway's default flow; hints {"out": side, "in": side} pin the sides the route leaves/enters.
# Ids are generated: flow_<source>_to_<target>.
F = [
    ("start_order", "assign_number", None, None),
    ("assign_number", "price_lines", None, None),
    ("price_lines", "set_order_total", None, None),
    ("set_order_total", "load_policy", None, None),
    ("load_policy", "decide_approval", None, None),
    ("decide_approval", "check_stock", None, None),
    ("check_stock", "gw_stock", None, None),
    ("gw_stock", "review_order", "Sufficient 充足", 'decision == "sufficient"'),
    ("gw_stock", "handle_shortage", "Shortage 不足", "default"),
    ("handle_shortage", "gw_shortage", None, None),
    ("gw_shortage", "set_outcome_cancelled", "Cancel 取消", 'decision == "cancel"'),
    ("gw_shortage", "review_order", "Wait / substitute / partial 等待/替代/分批", "default"),
    ("set_outcome_cancelled", "order_cancelled", None, None),
    ("review_order", "gw_review", None, None),
    ("gw_review", "gw_amount", "Approve 通过", 'decision == "approve"'),
    ("gw_review", "set_outcome_rejected", "Reject 驳回", "default"),
    ("gw_amount", "approve_order_vp", "Above threshold 超过限额",
     'approval_level == "vp"'),
    ("gw_amount", "approve_order_manager", "Up to threshold 限额内", "default"),
    ("approve_order_vp", "gw_approval", None, None),
    ("approve_order_manager", "gw_approval", None, None),
    ("gw_approval", "confirm_sample", "Approve 批准", 'decision == "approve"'),
    ("gw_approval", "set_outcome_rejected", "Reject 不批准", "default"),
    ("set_outcome_rejected", "order_rejected", None, None),
    ("confirm_sample", "gw_sample", None, None),
    ("gw_sample", "spec_sheet", "Confirmed 确认", 'decision == "confirm"'),
    ("gw_sample", "revise_sample", "Revise 修改", "default"),
    ("revise_sample", "confirm_sample", None, None),
    ("spec_sheet", "draft_contract", None, None),
    ("draft_contract", "review_contract", None, None),
    ("review_contract", "gw_contract", None, None),
    ("gw_contract", "set_deposit_expected", "Approve 通过", 'decision == "approve"'),
    ("gw_contract", "draft_contract", "Revise 修改", "default"),
    *payment_flows("deposit", "release_order"),
    ("release_order", "fork_release", None, None),
    ("fork_release", "make_bom", None, None),
    ("fork_release", "design_artwork", None, None),
    ("fork_release", "contract_review", None, None),
    ("make_bom", "purchase_materials", None, None),
    ("purchase_materials", "join_release", None, None),
    ("design_artwork", "join_release", None, None),
    ("contract_review", "join_release", None, None),
    ("join_release", "track_materials", None, None),
    ("track_materials", "gw_materials", None, None),
    ("gw_materials", "schedule_production", "Complete 齐套", 'decision == "complete"'),
    ("gw_materials", "expedite_purchase", "Shortage 短缺", "default"),
    ("expedite_purchase", "track_materials", None, None),
    ("schedule_production", "approve_schedule", None, None),
    ("approve_schedule", "gw_schedule", None, None),
    ("gw_schedule", "notify_ship_date", "Approve 批准", 'decision == "approve"'),
    ("gw_schedule", "schedule_production", "Revise 修改", "default"),
    ("notify_ship_date", "produce", None, None),
    ("produce", "gw_produce", None, None),
    ("gw_produce", "qc_inspection", "Finished 完成", 'decision == "finish"', {"out": "bottom"}),
    ("gw_produce", "test_change", "Change request 客户变更", 'decision == "change_request"',
     {"out": "right"}),
    ("gw_produce", "produce", "Progress 进度更新", "default", {"out": "top", "in": "top"}),
    ("test_change", "gw_change_test", None, None),
    ("gw_change_test", "confirm_change", "Passed 测试通过", 'decision == "pass"'),
    ("gw_change_test", "test_change", "Failed: fix and test again 未通过", "default", {"out": "top", "in": "top"}),
    ("confirm_change", "gw_change_confirmed", None, None),
    ("gw_change_confirmed", "produce", "Confirmed 客户确认", 'decision == "confirm"'),
    ("gw_change_confirmed", "test_change", "Not accepted 客户不接受", "default"),
    ("qc_inspection", "gw_qc", None, None),
    ("gw_qc", "goods_in", "Pass 合格", 'decision == "pass"'),
    ("gw_qc", "rework", "Fail 不合格", "default"),
    ("rework", "qc_inspection", None, None),
    ("goods_in", "set_balance_expected", None, None),
    *payment_flows("balance", "prepare_sales_list"),
    ("prepare_sales_list", "sign_release", None, None),
    ("sign_release", "gw_sign", None, None),
    ("gw_sign", "ship_order", "Signed 已签字", 'decision == "approve"'),
    ("gw_sign", "prepare_sales_list", "Reject 退回", "default"),
    ("ship_order", "notify_shipped", None, None),
    ("notify_shipped", "confirm_receipt", None, None),
    ("confirm_receipt", "request_survey", None, None),
    ("request_survey", "archive_documents", None, None),
    ("archive_documents", "archive_record", None, None),
    ("archive_record", "set_outcome_completed", None, None),
    ("set_outcome_completed", "order_completed", None, None),
]

# Messages from outside: the service delivers them (POST /api/v1/messages/<name>) to the instance
# waiting for them, correlated by the order number. (message id = name, message variable that
# receives the payload in the catching task's data.)
MESSAGES = [
    ("deposit_notice", "bank_deposit"),
    ("balance_notice", "bank_balance"),
    ("sample_confirmed", "customer_sample"),
    ("change_requested", "customer_change"),
]
# The one correlation property: (id, name, path of the value in every message's payload).
CORRELATION = ("order_no", "Order number", "order_no")



def BANK_NOTICE(part: str) -> str:
    """The script that reads a bank notice (payload: amount, payer, date, kind, reference) into the
    payment fields; record_payment then checks and books it. ``.get``: a missing field is refused
    by record_payment with its name, not a script error."""
    variable = f"bank_{part}"
    fields = ("amount", "payer", "date", "reference")
    return "\n".join([*(f'{part}_{name} = {variable}.get("{name}")' for name in fields),
                       f'{part}_kind = {variable}.get("kind", "tt")', 'decision = "bank_notice"'])


# Interrupting boundary message events: (task waiting, message, event name, script id, script name,
# script, where the flow goes on). The boundary event gets the id msg_<task>; its script records the
# payload in the task's own form fields and continues where the task's positive outcome leads, so
# whichever comes first (the person's answer or the message) moves the order on.
M = [
    ("confirm_deposit", "deposit_notice", "Bank notice: deposit 银行到账通知",
     "record_bank_deposit", "Read bank notice 读取银行到账通知", BANK_NOTICE("deposit"),
     "record_bank_deposit_payment"),
    # the bank may pay the rest while sales is chasing it
    ("chase_deposit", "deposit_notice", "Bank notice: deposit 银行到账通知",
     "record_bank_deposit_chased", "Read bank notice 读取银行到账通知", BANK_NOTICE("deposit"),
     "record_bank_deposit_payment"),
    ("confirm_sample", "sample_confirmed", "Customer confirms the sample 客户确认样机",
     "record_customer_sample", "Record sample reply 登记样机确认",
     'sample_feedback = customer_sample.get("feedback", "")', "spec_sheet"),
    # a change request stops production for the engineering test and the customer's confirmation
    ("produce", "change_requested", "Customer change request 客户变更请求",
     "record_customer_change", "Record change request 登记变更请求",
     'change_description = customer_change["description"]', "test_change"),
    ("confirm_balance", "balance_notice", "Bank notice: balance 余款到账通知",
     "record_bank_balance", "Read bank notice 读取余款到账通知", BANK_NOTICE("balance"),
     "record_bank_balance_payment"),
    ("chase_balance", "balance_notice", "Bank notice: balance 余款到账通知",
     "record_bank_balance_chased", "Read bank notice 读取余款到账通知", BANK_NOTICE("balance"),
     "record_bank_balance_payment"),
]

model.flows = F
model.messages = MESSAGES
model.correlation = CORRELATION
model.message_boundaries = M


if __name__ == "__main__":
    sys.exit(model.main(sys.argv))
