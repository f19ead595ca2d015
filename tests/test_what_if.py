"""What if the draft were deployed: real completions replayed through the draft's steps, groups and
time limits. The history here is made by real steps on the service clock, so every figure below is
worked out by hand from the durations it sets."""
from __future__ import annotations

from itertools import pairwise

import pytest

from tests.support.bpmn_samples import HEAD
from tests.support.helpers import Api, login

HOUR = 3600.0


def _diagram(steps: str, flows: str, lanes: dict[str, list[str]]) -> str:
    lane_xml = "".join(f'<bpmn:lane id="{group}" name="{group}">'
                       + "".join(f"<bpmn:flowNodeRef>{e}</bpmn:flowNodeRef>" for e in members) + "</bpmn:lane>"
                       for group, members in lanes.items())
    return (f'{HEAD}<bpmn:process id="replay" name="Replay" isExecutable="true">'
            f'<bpmn:laneSet id="ls">{lane_xml}</bpmn:laneSet>'
            f'<bpmn:startEvent id="start"/>{steps}<bpmn:endEvent id="end"/>{flows}'
            '</bpmn:process></bpmn:definitions>')


def _task(ident: str, name: str, sla: str | None = None) -> str:
    props = (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="sla" value="{sla}"/>'
             '</spiffworkflow:properties></bpmn:extensionElements>') if sla else ""
    return f'<bpmn:userTask id="{ident}" name="{name}">{props}</bpmn:userTask>'


def _flows(*path: str) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>' for a, b in pairwise(path))


# today: A (sales, 4 h) -> B (finance, 2 h) -> D (sales, no limit)
TODAY = _diagram(_task("a", "Check the order", "PT4H") + _task("b", "Confirm the payment", "PT2H")
                 + _task("d", "File the papers"), _flows("start", "a", "b", "d", "end"),
                 {"sales": ["start", "a", "d", "end"], "finance": ["b"]})
# the draft: A's limit 2 h; D removed; a new C (finance, 90 min) after B
DRAFT = _diagram(_task("a", "Check the order", "PT2H") + _task("b", "Confirm the payment", "PT2H")
                 + _task("c", "Book the payment", "PT90M"), _flows("start", "a", "b", "c", "end"),
                 {"sales": ["start", "a", "end"], "finance": ["b", "c"]})
A_HOURS, B_HOURS = (1, 2, 3, 6), (1, 2, 3, 2)   # D takes 1 h for every order


def _history(api: Api, clock) -> None:
    deployed = api.client.post("/api/v1/processes", data=TODAY.encode(),
                               headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert deployed.status_code == 201, deployed.json
    for a_hours, b_hours in zip(A_HOURS, B_HOURS):
        started = api.post("sales1", "/api/v1/processes/replay/instances", {"data": {}})
        assert started.status_code == 201, started.json
        for element, user, hours in (("a", "sales1", a_hours), ("b", "finance1", b_hours), ("d", "sales1", 1)):
            clock.advance(hours=hours)
            task = api.task(started.json["id"], element)
            assert api.post(user, f"/api/v1/tasks/{task['id']}/complete", {"data": {}}).status_code == 200
    saved = api.client.put("/api/v1/processes/replay/draft", headers=api.auth("owner1"), json={"bpmn": DRAFT})
    assert saved.status_code == 200, saved.json


def test_the_preview_matches_the_hand_worked_answer(api: Api, clock):
    _history(api, clock)
    resp = api.get("owner1", "/api/v1/processes/replay/draft/what-if?weeks=1")
    assert resp.status_code == 200, resp.json
    got = resp.json
    assert got["from_version"] == 1 and got["history"] == {"steps": 12, "orders": 4, "capped": False, "limit": 50_000}
    steps = {s["element_id"]: s for s in got["steps"]}
    assert [s["element_id"] for s in got["steps"]] == ["a", "b", "c", "d"]
    assert {k: s["change"] for k, s in steps.items()} == {"a": "changed", "b": "same", "c": "added", "d": "removed"}
    per_day = 4 / 7   # four orders in a week

    a = steps["a"]
    assert a["today"]["mean_seconds"] == a["draft"]["mean_seconds"] == 3 * HOUR         # (1+2+3+6)/4
    assert a["today"]["breach_share"] == 0.25 and a["draft"]["breach_share"] == 0.5     # > 4 h: 6; > 2 h: 3, 6
    assert a["today"]["waiting"] == pytest.approx(per_day * 3 / 24)
    assert a["draft"]["time_limit"] == "PT2H" and a["today"]["time_limit"] == "PT4H"

    b = steps["b"]
    assert b["today"] == b["draft"] and b["draft"]["breach_share"] == 0.25 and b["draft"]["basis"] == "history"

    c = steps["c"]   # new: finance's times (B's: 1, 2, 3, 2 h), reached by every order that reached B
    assert c["today"] is None
    assert c["draft"]["basis"] == "group" and c["draft"]["group"] == "finance" and c["draft"]["reached"] == 4
    assert c["draft"]["mean_seconds"] == 2 * HOUR and c["draft"]["breach_share"] == 0.75   # > 90 min: 2, 3, 2
    assert c["draft"]["waiting"] == pytest.approx(per_day * 2 / 24)

    d = steps["d"]
    assert d["draft"] is None and d["today"]["reached"] == 4 and d["today"]["breach_share"] is None
    # per order at the people's steps: today A+B+D = 3, 5, 7, 9 h; with the draft A+B+C = 4, 6, 8, 10 h
    assert got["cycle_seconds"] == {"today": 6 * HOUR, "draft": 7 * HOUR}


def test_the_page_shows_the_forecast_and_its_assumptions(api: Api, clock, client):
    _history(api, clock)
    login(client, "owner1")
    page = client.get("/processes/replay/what-if?weeks=1").get_data(as_text=True)
    assert 'data-element="c" data-change="added"' in page and 'data-basis="group"' in page
    assert 'data-cycle="today">6 h 0 min' in page and 'data-cycle="draft">7 h 0 min' in page
    assert "Little" in page and 'id="what-if-assumptions"' in page
    zh = client.get("/processes/replay/what-if?weeks=1", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "如果" in zh


def test_wrong_input_gets_a_clear_refusal(api: Api, clock, client):
    _history(api, clock)
    for weeks in ("0", "27", "soon"):
        resp = api.get("owner1", f"/api/v1/processes/replay/draft/what-if?weeks={weeks}")
        assert resp.status_code == 422 and "weeks" in resp.json["error"]["fields"], resp.json
    assert api.get("sales1", "/api/v1/processes/replay/draft/what-if").status_code == 403
    assert api.get("owner1", "/api/v1/processes/order_flow/draft/what-if").status_code == 404   # no draft
    broken = DRAFT.replace('targetRef="c"', 'targetRef="nowhere"')
    api.client.put("/api/v1/processes/replay/draft", headers=api.auth("owner1"), json={"bpmn": broken})
    resp = api.get("owner1", "/api/v1/processes/replay/draft/what-if")
    assert resp.status_code == 422 and "draft" in resp.json["error"]["fields"], resp.json
    login(client, "owner1")
    page = client.get("/processes/replay/what-if?weeks=0")
    assert page.status_code == 422 and "between 1 and 26 weeks" in page.get_data(as_text=True)


def test_a_new_step_is_reached_by_the_orders_that_reached_the_steps_before_it(api: Api, clock):
    _history(api, clock)
    # C between A and B, in a group with no history: reached by A's orders, no times to go on
    draft = _diagram(_task("a", "Check the order", "PT2H") + _task("c", "Ask the warehouse", "PT1H")
                     + _task("b", "Confirm the payment", "PT2H"), _flows("start", "a", "c", "b", "end"),
                     {"sales": ["start", "a", "end"], "warehouse": ["c"], "finance": ["b"]})
    api.client.put("/api/v1/processes/replay/draft", headers=api.auth("owner1"), json={"bpmn": draft})
    steps = {s["element_id"]: s for s in api.get("owner1", "/api/v1/processes/replay/draft/what-if?weeks=1").json["steps"]}
    assert steps["c"]["draft"]["reached"] == 4 and steps["c"]["draft"]["basis"] == "none"
    assert steps["c"]["draft"]["mean_seconds"] is None and steps["c"]["draft"]["waiting"] is None


def test_a_long_history_is_cut_to_the_latest_steps_and_the_rates_follow_the_span_they_cover(api: Api, clock,
                                                                                               monkeypatch):
    from orderflow.workflow import what_if
    _history(api, clock)
    monkeypatch.setattr(what_if, "MAX_SAMPLE", 6)
    got = api.get("owner1", "/api/v1/processes/replay/draft/what-if?weeks=1").json
    # the steps ended 1, 2, 3 | 5, 7, 8 | 11, 14, 15 | 21, 23, 24 h after the start; the latest six: orders 3 and 4
    assert got["history"] == {"steps": 6, "orders": 2, "capped": True, "limit": 6}
    a = next(s for s in got["steps"] if s["element_id"] == "a")["today"]
    assert a["reached"] == 2 and a["mean_seconds"] == 4.5 * HOUR
    assert a["waiting"] == pytest.approx(2 / (13 / 24) * 4.5 / 24)   # 2 visits over the 13 h they span


def test_a_step_no_order_reached_stays_unreached_and_an_unchanged_draft_changes_nothing(api: Api, clock):
    branch = _diagram(
        _task("a", "Check the order", "PT4H") + '<bpmn:exclusiveGateway id="gw" default="f_gw_b"/>'
        + _task("e", "Rare exception") + _task("b", "Confirm the payment", "PT2H"),
        _flows("start", "a", "gw") + _flows("b", "end") + _flows("e", "end")
        + '<bpmn:sequenceFlow id="f_gw_b" sourceRef="gw" targetRef="b"/>'
        + '<bpmn:sequenceFlow id="f_gw_e" sourceRef="gw" targetRef="e">'
          '<bpmn:conditionExpression>1 == 2</bpmn:conditionExpression></bpmn:sequenceFlow>',
        {"sales": ["start", "a", "e", "end"], "finance": ["b"]})
    assert api.client.post("/api/v1/processes", data=branch.encode(), headers={
        **api.auth("owner1"), "Content-Type": "application/xml"}).status_code == 201
    for hours in (1, 3):
        order = api.post("sales1", "/api/v1/processes/replay/instances", {"data": {}}).json["id"]
        for element, user in (("a", "sales1"), ("b", "finance1")):
            clock.advance(hours=hours)
            task = api.task(order, element)
            assert api.post(user, f"/api/v1/tasks/{task['id']}/complete", {"data": {}}).status_code == 200
    api.client.put("/api/v1/processes/replay/draft", headers=api.auth("owner1"), json={"bpmn": branch})
    got = api.get("owner1", "/api/v1/processes/replay/draft/what-if?weeks=1").json
    rare = next(s for s in got["steps"] if s["element_id"] == "e")
    assert rare["change"] == "same" and rare["today"]["reached"] == rare["draft"]["reached"] == 0
    assert rare["draft"]["mean_seconds"] is None and rare["draft"]["basis"] == "history"
    assert got["cycle_seconds"]["today"] == got["cycle_seconds"]["draft"] == 4 * HOUR   # (1+1, 3+3) h
