"""Generic BPMN generator: a process declared as data, written as Spiff-dialect XML with full DI.

A ``Model`` holds one process: its id and name, lanes (top to bottom; lane id = user group), nodes
on a column/row grid (``model.user()``, ``service()``, ``script()``, ``rule()``, ``gateway()``,
``event()``, ``wait()``), sequence flows, and optionally messages with one correlation property and
interrupting boundary message events. ``model.build()`` writes the semantic XML and lays out the
diagram: every node sits in its lane's band at its column; every user task's time limit is either its
``sla`` property (``sla_style="property"``: the service's own SLA jobs escalate it, nothing is drawn
but the task) or a non-interrupting SLA boundary timer that leads to an ``escalate_overdue`` service
task and an end event (placed under the task; ``sla_style="timer"``, the default); every boundary
message event leads to a script task that records the payload (placed ``message_rows`` rows under
the task: two beside the timers' escalation row, one without it), and every sequence flow is
routed orthogonally around the shapes (A* over a visibility grid). ``model.main(sys.argv)`` is the
command line of a ``tools/bpmn/gen_<process>.py`` script: ``python tools/bpmn/gen_X.py [output.bpmn]``.

The output is deterministic: the same model always gives the same bytes. Needs lxml only.
"""
from __future__ import annotations

import heapq
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- the model


@dataclass
class Node:
    id: str
    # start, end, user, service, script, rule, xor, and, wait (intermediate timer catch event)
    # (+ timer, message: boundary events the generator adds)
    kind: str
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
    duration: str | None = None  # timers: timeDuration text (an ISO literal or an expression)
    attached_to: str | None = None  # boundary events: the task they sit on
    message: str | None = None  # boundary message events: the message id
    after: str | None = None  # layout: right of this node (escalation end events)
    below: str | None = None  # layout: straight under this node (message scripts)
    dx: float = 0  # layout: horizontal shift from the column's centre


def q(text: str) -> str:
    """A string literal for an expression (service parameters)."""
    return '"' + text + '"'


@dataclass
class Model:
    """One process: lanes, nodes, flows and (optionally) messages, plus how to write it.

    ``flows``: (source, target, name, condition[, port hints]). condition "default" marks the
    gateway's default flow; hints {"out": side, "in": side} pin the sides the route leaves/enters.
    Flow ids are generated: flow_<source>_to_<target>.
    ``messages``: (message id = name, message variable that receives the payload).
    ``correlation``: (id, name, path of the value in every message's payload), or None.
    ``message_boundaries``: (task waiting, message, event name, script id, script name, script,
    where the flow goes on); the boundary event gets the id msg_<task>.
    """

    process_id: str
    name: str
    lanes: list[tuple[str, str]]
    doc: str = ""
    exporter: str = ""  # the generator script, e.g. tools/bpmn/gen_order_flow.py
    nodes: list[Node] = field(default_factory=list)
    flows: list[tuple] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)
    correlation: tuple[str, str, str] | None = None
    message_boundaries: list[tuple] = field(default_factory=list)
    # "timer": each user task's limit is a boundary timer -> escalate_overdue -> end event;
    # "property": it is the task's ``sla`` property (the service escalates it; drawn as a clock marker)
    sla_style: str = "timer"

    @property
    def message_rows(self) -> int:
        """How many rows under its task a message's script sits: below the escalation row, if any."""
        return 2 if self.sla_style == "timer" else 1

    # ---- declaring nodes

    def user(self, id, name, lane, col, form=None, sla="P1D", row=0, doc=None, **props):
        """A user task; ``form`` defaults to the id, ``props`` become spiffworkflow:property."""
        self.nodes.append(Node(id, "user", name, lane, col, row, form=form or id, sla=sla, doc=doc,
                               props=props))

    def service(self, id, name, lane, col, operator, result, row=0, **params):
        """A service task calling handler ``operator``; ``params`` are name -> expression."""
        self.nodes.append(Node(id, "service", name, lane, col, row, operator=operator,
                               result=result, params=params))

    def script(self, id, name, lane, col, code, row=0):
        self.nodes.append(Node(id, "script", name, lane, col, row, script=code))

    def rule(self, id, name, lane, col, decision, row=0, doc=None):
        self.nodes.append(Node(id, "rule", name, lane, col, row, decision=decision, doc=doc))

    def gateway(self, id, name, lane, col, kind="xor", row=0):
        self.nodes.append(Node(id, kind, name, lane, col, row))

    def event(self, id, name, lane, col, kind="end", row=0, form=None, props=None):
        """A start or end event; a start event may carry a form and spiffworkflow properties."""
        self.nodes.append(Node(id, kind, name, lane, col, row, form=form, props=dict(props or {})))

    def wait(self, id, name, lane, col, duration, row=0, doc=None):
        """An intermediate timer catch event. ``duration`` is the timeDuration *expression*: a data
        variable (``survey_delay``) or a quoted ISO-8601 literal (``q("P7D")``)."""
        self.nodes.append(Node(id, "wait", name, lane, col, row, duration=duration, doc=doc))

    # ---- expansion: SLA timers and message boundaries

    def expand_sla_nodes(self) -> tuple[list[Node], list[tuple]]:
        """Per user task: boundary timer -> escalate_overdue service task -> end event (none when
        the limits are properties)."""
        extra, flows = [], []
        if self.sla_style == "property":
            return extra, flows
        waiting = {m[0] for m in self.message_boundaries}
        for n in list(self.nodes):
            if n.kind != "user":
                continue
            en, zh = human_duration(n.sla)
            timer = Node(f"sla_{n.id}", "timer", f"{en} limit 时限{zh}", n.lane, n.col, n.row)
            timer.attached_to = n.id
            timer.duration = n.sla
            esc = Node(f"escalate_{n.id}", "service", "Escalate overdue 超时升级", n.lane, n.col,
                       n.row + 1, operator="escalate_overdue", result="escalation",
                       params={"step": q(n.id)})
            if n.id in waiting:
                esc.dx = ESC_SHIFT_FOR_MESSAGE
            end = Node(f"escalated_{n.id}", "end", "Escalated 已升级", n.lane, n.col, n.row + 1)
            end.after = esc.id
            extra += [timer, esc, end]
            flows += [(timer.id, esc.id, None, None), (esc.id, end.id, None, None)]
        return extra, flows

    def expand_message_nodes(self) -> tuple[list[Node], list[tuple]]:
        """Per message boundary: boundary message event -> script task (two rows under the task)
        -> target."""
        by_id = {n.id: n for n in self.nodes}
        messages = {m for m, _ in self.messages}
        boundaries, scripts, flows = [], [], []
        for task_id, message, name, script_id, script_name, code, target in self.message_boundaries:
            task = by_id.get(task_id)
            if task is None or task.kind != "user":
                raise SystemExit(f"message boundary on {task_id}: not a user task")
            if message not in messages:
                raise SystemExit(f"message boundary on {task_id}: unknown message {message}")
            boundary = Node(f"msg_{task_id}", "message", name, task.lane, task.col, task.row)
            boundary.attached_to = task_id
            boundary.message = message
            rec = Node(script_id, "script", script_name, task.lane, task.col, task.row + self.message_rows,
                       script=code)
            rec.below = boundary.id
            boundaries.append(boundary)
            scripts.append(rec)
            flows += [(boundary.id, rec.id, None, None), (rec.id, target, None, None)]
        return boundaries + scripts, flows

    # ---- layout

    def layout(self, nodes: list[Node]) -> tuple[dict[str, Shape], dict[str, Shape], Shape]:
        rows = {lane: 1 for lane, _ in self.lanes}
        for n in nodes:
            if n.lane not in rows:
                raise SystemExit(f"{n.id}: unknown lane {n.lane}")
            rows[n.lane] = max(rows[n.lane], n.row + 1)
        lane_shapes, lane_top = {}, {}
        y = POOL_Y
        ncols = max(n.col for n in nodes) + 1
        width = POOL_HEADER + LANE_HEADER + 30 + ncols * COL_W + 20
        for lane, _ in self.lanes:
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
            if n.after:
                prev = shapes[n.after]
                shapes[n.id] = Shape(n.id, prev.right + ESC_END_GAP, prev.cy - h / 2, w, h)
                continue
            if n.below:  # straight under its boundary event
                shapes[n.id] = Shape(n.id, shapes[n.below].cx - w / 2, row_cy - h / 2, w, h)
                continue
            cx = cell_x + 50 + n.dx
            shapes[n.id] = Shape(n.id, cx - w / 2, row_cy - h / 2, w, h)
        # No two shapes may overlap (boundary timers overlap their own task by design).
        items = list(shapes.values())
        for i, a in enumerate(items):
            for b in items[i + 1:]:
                if by_id[a.id].attached_to == b.id or by_id[b.id].attached_to == a.id:
                    continue
                if a.x < b.right + 6 and b.x < a.right + 6 and a.y < b.bottom + 6 and b.y < a.bottom + 6:
                    raise SystemExit(f"layout: {a.id} overlaps {b.id}")
        return shapes, lane_shapes, pool

    # ---- XML

    def build(self) -> etree._Element:
        pid = self.process_id
        extra_nodes, extra_flows = self.expand_sla_nodes()
        msg_nodes, msg_flows = self.expand_message_nodes()
        nodes = self.nodes + extra_nodes + msg_nodes
        extra_flows = extra_flows + msg_flows
        by_id = {n.id: n for n in nodes}
        if len(by_id) != len(nodes):
            raise SystemExit("duplicate node ids")
        # Spiff finds flow targets by any element's id: an operator id equal to a node id breaks it
        clash = {n.operator for n in nodes if n.operator} & set(by_id)
        if clash:
            raise SystemExit(f"node ids equal to service operator ids: {sorted(clash)}")
        if self.messages and self.correlation is None:
            raise SystemExit("messages need a correlation property")
        reserved = {m for m, _ in self.messages} | {pid}
        if self.correlation is not None:
            reserved.add(self.correlation[0])
        clash = reserved & set(by_id)
        if clash:
            raise SystemExit(f"node ids equal to message / correlation / process ids: {sorted(clash)}")
        flows = []
        for src, tgt, name, cond, *hints in self.flows + extra_flows:
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
            "id": f"{pid}_definitions", "targetNamespace": "http://bpmn.io/schema/bpmn",
            "exporter": self.exporter or f"tools/bpmn/gen_{pid}.py", "exporterVersion": "1"})
        collab = sub(root, "bpmn:collaboration", id=f"{pid}_collaboration")
        sub(collab, "bpmn:participant", id=f"{pid}_pool", name=self.name, processRef=pid)
        for message, variable in self.messages:
            me = sub(root, "bpmn:message", id=message, name=message)
            sub(sub(me, "bpmn:extensionElements"), "spiffworkflow:messageVariable", variable)
        if self.messages:
            prop_id, prop_name, path = self.correlation
            cp = sub(root, "bpmn:correlationProperty", id=prop_id, name=prop_name)
            for message, _ in self.messages:
                rx = sub(cp, "bpmn:correlationPropertyRetrievalExpression", messageRef=message)
                sub(rx, "bpmn:messagePath", path)
        proc = sub(root, "bpmn:process", id=pid, name=self.name, isExecutable="true")
        if self.doc:
            sub(proc, "bpmn:documentation", self.doc)
        lane_set = sub(proc, "bpmn:laneSet", id=f"{pid}_lanes")
        for lane, name in self.lanes:
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
            if n.kind == "user" and n.sla and self.sla_style == "property":
                props["sla"] = n.sla
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
                    # no result variable: a dict result merges into the data
                    op = sub(ext, "spiffworkflow:serviceTaskOperator", id=n.operator,
                             **({"resultVariable": n.result} if n.result else {}))
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
            if n.kind in ("timer", "wait"):
                ted = sub(el, "bpmn:timerEventDefinition", id=f"{n.id}_definition")
                td = sub(ted, "bpmn:timeDuration", n.duration)
                td.set(B("xsi:type"), "bpmn:tFormalExpression")
            if n.kind == "message":
                sub(el, "bpmn:messageEventDefinition", id=f"{n.id}_definition",
                    messageRef=n.message)
        for f in flows:
            attrs = {"id": f["id"], "sourceRef": f["src"], "targetRef": f["tgt"]}
            if f["name"]:
                attrs["name"] = f["name"]
            fe = sub(proc, "bpmn:sequenceFlow", **attrs)
            if f["cond"] and f["cond"] != "default":
                ce = sub(fe, "bpmn:conditionExpression", f["cond"])
                ce.set(B("xsi:type"), "bpmn:tFormalExpression")

        # ---- diagram
        shapes, lane_shapes, pool = self.layout(nodes)
        diagram = sub(root, "bpmndi:BPMNDiagram", id=f"{pid}_diagram")
        plane = sub(diagram, "bpmndi:BPMNPlane", id=f"{pid}_plane",
                    bpmnElement=f"{pid}_collaboration")

        def bounds(parent, s: Shape):
            sub(parent, "dc:Bounds", x=fmt(s.x), y=fmt(s.y), width=fmt(s.w), height=fmt(s.h))

        ps = sub(plane, "bpmndi:BPMNShape", id=f"{pid}_pool_di", bpmnElement=f"{pid}_pool",
                 isHorizontal="true")
        bounds(ps, pool)
        for lane, _ in self.lanes:
            ls = sub(plane, "bpmndi:BPMNShape", id=f"{lane}_di", bpmnElement=lane,
                     isHorizontal="true")
            bounds(ls, lane_shapes[lane])
        kinds = {n.id: n.kind for n in nodes}
        borders_y = [pool.y, pool.bottom] + [ls.y for ls in lane_shapes.values()]
        borders_x = [pool.x + POOL_HEADER + LANE_HEADER, pool.right]
        router = Router(shapes, kinds, pool, borders_y, borders_x)
        # route the main line first, then branches and loops, then the message paths, then the
        # SLA stubs
        messaging = {m[3] for m in self.message_boundaries}
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
            if n.kind in ("start", "end", "xor", "and", "timer", "message", "wait"):
                bounds(sub(es, "bpmndi:BPMNLabel"), labels.for_node(s, n.kind))
        for f in flows:
            pts = routes[f["id"]]
            ed = sub(plane, "bpmndi:BPMNEdge", id=f"{f['id']}_di", bpmnElement=f["id"])
            for x, y in pts:
                sub(ed, "di:waypoint", x=fmt(x), y=fmt(y))
            if f["name"]:
                bounds(sub(ed, "bpmndi:BPMNLabel"), labels.for_flow(pts))
        check_unique_ids(root)
        return root

    def write(self, out: Path) -> None:
        root = self.build()
        out.parent.mkdir(parents=True, exist_ok=True)
        body = etree.tostring(root, encoding="unicode", pretty_print=True)
        out.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body, encoding="utf-8")

    def main(self, argv: list[str]) -> int:
        """``python tools/bpmn/gen_X.py [output.bpmn]``; default: processes/<process id>.bpmn."""
        out = Path(argv[1]) if len(argv) > 1 else ROOT / "processes" / f"{self.process_id}.bpmn"
        self.write(out)
        print(f"wrote {out}")
        return 0


def check_unique_ids(root: etree._Element) -> None:
    """BPMN ids (xsd:ID) are unique in the document: the modeler refuses duplicates."""
    seen: set[str] = set()
    for el in root.iter():
        if not isinstance(el.tag, str) or el.get("id") is None:
            continue
        if etree.QName(el).namespace == NS["spiffworkflow"]:
            continue  # handler / parameter names, checked against node ids above
        if el.get("id") in seen:
            raise SystemExit(f"duplicate id in the document: {el.get('id')}")
        seen.add(el.get("id"))


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
         "message": (36, 36), "wait": (36, 36)}
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
        # the bottom of a user task carries its SLA timer or message events (and, on pages, the clock)
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
        for (x1, y1), (x2, y2) in itertools.pairwise(pts):
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
        "message": "bpmn:boundaryEvent", "wait": "bpmn:intermediateCatchEvent"}


class LabelPlacer:
    """Chooses label boxes that avoid shapes, flows and labels already placed."""

    W, H = 90, 27

    def __init__(self, shapes, routes):
        self.rects = [Shape("", s.x - 2, s.y - 2, s.w + 4, s.h + 4) for s in shapes]
        self.segments = [seg for pts in routes for seg in itertools.pairwise(pts)]

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
        for (x1, y1), (x2, y2) in itertools.pairwise(pts):
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

