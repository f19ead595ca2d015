"""Analytics for performance reviews: the task_stats roll-up, the report, the page, CSV and JSON."""
from __future__ import annotations

import csv
import io
import json
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from orderflow.core.models import HumanTask, TaskStat
from orderflow.orders import analytics
from tests.support.browser import skip_without_chromium
from tests.support.helpers import Api, login
from tests.support.orders import drive


def _query(clock, before: int = 7, after: int = 7, process: str = "order_flow") -> str:
    today = clock.value.date()
    return (f"from={(today - timedelta(days=before)).isoformat()}&to={(today + timedelta(days=after)).isoformat()}"
            f"&process={process}")


def _report(api: Api, query: str) -> dict:
    resp = api.get("manager1", f"/api/v1/analytics?{query}")
    assert resp.status_code == 200, resp.json
    return resp.json


def _step(report: dict, element_id: str) -> dict:
    found = [s for s in report["steps"] if s["element_id"] == element_id]
    assert len(found) == 1, report["steps"]
    return found[0]


def _complete(api: Api, instance_id: int, element_id: str, decision: str | None = None) -> None:
    task = api.task(instance_id, element_id)
    resp = api.complete(f"{task['group']}1", task["id"], decision)
    assert resp.status_code == 200, resp.json


def _two_stock_checks(api: Api, clock) -> None:
    """check_stock has a 3 h limit: done after 2 h on one order (on time), 5 h on the other (late)."""
    first, second = api.start_order(), api.start_order()
    clock.advance(hours=2)
    _complete(api, first["id"], "check_stock")
    clock.advance(hours=3)
    _complete(api, second["id"], "check_stock")


def test_cycle_time_and_time_limits_per_step_and_department(api: Api, clock):
    begun = clock.value   # the orders' start; the checks move the clock on (maybe into the next week)
    _two_stock_checks(api, clock)
    report = _report(api, _query(clock))

    stock = _step(report, "check_stock")
    assert (stock["count"], stock["with_due"], stock["on_time"], stock["compliance"]) == (2, 2, 1, 0.5)
    assert stock["group"] == "warehouse" and stock["name"].startswith("Check stock")
    assert stock["mean_seconds"] == pytest.approx((2 + 5) * 3600 / 2, abs=1)
    # 2 h = 7200 s lies in the bucket [4096, 8192), 5 h = 18000 s in [16384, 32768)
    assert 4096 <= stock["median_seconds"] <= 8192
    assert 16384 <= stock["p90_seconds"] <= 32768
    warehouse = [g for g in report["groups"] if g["group"] == "warehouse"]
    assert warehouse == [{"group": "warehouse", "count": 2, "with_due": 2, "on_time": 1, "compliance": 0.5}]

    started = {w["week"]: w["started"] for w in report["weeks"] if w["started"]}
    year, week, _ = begun.date().isocalendar()   # both orders started then (weeks are UTC weeks)
    assert sum(started.values()) == 2 and started.get(f"{year}-W{week:02d}") == 2
    assert sum(w["finished"] for w in report["weeks"]) == 0
    assert all(date.fromisoformat(w["week_start"]).weekday() == 0 for w in report["weeks"])


def test_csv_agrees_with_the_json(api: Api, client, clock):
    _two_stock_checks(api, clock)
    query = _query(clock)
    report = _report(api, query)
    resp = api.get("manager1", f"/analytics.csv?{query}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    blank = rows.index([])
    steps, weeks = rows[1:blank], rows[blank + 2:rows.index([], blank + 1)]   # the after-sales tables follow
    assert rows[0][:2] == ["Process", "Step"] and rows[blank + 1][0] == "Week"
    assert len(steps) == len(report["steps"]) and len(weeks) == len(report["weeks"])
    for line, step in zip(steps, report["steps"]):
        assert line[:5] == [step["process"], step["element_id"], step["name"], step["group"], str(step["count"])]
        assert float(line[5]) == pytest.approx(step["median_seconds"] / 3600, abs=0.01)
        assert float(line[6]) == pytest.approx(step["p90_seconds"] / 3600, abs=0.01)
        assert float(line[7]) == pytest.approx(step["mean_seconds"] / 3600, abs=0.01)
        assert line[8:10] == [str(step["with_due"]), str(step["on_time"])]
        assert float(line[10]) == pytest.approx(step["compliance"])
    for line, week in zip(weeks, report["weeks"]):
        assert line == [week["week"], week["week_start"], str(week["started"]), str(week["finished"])]


def _drive_until(api: Api, instance_id: int, element_id: str) -> None:
    """Complete open tasks (default decisions) until ``element_id`` is open."""
    for _ in range(80):
        open_tasks = api.open_tasks(instance_id)
        if any(t["element_id"] == element_id for t in open_tasks):
            return
        task = open_tasks[0]
        password = "demo" if task["element_id"] == "sign_release" else None
        resp = api.complete(f"{task['group']}1", task["id"], password=password)
        assert resp.status_code == 200, resp.json
    raise AssertionError(f"{element_id} never opened")


def test_rework_rate_and_on_time_delivery(api: Api, clock):
    on_time, late = api.start_order(), api.start_order()    # both promised 60 days from today
    drive(api, on_time["id"], {"qc_inspection": ["fail", "pass"]})
    _drive_until(api, late["id"], "ship_order")
    clock.advance(days=61)                                   # shipping waits past the promised date
    drive(api, late["id"])
    report = _report(api, _query(clock, before=70, after=1))

    assert report["rework"] == {"part": 1, "whole": 3, "rate": pytest.approx(1 / 3, abs=1e-4),
                                "step": "qc_inspection"}
    assert _step(report, "qc_inspection")["count"] == 3
    assert _step(report, "rework")["count"] == 1
    assert report["on_time_delivery"] == {"part": 1, "whole": 2, "rate": 0.5, "step": "ship_order"}
    ship = _step(report, "ship_order")
    assert ship["count"] == 2 and ship["p90_seconds"] >= 2 ** 22     # 61 days is about 2**22.3 s
    assert report["returns"] == {"part": 0, "whole": 2, "rate": 0.0, "process": "after_sales"}
    assert sum(w["finished"] for w in report["weeks"]) == 2
    assert sum(w["started"] for w in report["weeks"]) == 2
    # only the first order shipped in the first month, on time; nothing ships after the second
    early = _report(api, _query(clock, before=70, after=-30))
    assert early["on_time_delivery"] == {"part": 1, "whole": 1, "rate": 1.0, "step": "ship_order"}
    assert early["rework"]["part"] == 1 and early["returns"]["whole"] == 1
    assert _report(api, _query(clock, before=-1, after=3))["on_time_delivery"]["whole"] == 0


def test_the_roll_up_caught_up_in_the_background_equals_a_full_rebuild(api: Api, app, clock):
    _two_stock_checks(api, clock)
    order = api.start_order()
    clock.advance(minutes=30)
    drive(api, order["id"], {"qc_inspection": ["fail", "pass"]})
    db = app.extensions["orderflow.db"]

    def rows(session) -> dict:
        return {(r.process_key, r.element_id, r.day, r.group_id):
                (r.completed, r.with_due, r.on_time, round(r.total_seconds, 3), r.buckets, r.decisions)
                for r in session.scalars(select(TaskStat))}
    app.extensions["orderflow.scheduler"].sweep()   # what the service does in the background
    with db.session() as session:
        kept = rows(session)
        finished = session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "completed"))
        assert finished > 20
        assert analytics.rebuild(session) == finished == sum(v[0] for v in kept.values())
        session.commit()
    with db.session() as session:
        assert rows(session) == kept
        assert analytics.catch_up(session) == 0   # the rebuild counted everything: nothing is pending


def test_the_page_shows_charts_tables_and_headlines(api: Api, client, clock):
    _two_stock_checks(api, clock)
    login(client, "manager1")
    page = client.get(f"/analytics?{_query(clock)}")
    assert page.status_code == 200
    html = page.data.decode()
    for element in ("chart-cycle", "chart-sla-step", "chart-sla-group", "chart-weeks", "table-cycle",
                    "table-sla-step", "table-sla-group", "table-weeks", "card-delivery", "card-rework",
                    "card-returns", "download-csv"):
        assert f'id="{element}"' in html, element
    assert "No after-sales cases yet." in html
    assert 'data-step="check_stock"' in html
    scripts = re.findall(r"<script([^>]*)>", html)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts), scripts
    assert any('type="module"' in a and "vendor/app/analytics.js" in a for a in scripts)
    data = json.loads(re.search(r'<script type="application/json" id="analytics-data">(.*?)</script>',
                                html, re.S).group(1))
    index = data["steps"]["labels"].index("Check stock")
    assert data["steps"]["compliance"][index] == 50.0
    assert data["weeks"]["labels"] and len(data["weeks"]["started"]) == len(data["weeks"]["labels"])
    default = client.get("/analytics")                      # the last 90 days
    assert default.status_code == 200 and 'data-step="check_stock"' in default.data.decode()


def test_only_overseers_see_analytics(api: Api, client):
    for path in ("/api/v1/analytics", "/analytics.csv", "/analytics"):
        resp = api.get("sales1", path)
        assert resp.status_code == 403, path
    assert api.get("sales1", "/api/v1/analytics?from=nonsense").status_code == 403
    assert client.get("/api/v1/analytics").status_code == 401
    assert client.get("/analytics").status_code == 302          # to the login page
    login(client, "warehouse1")
    assert client.get("/analytics").status_code == 403
    assert api.get("admin", "/api/v1/analytics").status_code == 200


def test_bad_dates_answer_422(api: Api, client):
    resp = api.get("manager1", "/api/v1/analytics?from=2026-02-30")
    assert resp.status_code == 422 and "from" in resp.json["error"]["fields"]
    resp = api.get("manager1", "/api/v1/analytics?from=2026-03-02&to=2026-03-01")
    assert resp.status_code == 422 and "after the end date" in resp.json["error"]["message"]
    assert api.get("manager1", "/analytics.csv?to=tomorrow").status_code == 422
    assert api.get("manager1", "/api/v1/analytics?process=no_such_process").status_code == 404
    login(client, "manager1")
    page = client.get("/analytics?from=yesterday&to=2026-01-01")
    assert page.status_code == 422
    html = page.data.decode()
    assert 'id="analytics-error"' in html and "YYYY-MM-DD" in html and "yesterday" in html
    assert 'id="analytics-filter"' in html and 'aria-invalid="true"' in html
    assert "analytics-data" not in html


def test_concurrent_catch_ups_count_each_completion_once(api: Api, app):
    """Two sweeps (two nodes, or a sweep and a report) catching up at once, in small batches."""
    db = app.extensions["orderflow.db"]
    day_start = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)
    per_decision = 25
    order = api.start_order()
    with db.session() as session:
        session.add_all(HumanTask(
            instance_id=order["id"], process_key="order_flow", task_uuid=f"t-{decision}-{i}", name="QC",
            element_id="qc_inspection", group_id="quality", status="completed", rollup_pending=True,
            ready_at=day_start, completed_at=day_start + timedelta(seconds=2 ** (i % 10)),
            due_at=day_start + timedelta(seconds=100), data={"decision": decision})
            for decision in ("pass", "fail") for i in range(per_decision))
        session.commit()
    barrier = threading.Barrier(2)
    counted: list[int] = []
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            while True:
                with db.session() as session:
                    count = analytics.catch_up(session, batch=3)
                    session.commit()
                counted.append(count)
                if not count:
                    return
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    assert sum(counted) == 2 * per_decision
    with db.session() as session:
        row = session.get(TaskStat, ("order_flow", "qc_inspection", date(2031, 5, 6), "quality"))
        assert row.completed == 2 * per_decision
        assert sum(row.buckets) == 2 * per_decision
        assert row.decisions == {"pass": per_decision, "fail": per_decision}
        assert row.with_due == 2 * per_decision
        assert row.on_time == 2 * sum(1 for i in range(per_decision) if 2 ** (i % 10) <= 100)
        assert row.total_seconds == pytest.approx(2 * sum(2 ** (i % 10) for i in range(per_decision)))


def test_a_completion_is_counted_by_the_sweep_not_by_its_request(api: Api, app, clock):
    _two_stock_checks(api, clock)
    db = app.extensions["orderflow.db"]
    stock = select(TaskStat).where(TaskStat.element_id == "check_stock")
    pending = select(func.count()).select_from(HumanTask).where(HumanTask.rollup_pending.is_(True))
    with db.session() as session:
        assert not session.scalars(stock).all()
        assert session.scalar(pending) == 2
    app.extensions["orderflow.scheduler"].sweep()
    with db.session() as session:
        assert session.scalar(pending) == 0
        rows = list(session.scalars(stock))
        assert sum(r.completed for r in rows) == 2 and {r.group_id for r in rows} == {"warehouse"}
        buckets = [0] * 40
        for r in rows:
            for i, n in enumerate(r.buckets):
                buckets[i] += n
        assert buckets[12] == 1 and buckets[14] == 1          # 7200 s and 18000 s
        assert sum(r.decisions.get("sufficient", 0) for r in rows) == 2


def test_histogram_buckets_and_quantiles():
    assert [analytics.bucket_of(s) for s in (0, 0.5, 1, 1.9, 2, 3, 4, 7200, 18000, 2.0 ** 60)] == \
        [0, 0, 0, 0, 1, 1, 2, 12, 14, 39]
    assert analytics.quantile([], 0.5) is None and analytics.quantile([0, 0], 0.5) is None
    one = [0] * 12 + [1]                                     # a single value in [4096, 8192)
    assert 4096 <= analytics.quantile(one, 0.5) <= 8192
    flat = [0, 0, 0, 0, 10]                                  # ten values in [16, 32): linear inside
    assert analytics.quantile(flat, 0.5) == pytest.approx(24)
    assert analytics.quantile(flat, 0.9) == pytest.approx(30.4)
    assert analytics.quantile([4, 0, 0, 0, 6], 0.5) == pytest.approx(16 + 16 * (1 / 6))


@skip_without_chromium
def test_the_charts_draw_in_a_browser_under_the_csp(live_server, page):
    app, base = live_server
    api = Api(app.test_client())
    api.complete("warehouse1", api.start_order()["open_tasks"][0]["id"])
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("#username", "manager1")
    page.fill("#password", "demo")
    page.click("#login")
    page.wait_for_url(f"{base}/inbox")
    page.click("#nav-analytics")
    page.wait_for_url(f"{base}/analytics")
    page.wait_for_function("() => document.getElementById('analytics-data').dataset.charts === '4'")
    for canvas in ("chart-cycle", "chart-sla-step", "chart-sla-group", "chart-weeks"):
        assert page.locator(f"#{canvas}").bounding_box()["height"] > 50, canvas
    assert page.locator("#table-cycle tr[data-step='check_stock'] .step-count").inner_text() == "1"
    assert not problems, problems


def test_the_page_opens_on_the_order_flow_and_all_processes_is_a_choice(api: Api, client, clock):
    clock.value = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    login(client, "manager1")
    html = client.get("/analytics").data.decode()
    assert '<option value="order_flow" selected>' in html and '<option value="all" >' in html
    every = client.get("/analytics?process=all").data.decode()
    assert '<option value="all" selected>' in every and "process=all" in every   # the CSV link keeps it
    assert _report(api, "process=all")["process"] is None
    assert _report(api, "process=")["process"] is None                # '' still means every process
    assert _report(api, "")["process"] == "order_flow"
