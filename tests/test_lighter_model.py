"""The lighter order model: each user task's time limit is its ``sla`` property (no boundary timers,
escalation tasks or their end events); the service's own SLA job escalates an overdue step and the
order page says the deadline was missed, once."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from orderflow.core.models import AuditEvent, Notification
from orderflow.engine.xmlinfo import describe_elements
from tests.support.helpers import Api, login, run_jobs

ROOT = Path(__file__).resolve().parent.parent
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiff": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
DURATION = re.compile(r"^P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?)?$")


def diagram(key: str):
    return etree.parse(str(ROOT / "processes" / f"{key}.bpmn")).getroot()


@pytest.mark.parametrize("key", ["order_flow", "after_sales"])
def test_no_boundary_timer_and_every_user_task_has_an_sla_property(key):
    root = diagram(key)
    timers = root.xpath("//bpmn:boundaryEvent[bpmn:timerEventDefinition]", namespaces=NS)
    assert timers == []
    ids = root.xpath("//bpmn:process//@id", namespaces=NS)
    assert not [i for i in ids if i.startswith(("sla_", "escalate_", "escalated_"))]
    assert not root.xpath("//spiff:serviceTaskOperator[@id='escalate_overdue']", namespaces=NS)
    tasks = root.xpath("//bpmn:userTask", namespaces=NS)
    assert len(tasks) >= (34 if key == "order_flow" else 10)
    for task in tasks:
        sla = task.xpath("bpmn:extensionElements/spiff:properties/spiff:property[@name='sla']/@value",
                         namespaces=NS)
        assert len(sla) == 1 and DURATION.match(sla[0]) and sla[0] != "P", task.get("id")
    process = root.find("bpmn:process", NS)
    infos = describe_elements(process)
    for task in tasks:
        info = infos[task.get("id")]
        assert info.sla and not info.sla_timer


def test_the_order_flow_keeps_its_messages_payments_gateways_and_signature():
    root = diagram("order_flow")
    messages = root.xpath("//bpmn:boundaryEvent[bpmn:messageEventDefinition]/@attachedToRef", namespaces=NS)
    assert sorted(messages) == sorted(["confirm_deposit", "chase_deposit", "confirm_sample", "produce",
                                       "confirm_balance", "chase_balance"])
    operators = root.xpath("//spiff:serviceTaskOperator/@id", namespaces=NS)
    assert operators.count("record_payment") == 4
    assert len(root.xpath("//bpmn:exclusiveGateway", namespaces=NS)) >= 15
    sign = root.xpath("//bpmn:userTask[@id='sign_release']//spiff:property[@name='signature']/@value",
                      namespaces=NS)
    assert sign == ["true"]
    # the diagram lost the escalation rows: a third less tall than the 3,720 px with the timers
    pool = root.xpath("//*[local-name()='BPMNShape'][@bpmnElement='order_flow_pool']/*[local-name()='Bounds']")[0]
    assert float(pool.get("height")) <= 2400


def _trail(app, instance_id: int) -> list[tuple[str, str | None]]:
    with app.extensions["orderflow.db"].session() as s:
        return [(e.action, e.element_id) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id))]


def test_an_overdue_step_is_escalated_once_and_shown_as_deadline_missed(app, api: Api, clock):
    started = api.start_order()                    # check_stock (warehouse): 3 h, its sla property
    client = app.test_client()
    login(client, "manager1")
    page = client.get(f"/orders/{started['id']}").data.decode()
    assert 'data-action="sla_breached"' not in page
    clock.advance(hours=2, minutes=59)
    run_jobs(app)
    assert ("sla_breached", "check_stock") not in _trail(app, started["id"])
    clock.advance(minutes=2)
    run_jobs(app)
    trail = _trail(app, started["id"])
    assert trail.count(("sla_breached", "check_stock")) == 1
    assert trail.count(("sla_escalated", "check_stock")) == 1
    assert not [a for a, _ in trail if a in ("timer_fired", "service_completed")]
    with app.extensions["orderflow.db"].session() as s:
        notes = s.scalars(select(Notification.kind).where(Notification.username == "manager1")).all()
    assert notes == ["sla_breached"]
    page = client.get(f"/orders/{started['id']}").data.decode()
    rows = re.findall(r'<tr data-action="(sla_\w+)">\s*<td[^>]*>[^<]*</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>', page)
    assert rows == [("sla_breached", "Deadline missed"), ("sla_escalated", "Managers told")]
    # a reminder four hours on is no second missed deadline
    clock.advance(hours=4, minutes=1)
    run_jobs(app)
    trail = _trail(app, started["id"])
    assert trail.count(("sla_breached", "check_stock")) == 1
    assert trail.count(("sla_escalated", "check_stock")) == 2
    page = client.get(f"/orders/{started['id']}").data.decode()
    assert page.count("Deadline missed") == 1 and "Managers reminded" in page


def _with_boundary_timers() -> bytes:
    """The order flow as it was drawn before: bench/time_limits.py puts the timers back."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("time_limits_bench", ROOT / "bench" / "time_limits.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.with_boundary_timers((ROOT / "processes" / "order_flow.bpmn").read_bytes())


def _deploy(api: Api, xml: bytes) -> int:
    import io

    bundle = [(io.BytesIO(xml), "order_flow.bpmn")] + [
        (io.BytesIO(p.read_bytes()), p.name) for p in sorted((ROOT / "processes").glob("*.dmn"))]
    resp = api.client.post("/api/v1/processes", headers=api.auth("owner1"), content_type="multipart/form-data",
                           data={"files": bundle})
    assert resp.status_code == 201, resp.json
    return resp.json["deployed"][0]["version"]


def test_an_order_flow_with_boundary_timers_escalates_as_before(app, api: Api, clock):
    """The diagram's own path records the missed deadline; the service's job adds none of its own. An
    order waiting at a timed step cannot move onto the lighter version (the timer would go); it
    finishes on its own version."""
    timers = _deploy(api, _with_boundary_timers())
    started = api.start_order()
    clock.advance(hours=3, minutes=1)
    run_jobs(app)
    trail = _trail(app, started["id"])
    assert trail.count(("timer_fired", "sla_check_stock")) == 1
    assert [e for e in trail if e[0] == "sla_breached"] == [("sla_breached", "escalate_check_stock")]
    assert trail.count(("sla_escalated", "check_stock")) == 1
    lighter = _deploy(api, (ROOT / "processes" / "order_flow.bpmn").read_bytes().replace(
        b'name="Check stock ', b'name="Check the stock ', 1))
    report = api.post("owner1", "/api/v1/processes/order_flow/migrations",
                      {"from": timers, "to": lighter, "dry_run": True}).json
    assert report["movable"] == 0 and report["refused"] == 1
    assert any("removes the time limit" in r for r in report["results"][0]["reasons"])
