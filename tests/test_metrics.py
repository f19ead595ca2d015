"""What operations see (issue 16, item 6): /metrics in Prometheus text format, read back with
prometheus_client's own parser. Completing steps moves the counters and the step histogram by exactly
the steps completed; a due job shows in the queue's depth and lag and its lateness when it runs (on the
FakeClock); the live-workflow cache's hits move on the next step; open incidents are counted; only
administrators, the integration group and the scrape token read it; labels name endpoints, never paths.
Structured logs: one JSON object per line."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from handlers import REGISTRY
from orderflow.access import accounts
from orderflow.core import logs
from orderflow.core.models import HumanTask, Mail
from orderflow.workflow import tasks
from tests.support import bpmn_samples as samples
from tests.support import servers
from tests.support.customer_links import CUSTOMER_LANE, FACTS, post_answer
from tests.support.helpers import NEW_ORDER, Api, login, run_jobs

TOKEN = "scrape-9f2c1d"

TWO_STEPS = samples.process('''
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="first" name="First"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:userTask id="second" name="Second"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
  <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second"/>
  <bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="end"/>''', "two_steps")


class Samples(dict):
    """(sample name, labels) -> value, from one scrape."""

    def get_value(self, name: str, **labels: str) -> float:
        return self.get((name, frozenset(labels.items())), 0.0)

    def with_name(self, name: str) -> dict[frozenset, float]:
        return {labels: value for (n, labels), value in self.items() if n == name}


def parse(text: str) -> Samples:
    found = Samples()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def scrape(client, user: str = "admin") -> Samples:
    resp = client.get("/metrics", headers=Api.auth(user))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return parse(resp.get_data(as_text=True))


def deploy(api: Api, xml: str) -> None:
    resp = api.client.post("/api/v1/processes", data=xml.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json


def open_task(app, instance_id: int, element_id: str) -> int:
    with app.extensions["orderflow.db"].session() as session:
        return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                         HumanTask.element_id == element_id,
                                                         HumanTask.status == "ready"))


def start_two_steps(api: Api) -> int:
    resp = api.post("admin", "/api/v1/processes/two_steps/instances", {"data": {}})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def test_the_exposition_is_prometheus_text(client):
    resp = client.get("/metrics", headers=Api.auth("admin"))
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert resp.headers["Cache-Control"] == "no-store"
    names = {family.name for family in text_string_to_metric_families(resp.get_data(as_text=True))}
    assert {"orderflow_task_completions", "orderflow_engine_step_seconds", "orderflow_instances_started",
            "orderflow_job_queue_depth", "orderflow_job_oldest_due_lag_seconds", "orderflow_timer_lateness_seconds",
            "orderflow_incidents_open", "orderflow_workflow_cache_hits", "orderflow_workflow_cache_entries",
            "orderflow_http_requests", "orderflow_http_request_seconds"} <= names


def test_completed_steps_move_the_counters_and_the_histogram_exactly(app, client, api):
    deploy(api, TWO_STEPS)
    before = scrape(client)
    instance = start_two_steps(api)
    for element in ("first", "second"):  # by an API client
        assert api.post("owner1", f"/api/v1/tasks/{open_task(app, instance, element)}/complete",
                        {"data": {}}).status_code == 200
    browser = app.test_client()  # and by a person, in the task's page
    csrf = login(browser, "owner1")
    other = start_two_steps(api)
    resp = browser.post(f"/tasks/{open_task(app, other, 'first')}", data={"csrf_token": csrf})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    refused = api.post("owner1", f"/api/v1/tasks/{open_task(app, other, 'second')}/complete", {"data": []})
    assert refused.status_code == 422  # refused before the engine ran: counts nothing
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return after.get_value(name, **labels) - before.get_value(name, **labels)

    assert moved("orderflow_task_completions_total", process="two_steps", how="api") == 2
    assert moved("orderflow_task_completions_total", process="two_steps", how="person") == 1
    assert moved("orderflow_engine_step_seconds_count", process="two_steps") == 3
    assert moved("orderflow_engine_step_seconds_bucket", process="two_steps", le="+Inf") == 3
    assert moved("orderflow_engine_step_seconds_sum", process="two_steps") > 0
    assert moved("orderflow_instances_started_total", process="two_steps") == 2
    assert moved("orderflow_instances_completed_total", process="two_steps") == 1


def test_the_customers_own_steps_are_counted_as_theirs_or_for_them(app, client, api):
    deploy(api, CUSTOMER_LANE)
    before = scrape(client)
    by_link = api.post("admin", "/api/v1/processes/receipt_only/instances", {"data": FACTS}).json["id"]
    with app.extensions["orderflow.db"].session() as session:
        mail = session.scalars(select(Mail).where(Mail.to == FACTS["customer_email"]).order_by(Mail.id.desc())).first()
        path = re.search(r"http://[^/]+(/c/\S+)", mail.body).group(1)
    assert post_answer(app.test_client(), path).status_code == 200
    twice = api.post("admin", "/api/v1/processes/receipt_only/instances", {"data": FACTS})
    assert twice.status_code == 409  # the same order number: rolled back at the commit, so not counted
    for_them = api.post("admin", "/api/v1/processes/receipt_only/instances",
                        {"data": {**FACTS, "order_no": "SO-TEST-2"}}).json["id"]
    assert api.complete("sales1", open_task(app, for_them, "confirm_receipt"), "confirm").status_code == 200
    after = scrape(client)
    for how in ("customer_link", "on_behalf"):
        assert after.get_value("orderflow_task_completions_total", process="receipt_only", how=how) \
            - before.get_value("orderflow_task_completions_total", process="receipt_only", how=how) == 1, how
    assert open_task(app, by_link, "confirm_receipt") is None
    assert after.get_value("orderflow_instances_started_total", process="receipt_only") \
        - before.get_value("orderflow_instances_started_total", process="receipt_only") == 2


def test_a_rolled_back_step_counts_nothing(app, client, api):
    deploy(api, TWO_STEPS)
    instance = start_two_steps(api)
    task_id = open_task(app, instance, "first")
    before = scrape(client)
    db = app.extensions["orderflow.db"]
    with db.session() as session:
        tasks.complete(session, accounts.by_username(session, "owner1"), task_id, {})
        session.rollback()
    assert scrape(client).get_value("orderflow_task_completions_total", process="two_steps", how="person") \
        == before.get_value("orderflow_task_completions_total", process="two_steps", how="person")


def test_a_due_job_shows_in_depth_and_lag_and_its_lateness_when_it_runs(app, client, api, clock):
    run_jobs(app)  # whatever the seeded database has due
    deploy(api, samples.timer_process("PT1H", pid="metered"))
    resp = api.post("admin", "/api/v1/processes/metered/instances", {"data": {}})
    assert resp.status_code == 201, resp.json
    waiting = scrape(client)
    assert waiting.get_value("orderflow_job_queue_depth", kind="timer") == 0
    assert waiting.get_value("orderflow_job_oldest_due_lag_seconds", kind="timer") == 0
    assert waiting.get_value("orderflow_jobs_scheduled", kind="timer") >= 1
    clock.advance(hours=1, minutes=30)
    due = scrape(client)
    assert due.get_value("orderflow_job_queue_depth", kind="timer") == 1
    # due one hour (and the engine's 1 ms margin) after the start; now is 90 minutes after it
    assert due.get_value("orderflow_job_oldest_due_lag_seconds", kind="timer") == pytest.approx(1799.999)
    assert run_jobs(app) == 1
    ran = scrape(client)
    assert ran.get_value("orderflow_job_queue_depth", kind="timer") == 0
    assert ran.get_value("orderflow_job_oldest_due_lag_seconds", kind="timer") == 0
    assert ran.get_value("orderflow_timer_lateness_seconds_count", kind="timer") \
        - due.get_value("orderflow_timer_lateness_seconds_count", kind="timer") == 1
    assert ran.get_value("orderflow_timer_lateness_seconds_sum", kind="timer") \
        - due.get_value("orderflow_timer_lateness_seconds_sum", kind="timer") == pytest.approx(1799.999)
    assert ran.get_value("orderflow_instances_completed_total", process="metered") \
        - due.get_value("orderflow_instances_completed_total", process="metered") == 1


def test_the_cache_hit_counter_moves_on_the_next_step(app, client, api):
    deploy(api, TWO_STEPS)
    instance = start_two_steps(api)  # stored, and kept
    live = app.extensions["orderflow.platform"].runtime.live
    before = scrape(client)
    assert before.get_value("orderflow_workflow_cache_hits_total") == live.stats.hits
    assert api.post("owner1", f"/api/v1/tasks/{open_task(app, instance, 'first')}/complete",
                    {"data": {}}).status_code == 200
    after = scrape(client)
    assert after.get_value("orderflow_workflow_cache_hits_total") - before.get_value("orderflow_workflow_cache_hits_total") == 1
    assert after.get_value("orderflow_workflow_cache_misses_total") == live.stats.misses
    assert after.get_value("orderflow_workflow_cache_entries") == len(live) >= 1
    assert after.get_value("orderflow_workflow_cache_bytes") == live.bytes > 0


def test_open_incidents_are_counted(client, api, monkeypatch):
    def always_fails(ctx):
        """Fails, for incidents."""
        raise ConnectionError("unreachable")
    monkeypatch.setitem(REGISTRY, "always_fails", always_fails)
    deploy(api, samples.service_then_task("always_fails"))
    before = scrape(client).get_value("orderflow_incidents_open")
    assert api.post("admin", "/api/v1/processes/calling/instances", {"data": {}}).status_code == 201
    assert scrape(client).get_value("orderflow_incidents_open") == before + 1


def test_only_administrators_integrations_and_the_scrape_token_read_it(app, client):
    app.config["ORDERFLOW_METRICS_TOKEN"] = TOKEN
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.json["error"]["code"] == "not_authenticated"
    staff = client.get("/metrics", headers=Api.auth("sales1"))
    assert staff.status_code == 403 and staff.json["error"]["code"] == "forbidden"
    assert client.get("/metrics", headers=Api.auth("manager1")).status_code == 403
    assert client.get("/metrics", headers=Api.auth("admin")).status_code == 200
    assert client.get("/metrics", headers=Api.auth("bank1")).status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "not_authenticated"
    app.config["ORDERFLOW_METRICS_TOKEN"] = ""  # no token set: presenting an empty one opens nothing
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_labels_name_endpoints_never_paths(client):
    before = scrape(client)
    for path in ("/orders/123", "/orders/456", "/no/such/page/789"):
        client.get(path, headers=Api.auth("manager1"))
    after = scrape(client)
    endpoints = {dict(labels)["endpoint"] for labels in after.with_name("orderflow_http_requests_total")}
    assert not [name for name in endpoints if "/" in name or any(ch.isdigit() for ch in name)], endpoints
    assert after.get_value("orderflow_http_requests_total", endpoint="pages.order", method="GET", status="4xx") \
        - before.get_value("orderflow_http_requests_total", endpoint="pages.order", method="GET", status="4xx") == 2
    assert after.get_value("orderflow_http_requests_total", endpoint="unmatched", method="GET", status="4xx") \
        - before.get_value("orderflow_http_requests_total", endpoint="unmatched", method="GET", status="4xx") == 1
    client.open("/orders/1", method="BREW", headers=Api.auth("manager1"))  # a made-up method: one "other"
    methods = {dict(labels)["method"] for labels in scrape(client).with_name("orderflow_http_requests_total")}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}


@pytest.fixture
def json_logs():
    """The root logger's handlers write JSON for one test (a StringIO among them), then as before."""
    root = logging.getLogger()
    out = io.StringIO()
    ours = logging.StreamHandler(out)
    root.addHandler(ours)
    kept = {handler: handler.formatter for handler in root.handlers}
    logs.configure("json")
    yield out
    root.removeHandler(ours)
    for handler, formatter in kept.items():
        handler.setFormatter(formatter)


def test_json_logs_are_one_object_per_line(app, client, json_logs):
    def broken():
        raise RuntimeError("the disk is on fire")
    app.view_functions["healthz"] = broken
    resp = client.get("/healthz", headers={"X-Request-ID": "req-42"})
    assert resp.status_code == 500 and resp.headers["X-Request-ID"] == "req-42"
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    line = next(entry for entry in lines if entry["message"] == "unexpected error")
    assert line["level"] == "ERROR" and line["logger"] == "orderflow.web.errors"
    assert line["request_id"] == "req-42"
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    assert "RuntimeError: the disk is on fire" in line["exception"]
    logging.getLogger("orderflow.test").warning("outside a request")
    last = json.loads(json_logs.getvalue().splitlines()[-1])
    assert last["message"] == "outside a request" and "request_id" not in last and "exception" not in last


def test_a_request_id_is_made_when_none_or_a_strange_one_is_sent(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "x" * 65}).headers["X-Request-ID"] != "x" * 65
    assert client.get("/healthz", headers={"X-Request-ID": "a\"b"}).headers["X-Request-ID"] != "a\"b"


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="ORDERFLOW_LOG_FORMAT"):
        logs.configure("xml")


def test_several_gunicorn_workers_add_up(seeded_url: str, tmp_path: Path):
    """A real gunicorn node with two workers in multiprocess mode: the requests every worker served
    are in one scrape, whichever worker answers it; the database's gauges appear once."""
    folder = tmp_path / "multiproc"
    folder.mkdir()
    node = servers.Node(seeded_url, tmp_path, scheduler=False, workers=2, threads=4)
    node.env.update(PROMETHEUS_MULTIPROC_DIR=str(folder), ORDERFLOW_METRICS_TOKEN=TOKEN)
    node.start()

    def read() -> str:
        req = urllib.request.Request(node.base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=servers.PATIENCE) as response:
            return response.read().decode()
    try:
        before = parse(read()).get_value("orderflow_http_requests_total", endpoint="healthz", method="GET",
                                         status="2xx")  # the node's own start-up check
        def hit() -> None:
            for _ in range(10):
                assert servers.request("GET", node.base + "/healthz")[0] == 200
        clients = [threading.Thread(target=hit) for _ in range(4)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        status, body = servers.request("POST", node.base + "/api/v1/processes/order_flow/instances",
                                       {"data": NEW_ORDER}, user="sales1")
        assert status == 201, body
        text = read()
        found = parse(text)
        assert found.get_value("orderflow_instances_started_total", process="order_flow") == 1
        assert found.get_value("orderflow_workflow_cache_entries") >= 1, "the storing worker's cache, published"
        assert ("orderflow_workflow_cache_misses_total", frozenset()) in found
        assert found.get_value("orderflow_http_requests_total", endpoint="healthz", method="GET", status="2xx") \
            - before == 40
        families = [family.name for family in text_string_to_metric_families(text)]
        assert families.count("orderflow_incidents_open") == 1
        assert any(name.startswith("counter_") for name in os.listdir(folder)), "the workers write their files"
    finally:
        node.stop()
