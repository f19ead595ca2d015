#!/usr/bin/env python3
"""Generate processes/order_flow.bpmn: the order flow model with lanes, SLA timers and full DI.

The model is declared below as data (lanes, nodes on a column/row grid, sequence flows); the
script writes the semantic XML (Spiff dialect) and lays out the diagram: every node sits in its
lane's band at its column, every user task gets a non-interrupting SLA boundary timer that leads to
an ``escalate_overdue`` service task and an end event (placed under the task), every message from
outside (bank notices, customer answers; see ``MESSAGES``) interrupts the task waiting for it through
a boundary message event and a script task that records the payload (placed two rows under the
task), and every sequence flow is routed orthogonally around the shapes (A* over a visibility grid).

    python tools/gen_order_flow.py [output.bpmn]      # default: processes/order_flow.bpmn

Edit the tables, run the script, commit the regenerated .bpmn. Needs lxml only.
"""
from __future__ import annotations

import heapq
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

PROCESS_ID = "order_flow"
PROCESS_NAME = "Order flow / 订单流程"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}

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


@dataclass
class Node:
    id: str
    kind: str  # start, end, user, service, script, rule, xor, and (+ timer, message: boundary events)
    name: str
    lane: str
    col: float
    row: int = 0
    form: str | None = None  # user tasks and the start event
    sla: str | None = None  # ISO-8601 duration of the user task's time limit
    operator: str | None = None  # service tasks: handler name
    params: dict = field(default_factory=dict)  # service tasks: name -> expression
    result: str | None = None  # service tasks: result variable
    script: str | None = None  # script tasks
    decision: str | None = None  # business rule tasks: the DMN decision id
    props: dict = field(default_factory=dict)  # extra spiffworkflow:property entries
    doc: str | None = None


def q(text: str) -> str:
    """A string literal for an expression (service parameters)."""
    return '"' + text + '"'


N: list[Node] = []


def user(id, name, lane, col, form=None, sla="P1D", row=0, doc=None, **props):
    N.append(Node(id, "user", name, lane, col, row, form=form or id, sla=sla, doc=doc,
                  props=props))


def service(id, name, lane, col, operator, result, row=0, **params):
    N.append(Node(id, "service", name, lane, col, row, operator=operator, result=result,
                  params=params))


def script(id, name, lane, col, code, row=0):
    N.append(Node(id, "script", name, lane, col, row, script=code))


def rule(id, name, lane, col, decision, row=0, doc=None):
    N.append(Node(id, "rule", name, lane, col, row, decision=decision, doc=doc))


def gateway(id, name, lane, col, kind="xor", row=0):
    N.append(Node(id, kind, name, lane, col, row))


def event(id, name, lane, col, kind="end", row=0, form=None):
    N.append(Node(id, kind, name, lane, col, row, form=form))


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
       'outcome = "cancelled"', row=2)
event("order_cancelled", "Order cancelled 已取消", "sales", 9, row=2)
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
user("confirm_sample", "Sample confirmation 样机确认", "sales", 14, sla="P7D",
     doc="Step 4: 1-2 sample units; the customer confirms software and hardware.")
gateway("gw_sample", "Sample confirmed? 样机确认?", "sales", 15)
user("revise_sample", "Revise sample 样机修改", "engineering", 16, sla="P3D")
# 5 Spec sheet 客户规格需求表
user("spec_sheet", "Specification sheet 客户规格需求表", "sales", 17, sla="P2D")
# 6 Contract 签订订单合同
user("draft_contract", "Draft contract 起草合同", "sales", 18)
user("review_contract", "Review contract 合同审核", "sales_manager", 19)
gateway("gw_contract", "Contract approved? 合同通过?", "sales_manager", 20)
# 7 Deposit 确认预收款项
script("set_deposit_expected", "Compute deposit 计算预付款", "finance", 21,
       'deposit_expected = round(order_total * policy["deposit_rate"], 2)')
user("confirm_deposit", "Confirm deposit 确认预收款", "finance", 22, sla="P3D",
     doc="Step 7: production does not start before the deposit is confirmed.")
gateway("gw_deposit", "Deposit received? 预付款到账?", "finance", 23)
user("chase_deposit", "Chase deposit 催收预付款", "sales", 23, sla="P2D")
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
user("confirm_change", "Customer confirms change 客户确认变更", "sales", 39.5, sla="P2D")
# 15 Inspection 品质检验
user("qc_inspection", "QC inspection 品质检验", "quality", 39.5, sla="PT1H")
gateway("gw_qc", "QC passed? 检验合格?", "quality", 40.5)
user("rework", "Rework 返工", "production", 41.5, sla="P3D")
# 16 Goods-in and balance 入库与催收余款
user("goods_in", "Goods-in 入库", "warehouse", 42.5, sla="PT2H")
script("set_balance_expected", "Compute balance 计算余款", "finance", 43.5,
       "balance_expected = round(order_total - deposit_amount, 2)")
user("confirm_balance", "Confirm balance 确认余款", "finance", 44.5, sla="P7D",
     doc="Step 16: nothing ships before the balance is confirmed.")
gateway("gw_balance", "Balance received? 余款到账?", "finance", 45.5)
user("chase_balance", "Chase balance 催收余款", "sales", 45.5, sla="P2D")
# 17 Release signature 销货清单签字
user("prepare_sales_list", "Prepare sales list 开具销货清单", "sales", 47.5)
# the vp's electronic signature: its meaning is part of the record; whoever issued the sales list
# (or entered the order) may not sign it (four eyes, orderflow/signatures.py)
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
user("confirm_receipt", "Customer confirms receipt 客户确认收货", "sales", 52.5, sla="P30D")
user("archive_documents", "Archive documents 订单存档", "sales", 53.5, form="archive_order",
     sla="P3D")
service("archive_record", "Archive order 归档", "sales", 54.5, "archive_order", "archive",
        order_no="order_no")
script("set_outcome_completed", "Outcome: completed 订单完成", "sales", 55.5,
       'outcome = "completed"')
event("order_completed", "Order completed 订单完成", "sales", 56.5)
for _node in N[_SHIFT_FROM:]:
    _node.col += 1

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
    ("set_deposit_expected", "confirm_deposit", None, None),
    ("confirm_deposit", "gw_deposit", None, None),
    ("gw_deposit", "release_order", "Confirmed 已确认", 'decision == "confirm"'),
    ("gw_deposit", "chase_deposit", "Shortfall 不足", "default"),
    ("chase_deposit", "confirm_deposit", None, None),
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
    ("test_change", "confirm_change", None, None),
    ("confirm_change", "produce", None, None),
    ("qc_inspection", "gw_qc", None, None),
    ("gw_qc", "goods_in", "Pass 合格", 'decision == "pass"'),
    ("gw_qc", "rework", "Fail 不合格", "default"),
    ("rework", "qc_inspection", None, None),
    ("goods_in", "set_balance_expected", None, None),
    ("set_balance_expected", "confirm_balance", None, None),
    ("confirm_balance", "gw_balance", None, None),
    ("gw_balance", "prepare_sales_list", "Confirmed 已确认", 'decision == "confirm"'),
    ("gw_balance", "chase_balance", "Shortfall 不足", "default"),
    ("chase_balance", "confirm_balance", None, None),
    ("prepare_sales_list", "sign_release", None, None),
    ("sign_release", "gw_sign", None, None),
    ("gw_sign", "ship_order", "Signed 已签字", 'decision == "approve"'),
    ("gw_sign", "prepare_sales_list", "Reject 退回", "default"),
    ("ship_order", "notify_shipped", None, None),
    ("notify_shipped", "confirm_receipt", None, None),
    ("confirm_receipt", "archive_documents", None, None),
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

# Interrupting boundary message events: (task waiting, message, event name, script id, script name,
# script, where the flow goes on). The boundary event gets the id msg_<task>; its script records the
# payload in the task's own form fields and continues where the task's positive outcome leads, so
# whichever comes first (the person's answer or the message) moves the order on.
M = [
    ("confirm_deposit", "deposit_notice", "Bank notice: deposit 银行到账通知",
     "record_bank_deposit", "Record bank deposit 登记银行到账",
     'deposit_amount = bank_deposit["amount"]\n'
     'deposit_payer = bank_deposit["payer"]\n'
     'deposit_date = bank_deposit["date"]\n'
     'deposit_kind = bank_deposit.get("kind", "tt")', "release_order"),
    ("confirm_sample", "sample_confirmed", "Customer confirms the sample 客户确认样机",
     "record_customer_sample", "Record sample reply 登记样机确认",
     'sample_feedback = customer_sample.get("feedback", "")', "spec_sheet"),
    # a change request stops production for the engineering test and the customer's confirmation
    ("produce", "change_requested", "Customer change request 客户变更请求",
     "record_customer_change", "Record change request 登记变更请求",
     'change_description = customer_change["description"]', "test_change"),
    ("confirm_balance", "balance_notice", "Bank notice: balance 余款到账通知",
     "record_bank_balance", "Record bank balance 登记余款到账",
     'balance_amount = bank_balance["amount"]\n'
     'balance_payer = bank_balance.get("payer", "")\n'
     'balance_date = bank_balance["date"]', "prepare_sales_list"),
]

# --------------------------------------------------------------------------- layout constants

POOL_X, POOL_Y = 160, 80
POOL_HEADER = 30  # the pool's vertical name band
LANE_HEADER = 30  # each lane's vertical name band
COL_W = 180
ROW_H = 120
LANE_PAD_TOP = 24
LANE_PAD_BOTTOM = 16
BORDER_CLEAR = 14  # no flow runs closer than this along a lane or pool border
FIRST_COL_X = POOL_X + POOL_HEADER + LANE_HEADER + 30
SIZES = {"user": (100, 80), "service": (100, 80), "script": (100, 80), "rule": (100, 80), "xor": (50, 50),
         "and": (50, 50), "start": (36, 36), "end": (36, 36), "timer": (36, 36),
         "message": (36, 36)}
ESC_END_GAP = 24  # between an escalation task and its end event
TIMER_X = 70  # centre of the SLA timer on its task's bottom border, from the task's left edge
MESSAGE_X = 25  # centre of a message boundary on the same border, left of the timer
# a task with a message boundary: its escalation moves right, clear of the message's flow down
ESC_SHIFT_FOR_MESSAGE = 50


@dataclass
class Shape:
    id: str
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self):
        return self.x + self.w / 2

    @property
    def cy(self):
        return self.y + self.h / 2

    @property
    def right(self):
        return self.x + self.w

    @property
    def bottom(self):
        return self.y + self.h


def human_duration(iso: str) -> tuple[str, str]:
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", iso)
    if not m:
        raise ValueError(f"unsupported SLA duration {iso!r}")
    days, hours, minutes = m.groups()
    if days:
        return f"{days} d", f"{days}天"
    if hours:
        return f"{hours} h", f"{hours}小时"
    return f"{minutes} min", f"{minutes}分钟"


def expand_sla_nodes() -> tuple[list[Node], list[tuple]]:
    """Per user task: boundary timer -> escalate_overdue service task -> end event."""
    extra, flows = [], []
    for n in list(N):
        if n.kind != "user":
            continue
        en, zh = human_duration(n.sla)
        timer = Node(f"sla_{n.id}", "timer", f"{en} limit 时限{zh}", n.lane, n.col, n.row)
        timer.attached_to = n.id
        timer.duration = n.sla
        esc = Node(f"escalate_{n.id}", "service", "Escalate overdue 超时升级", n.lane, n.col,
                   n.row + 1, operator="escalate_overdue", result="escalation",
                   params={"step": q(n.id)})
        if n.id in {m[0] for m in M}:
            esc.dx = ESC_SHIFT_FOR_MESSAGE
        end = Node(f"escalated_{n.id}", "end", "Escalated 已升级", n.lane, n.col, n.row + 1)
        end.after = esc.id
        extra += [timer, esc, end]
        flows += [(timer.id, esc.id, None, None), (esc.id, end.id, None, None)]
    return extra, flows


def expand_message_nodes() -> tuple[list[Node], list[tuple]]:
    """Per entry of M: boundary message event -> script task (two rows under the task) -> target."""
    by_id = {n.id: n for n in N}
    messages = {m for m, _ in MESSAGES}
    boundaries, scripts, flows = [], [], []
    for task_id, message, name, script_id, script_name, code, target in M:
        task = by_id.get(task_id)
        if task is None or task.kind != "user":
            raise SystemExit(f"message boundary on {task_id}: not a user task")
        if message not in messages:
            raise SystemExit(f"message boundary on {task_id}: unknown message {message}")
        boundary = Node(f"msg_{task_id}", "message", name, task.lane, task.col, task.row)
        boundary.attached_to = task_id
        boundary.message = message
        rec = Node(script_id, "script", script_name, task.lane, task.col, task.row + 2, script=code)
        rec.below = boundary.id
        boundaries.append(boundary)
        scripts.append(rec)
        flows += [(boundary.id, rec.id, None, None), (rec.id, target, None, None)]
    return boundaries + scripts, flows


def layout(nodes: list[Node]) -> tuple[dict[str, Shape], dict[str, Shape], Shape]:
    rows = {lane: 1 for lane, _ in LANES}
    for n in nodes:
        rows[n.lane] = max(rows[n.lane], n.row + 1)
    lane_shapes, lane_top = {}, {}
    y = POOL_Y
    ncols = max(n.col for n in nodes) + 1
    width = POOL_HEADER + LANE_HEADER + 30 + ncols * COL_W + 20
    for lane, _ in LANES:
        h = LANE_PAD_TOP + rows[lane] * ROW_H + LANE_PAD_BOTTOM
        lane_shapes[lane] = Shape(lane, POOL_X + POOL_HEADER, y, width - POOL_HEADER, h)
        lane_top[lane] = y
        y += h
    pool = Shape("pool", POOL_X, POOL_Y, width, y - POOL_Y)

    shapes: dict[str, Shape] = {}
    by_id = {n.id: n for n in nodes}
    for n in nodes:
        w, h = SIZES[n.kind]
        cell_x = FIRST_COL_X + n.col * COL_W
        row_cy = lane_top[n.lane] + LANE_PAD_TOP + n.row * ROW_H + ROW_H / 2
        if n.kind in ("timer", "message"):
            task = shapes[n.attached_to]
            at = TIMER_X if n.kind == "timer" else MESSAGE_X
            shapes[n.id] = Shape(n.id, task.x + at - w / 2, task.bottom - h / 2, w, h)
            continue
        if getattr(n, "after", None):
            prev = shapes[n.after]
            shapes[n.id] = Shape(n.id, prev.right + ESC_END_GAP, prev.cy - h / 2, w, h)
            continue
        if getattr(n, "below", None):  # straight under its boundary event
            shapes[n.id] = Shape(n.id, shapes[n.below].cx - w / 2, row_cy - h / 2, w, h)
            continue
        cx = cell_x + 50 + getattr(n, "dx", 0)
        shapes[n.id] = Shape(n.id, cx - w / 2, row_cy - h / 2, w, h)
    # No two shapes may overlap (boundary timers overlap their own task by design).
    items = [s for s in shapes.values()]
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if getattr(by_id[a.id], "attached_to", None) == b.id or \
                    getattr(by_id[b.id], "attached_to", None) == a.id:
                continue
            if a.x < b.right + 6 and b.x < a.right + 6 and a.y < b.bottom + 6 and b.y < a.bottom + 6:
                raise SystemExit(f"layout: {a.id} overlaps {b.id}")
    return shapes, lane_shapes, pool


# --------------------------------------------------------------------------- routing

MARGIN = 10  # clearance kept around shapes
STUB = 16  # length of the straight piece leaving / entering a shape
BEND = 60  # cost of one bend, in pixels
OVERLAP = 4  # cost per pixel running along an already routed flow
PORT_REUSE = 150  # cost of leaving/entering a side another flow already uses


def ports(shape: Shape, kind: str, outgoing: bool) -> list[tuple[str, float, float]]:
    if kind in ("timer", "message"):
        return [("bottom", shape.cx, shape.bottom)] if outgoing else []
    sides = [("right", shape.right, shape.cy), ("top", shape.cx, shape.y),
             ("bottom", shape.cx, shape.bottom), ("left", shape.x, shape.cy)]
    if kind in ("user",):
        # the bottom of a user task carries its SLA timer
        sides = [s for s in sides if s[0] != "bottom"]
    if outgoing:
        return [s for s in sides if s[0] != "left"] if kind not in ("start",) else sides[:1]
    return sides


DIRS = {"right": (1, 0), "left": (-1, 0), "top": (0, -1), "bottom": (0, 1)}


class Router:
    def __init__(self, shapes: dict[str, Shape], kinds: dict[str, str], pool: Shape,
                 borders_y: list[float], borders_x: list[float]):
        self.borders_y = borders_y
        self.borders_x = borders_x
        self.shapes = shapes
        self.kinds = kinds
        self.pool = pool
        self.h_used: dict[float, list[tuple[float, float]]] = {}
        self.v_used: dict[float, list[tuple[float, float]]] = {}
        self.port_used: set[tuple[str, str]] = set()

    def blocked(self, x1, y1, x2, y2, obstacles) -> bool:
        lo_x, hi_x = min(x1, x2), max(x1, x2)
        lo_y, hi_y = min(y1, y2), max(y1, y2)
        for s in obstacles:
            if lo_x < s.right + MARGIN and hi_x > s.x - MARGIN and \
                    lo_y < s.bottom + MARGIN and hi_y > s.y - MARGIN:
                return True
        return False

    def overlap(self, x1, y1, x2, y2) -> float:
        total = 0.0
        if y1 == y2:
            lo, hi = sorted((x1, x2))
            for a, b in self.h_used.get(y1, ()):
                total += max(0.0, min(hi, b) - max(lo, a))
        else:
            lo, hi = sorted((y1, y2))
            for a, b in self.v_used.get(x1, ()):
                total += max(0.0, min(hi, b) - max(lo, a))
        return total

    def route(self, src: str, tgt: str, hints: dict | None = None) -> list[tuple[float, float]]:
        hints = hints or {}
        s, t = self.shapes[src], self.shapes[tgt]
        boundary = self.kinds[src] in ("timer", "message")
        if boundary or (src.startswith("escalate_") and tgt.startswith("escalated_")):
            # straight down from a boundary event / straight right to the escalation end
            if boundary:
                pts = [(s.cx, s.bottom), (s.cx, t.y)]
            else:
                pts = [(s.right, s.cy), (t.x, t.cy)]
            self.remember(pts)
            return pts
        # search region: the two shapes, generously expanded
        x_lo = max(self.pool.x + POOL_HEADER + LANE_HEADER + BORDER_CLEAR,
                   min(s.x, t.x) - 2 * COL_W)
        x_hi = min(self.pool.right - BORDER_CLEAR, max(s.right, t.right) + 2 * COL_W)
        y_lo = max(self.pool.y + BORDER_CLEAR, min(s.y, t.y) - 2 * ROW_H)
        y_hi = min(self.pool.bottom - BORDER_CLEAR, max(s.bottom, t.bottom) + 2 * ROW_H)
        obstacles = [o for o in self.shapes.values()
                     if o.right > x_lo and o.x < x_hi and o.bottom > y_lo and o.y < y_hi]
        xs, ys = {x_lo, x_hi}, {y_lo, y_hi}
        for o in obstacles:
            xs.update((o.x - MARGIN - 6, o.right + MARGIN + 6, o.cx))
            ys.update((o.y - MARGIN - 6, o.bottom + MARGIN + 6, o.cy))
        starts, goals = [], {}
        for side, px, py in ports(s, self.kinds[src], True):
            if hints.get("out", side) != side:
                continue
            dx, dy = DIRS[side]
            sx, sy = px + dx * STUB, py + dy * STUB
            cost = (0 if side == "right" else 25) + (PORT_REUSE if (src, side) in self.port_used else 0)
            if not self.blocked(px + dx, py + dy, sx, sy, [o for o in obstacles if o.id != src]):
                starts.append(((sx, sy), side, (px, py), cost))
                xs.add(sx)
                ys.add(sy)
        for side, px, py in ports(t, self.kinds[tgt], False):
            if hints.get("in", side) != side:
                continue
            dx, dy = DIRS[side]
            gx, gy = px + dx * STUB, py + dy * STUB
            cost = {"left": 0, "top": 25, "bottom": 25, "right": 90}[side] + \
                (PORT_REUSE if (tgt, side) in self.port_used else 0)
            if not self.blocked(px + dx, py + dy, gx, gy, [o for o in obstacles if o.id != tgt]):
                goals[(gx, gy)] = (side, (px, py), cost)
                xs.add(gx)
                ys.add(gy)
        xs = sorted(x for x in xs if x_lo <= x <= x_hi and
                    all(abs(x - b) >= BORDER_CLEAR for b in self.borders_x))
        ys = sorted(y for y in ys if y_lo <= y <= y_hi and
                    all(abs(y - b) >= BORDER_CLEAR for b in self.borders_y))
        xi = {x: i for i, x in enumerate(xs)}
        yi = {y: i for i, y in enumerate(ys)}
        # the source and target are obstacles too: no path runs through them

        def h(x, y):
            return min(abs(x - gx) + abs(y - gy) for gx, gy in goals) if goals else 0

        blocked_cache: dict = {}

        def free(a, b):
            key = (a, b)
            if key not in blocked_cache:
                blocked_cache[key] = not self.blocked(a[0], a[1], b[0], b[1], obstacles)
            return blocked_cache[key]

        heap, best, parent = [], {}, {}
        for (sx, sy), side, port, cost in starts:
            d = DIRS[side]
            state = (sx, sy, d)
            heapq.heappush(heap, (cost + h(sx, sy), cost, state))
            best[state] = cost
            parent[state] = ("start", port)
        end_state = None
        while heap:
            f, g, state = heapq.heappop(heap)
            if best.get(state, 1e18) < g:
                continue
            x, y, d = state
            if (x, y) in goals:
                side, port, gcost = goals[(x, y)]
                need = tuple(-c for c in DIRS[side])
                final = g + gcost + (0 if d == need else BEND)
                if d == tuple(-c for c in need):
                    final += 10 * BEND  # would double back over the stub
                if end_state is None or final < end_state[0]:
                    end_state = (final, state, port)
                continue
            if end_state is not None and f > end_state[0]:
                break
            for nd in DIRS.values():
                if nd == (-d[0], -d[1]):
                    continue
                if nd[0]:
                    j = xi[x] + nd[0]
                    if not 0 <= j < len(xs):
                        continue
                    nx, ny = xs[j], y
                else:
                    j = yi[y] + nd[1]
                    if not 0 <= j < len(ys):
                        continue
                    nx, ny = x, ys[j]
                if not free((x, y), (nx, ny)):
                    continue
                step = abs(nx - x) + abs(ny - y)
                ng = g + step + (BEND if nd != d else 0) + OVERLAP * self.overlap(x, y, nx, ny)
                ns = (nx, ny, nd)
                if ng < best.get(ns, 1e18):
                    best[ns] = ng
                    parent[ns] = state
                    heapq.heappush(heap, (ng + h(nx, ny), ng, ns))
        if end_state is None:
            raise SystemExit(f"routing: no path from {src} to {tgt}")
        _, state, tport = end_state
        pts = [tport, state[:2]]
        while True:
            p = parent[state]
            if p[0] == "start":
                pts.append(p[1])
                break
            state = p
            pts.append(state[:2])
        pts.reverse()
        pts = simplify(pts)
        self.port_used.add((src, side_of(s, pts[0])))
        self.port_used.add((tgt, side_of(t, pts[-1])))
        self.remember(pts)
        return pts

    def remember(self, pts):
        for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
            if y1 == y2:
                self.h_used.setdefault(y1, []).append(tuple(sorted((x1, x2))))
            else:
                self.v_used.setdefault(x1, []).append(tuple(sorted((y1, y2))))


def side_of(s: Shape, p) -> str:
    x, y = p
    if x == s.right:
        return "right"
    if x == s.x:
        return "left"
    if y == s.y:
        return "top"
    return "bottom"


def simplify(pts):
    out = []
    for p in pts:
        if out and p == out[-1]:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
        else:
            out.append(p)
    return out


# --------------------------------------------------------------------------- XML


def B(tag):
    prefix, local = tag.split(":")
    return f"{{{NS[prefix]}}}{local}"


def sub(parent, tag, text=None, **attrs):
    el = etree.SubElement(parent, B(tag), {k: str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


TAGS = {"start": "bpmn:startEvent", "end": "bpmn:endEvent", "user": "bpmn:userTask",
        "service": "bpmn:serviceTask", "script": "bpmn:scriptTask", "rule": "bpmn:businessRuleTask",
        "xor": "bpmn:exclusiveGateway",
        "and": "bpmn:parallelGateway", "timer": "bpmn:boundaryEvent",
        "message": "bpmn:boundaryEvent"}


def build() -> etree._Element:
    extra_nodes, extra_flows = expand_sla_nodes()
    msg_nodes, msg_flows = expand_message_nodes()
    nodes = N + extra_nodes + msg_nodes
    extra_flows = extra_flows + msg_flows
    by_id = {n.id: n for n in nodes}
    if len(by_id) != len(nodes):
        raise SystemExit("duplicate node ids")
    # Spiff finds flow targets by any element's id: an operator id equal to a node id breaks it
    clash = {n.operator for n in nodes if n.operator} & set(by_id)
    if clash:
        raise SystemExit(f"node ids equal to service operator ids: {sorted(clash)}")
    clash = ({m for m, _ in MESSAGES} | {CORRELATION[0], PROCESS_ID}) & set(by_id)
    if clash:
        raise SystemExit(f"node ids equal to message / correlation ids: {sorted(clash)}")
    flows = []
    for src, tgt, name, cond, *hints in F + extra_flows:
        for end in (src, tgt):
            if end not in by_id:
                raise SystemExit(f"flow {src}->{tgt}: unknown node {end}")
        flows.append({"id": f"flow_{src}_to_{tgt}", "src": src, "tgt": tgt, "name": name,
                      "cond": cond, "hints": hints[0] if hints else {}})
    incoming = {n.id: [] for n in nodes}
    outgoing = {n.id: [] for n in nodes}
    for f in flows:
        outgoing[f["src"]].append(f["id"])
        incoming[f["tgt"]].append(f["id"])
    defaults = {f["src"]: f["id"] for f in flows if f["cond"] == "default"}

    root = etree.Element(B("bpmn:definitions"), nsmap=NS, attrib={
        "id": "order_flow_definitions", "targetNamespace": "http://bpmn.io/schema/bpmn",
        "exporter": "tools/gen_order_flow.py", "exporterVersion": "1"})
    collab = sub(root, "bpmn:collaboration", id="order_flow_collaboration")
    sub(collab, "bpmn:participant", id="order_flow_pool", name=PROCESS_NAME, processRef=PROCESS_ID)
    for message, variable in MESSAGES:
        me = sub(root, "bpmn:message", id=message, name=message)
        sub(sub(me, "bpmn:extensionElements"), "spiffworkflow:messageVariable", variable)
    prop_id, prop_name, path = CORRELATION
    cp = sub(root, "bpmn:correlationProperty", id=prop_id, name=prop_name)
    for message, _ in MESSAGES:
        rx = sub(cp, "bpmn:correlationPropertyRetrievalExpression", messageRef=message)
        sub(rx, "bpmn:messagePath", path)
    proc = sub(root, "bpmn:process", id=PROCESS_ID, name=PROCESS_NAME, isExecutable="true")
    sub(proc, "bpmn:documentation",
        "Order management flow (BS-OM-F003 订单流程管理标准), 19 steps. Lanes are user groups. "
        "Every user task has a non-interrupting SLA timer that escalates to the group's manager. "
        "Bank notices and customer answers (messages correlated by the order number) interrupt the "
        "task waiting for them and move the order on.")
    lane_set = sub(proc, "bpmn:laneSet", id="order_flow_lanes")
    for lane, name in LANES:
        lane_el = sub(lane_set, "bpmn:lane", id=lane, name=name)
        for n in nodes:
            if n.lane == lane:
                sub(lane_el, "bpmn:flowNodeRef", n.id)

    for n in nodes:
        attrs = {"id": n.id, "name": n.name}
        if n.kind == "timer":
            attrs.update(attachedToRef=n.attached_to, cancelActivity="false")
        if n.kind == "message":
            attrs.update(attachedToRef=n.attached_to, cancelActivity="true")
        if n.id in defaults:
            attrs["default"] = defaults[n.id]
        el = sub(proc, TAGS[n.kind], **attrs)
        if n.doc:
            sub(el, "bpmn:documentation", n.doc)
        props = dict(n.props)
        if n.form:
            props = {"formJsonSchemaFilename": f"{n.form}.json", **props}
        if props or n.kind in {"service", "rule"}:
            ext = sub(el, "bpmn:extensionElements")
            if n.kind == "rule":
                sub(ext, "spiffworkflow:calledDecisionId", n.decision)
            if props:
                pe = sub(ext, "spiffworkflow:properties")
                for k, v in props.items():
                    sub(pe, "spiffworkflow:property", name=k, value=v)
            if n.kind == "service":
                op = sub(ext, "spiffworkflow:serviceTaskOperator", id=n.operator,
                         resultVariable=n.result)
                ps = sub(op, "spiffworkflow:parameters")
                for k, v in n.params.items():
                    sub(ps, "spiffworkflow:parameter", id=k, type="any", value=v)
        for fid in incoming[n.id]:
            sub(el, "bpmn:incoming", fid)
        for fid in outgoing[n.id]:
            sub(el, "bpmn:outgoing", fid)
        if n.kind == "script":
            sub(el, "bpmn:script", n.script)
            el.set("scriptFormat", "python")
        if n.kind == "timer":
            ted = sub(el, "bpmn:timerEventDefinition", id=f"{n.id}_definition")
            td = sub(ted, "bpmn:timeDuration", n.duration)
            td.set(B("xsi:type"), "bpmn:tFormalExpression")
        if n.kind == "message":
            sub(el, "bpmn:messageEventDefinition", id=f"{n.id}_definition", messageRef=n.message)
    for f in flows:
        attrs = {"id": f["id"], "sourceRef": f["src"], "targetRef": f["tgt"]}
        if f["name"]:
            attrs["name"] = f["name"]
        fe = sub(proc, "bpmn:sequenceFlow", **attrs)
        if f["cond"] and f["cond"] != "default":
            ce = sub(fe, "bpmn:conditionExpression", f["cond"])
            ce.set(B("xsi:type"), "bpmn:tFormalExpression")

    # ---- diagram
    shapes, lane_shapes, pool = layout(nodes)
    diagram = sub(root, "bpmndi:BPMNDiagram", id="order_flow_diagram")
    plane = sub(diagram, "bpmndi:BPMNPlane", id="order_flow_plane",
                bpmnElement="order_flow_collaboration")

    def bounds(parent, s: Shape):
        sub(parent, "dc:Bounds", x=fmt(s.x), y=fmt(s.y), width=fmt(s.w), height=fmt(s.h))

    ps = sub(plane, "bpmndi:BPMNShape", id="order_flow_pool_di", bpmnElement="order_flow_pool",
             isHorizontal="true")
    bounds(ps, pool)
    for lane, _ in LANES:
        ls = sub(plane, "bpmndi:BPMNShape", id=f"{lane}_di", bpmnElement=lane, isHorizontal="true")
        bounds(ls, lane_shapes[lane])
    kinds = {n.id: n.kind for n in nodes}
    borders_y = [pool.y, pool.bottom] + [ls.y for ls in lane_shapes.values()]
    borders_x = [pool.x + POOL_HEADER + LANE_HEADER, pool.right]
    router = Router(shapes, kinds, pool, borders_y, borders_x)
    # route the main line first, then branches and loops, then the message paths, then the SLA stubs
    messaging = {m[3] for m in M}
    order = sorted(flows, key=lambda f: (kinds[f["src"]] == "timer" or f["src"].startswith("escalate_"),
                                          kinds[f["src"]] == "message" or f["src"] in messaging,
                                          f["cond"] is not None))
    routes = {f["id"]: router.route(f["src"], f["tgt"], f["hints"]) for f in order}
    labels = LabelPlacer(shapes.values(), routes.values())
    for n in nodes:
        s = shapes[n.id]
        attrs = {"id": f"{n.id}_di", "bpmnElement": n.id}
        if n.kind == "xor":
            attrs["isMarkerVisible"] = "true"
        es = sub(plane, "bpmndi:BPMNShape", **attrs)
        bounds(es, s)
        if n.kind in ("start", "end", "xor", "and", "timer", "message"):
            bounds(sub(es, "bpmndi:BPMNLabel"), labels.for_node(s, n.kind))
    for f in flows:
        pts = routes[f["id"]]
        ed = sub(plane, "bpmndi:BPMNEdge", id=f"{f['id']}_di", bpmnElement=f["id"])
        for x, y in pts:
            sub(ed, "di:waypoint", x=fmt(x), y=fmt(y))
        if f["name"]:
            bounds(sub(ed, "bpmndi:BPMNLabel"), labels.for_flow(pts))
    return root


class LabelPlacer:
    """Chooses label boxes that avoid shapes, flows and labels already placed."""

    W, H = 90, 27

    def __init__(self, shapes, routes):
        self.rects = [Shape("", s.x - 2, s.y - 2, s.w + 4, s.h + 4) for s in shapes]
        self.segments = [seg for pts in routes for seg in zip(pts, pts[1:])]

    def score(self, r: Shape) -> float:
        total = 0.0
        for o in self.rects:
            dx = min(r.right, o.right) - max(r.x, o.x)
            dy = min(r.bottom, o.bottom) - max(r.y, o.y)
            if dx > 0 and dy > 0:
                total += dx * dy
        for (x1, y1), (x2, y2) in self.segments:
            if y1 == y2:
                if r.y < y1 < r.bottom and min(x1, x2) < r.right and max(x1, x2) > r.x:
                    total += 400
            elif r.x < x1 < r.right and min(y1, y2) < r.bottom and max(y1, y2) > r.y:
                total += 400
        return total

    def pick(self, candidates: list[Shape]) -> Shape:
        best = min(candidates, key=lambda c: self.score(c) + candidates.index(c) * 5)
        self.rects.append(best)
        return best

    def for_node(self, s: Shape, kind: str) -> Shape:
        w, h = self.W, self.H
        if kind == "timer":
            w = 80
            return self.pick([Shape("", s.right + 2, s.bottom - 12, w, h),
                              Shape("", s.x - w - 2, s.bottom - 12, w, h)])
        if kind == "message":  # left of the event: the SLA timer sits on its right
            w = 80
            return self.pick([Shape("", s.x - w - 2, s.bottom - 12, w, h),
                              Shape("", s.x - w - 2, s.y - h + 4, w, h)])
        below_c = Shape("", s.cx - w / 2, s.bottom + 4, w, h)
        above_c = Shape("", s.cx - w / 2, s.y - h - 4, w, h)
        up_left = Shape("", s.cx - w - 2, s.y - h - 2, w, h)
        up_right = Shape("", s.cx + 2, s.y - h - 2, w, h)
        down_left = Shape("", s.cx - w - 2, s.bottom + 2, w, h)
        down_right = Shape("", s.cx + 2, s.bottom + 2, w, h)
        if kind in ("xor", "and"):
            return self.pick([up_left, down_left, up_right, down_right, above_c, below_c])
        return self.pick([below_c, above_c, down_right, up_right])

    def for_flow(self, pts) -> Shape:
        w, h = 84, self.H
        candidates = []
        for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
            if y1 == y2 and abs(x2 - x1) >= 40:
                lo = min(x1, x2)
                for x in (lo + 6, (x1 + x2) / 2 - w / 2):
                    candidates += [Shape("", x, y1 - h - 2, w, h), Shape("", x, y1 + 3, w, h)]
            elif x1 == x2 and abs(y2 - y1) >= 30:
                y = (y1 + 8) if y2 > y1 else (y1 - h - 8)
                candidates += [Shape("", x1 + 4, y, w, h), Shape("", x1 - w - 4, y, w, h)]
        if not candidates:
            (x1, y1), (x2, y2) = pts[0], pts[1]
            candidates = [Shape("", (x1 + x2) / 2 + 4, (y1 + y2) / 2 - h - 2, w, h)]
        return self.pick(candidates)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "processes" / "order_flow.bpmn"
    root = build()
    out.parent.mkdir(parents=True, exist_ok=True)
    body = etree.tostring(root, encoding="unicode", pretty_print=True)
    out.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
