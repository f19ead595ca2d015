"""Timers, SLA escalation, deferred and failing service calls, incidents, runaway loops."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from orderflow.core.models import AuditEvent, Job, Notification
from orderflow.workflow import jobs
from tests.support import bpmn_samples as samples
from tests.support.helpers import Api, run_jobs, sqlite_plan


def deploy(api: Api, xml: str) -> None:
    resp = api.client.post("/api/v1/processes", data=xml.encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201, resp.json


def audit_count(app, instance_id: int, action: str) -> int:
    with app.extensions["orderflow.db"].session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.instance_id == instance_id, AuditEvent.action == action))


def start(api: Api, key: str, user: str = "admin", data: dict | None = None) -> dict:
    resp = api.post(user, f"/api/v1/processes/{key}/instances", {"data": data or {}})
    assert resp.status_code == 201, resp.json
    return resp.json


def instance(api: Api, instance_id: int) -> dict:
    return api.get("manager1", f"/api/v1/instances/{instance_id}").json


def test_an_intermediate_timer_fires_when_due_and_only_once(app, api, clock):
    deploy(api, samples.timer_process("PT30M"))
    started = start(api, "timed")
    assert instance(api, started["id"])["status"] == "running"
    assert run_jobs(app) == 0                      # not due yet
    clock.advance(minutes=29)
    run_jobs(app)
    assert instance(api, started["id"])["status"] == "running"
    clock.advance(minutes=2)
    assert run_jobs(app) == 1
    detail = instance(api, started["id"])
    assert detail["status"] == "completed" and detail["data"]["waited"] is True
    assert audit_count(app, started["id"], "timer_fired") == 1
    clock.advance(hours=1)
    assert run_jobs(app) == 0


def test_overdue_task_escalates_to_managers_and_reminds(app, api, clock):
    started = api.start_order()                    # check_stock (warehouse) has a 3 h limit
    clock.advance(hours=3, minutes=1)
    run_jobs(app)
    with app.extensions["orderflow.db"].session() as s:
        notes = s.scalars(select(Notification).where(Notification.username == "manager1")).all()
        assert [n.kind for n in notes] == ["sla_breached"]
        assert started["business_key"] in notes[0].subject
    # the service's own SLA job records the missed deadline, once (the order flow draws no boundary timer)
    assert audit_count(app, started["id"], "sla_breached") == 1
    assert audit_count(app, started["id"], "sla_escalated") == 1
    assert audit_count(app, started["id"], "timer_fired") == 0
    assert [t["element_id"] for t in api.open_tasks(started["id"])] == ["check_stock"]  # non-interrupting
    overdue = api.get("warehouse1", "/api/v1/tasks").json["items"][0]
    assert overdue["overdue"] is True
    clock.advance(hours=4, minutes=1)              # the reminder cadence (ORDERFLOW_REMINDER_INTERVAL)
    run_jobs(app)
    with app.extensions["orderflow.db"].session() as s:
        kinds = s.scalars(select(Notification.kind).where(Notification.username == "manager1")).all()
    assert sorted(kinds) == ["overdue_digest", "sla_breached"]
    assert audit_count(app, started["id"], "sla_breached") == 1       # a reminder is no second missed deadline
    assert audit_count(app, started["id"], "sla_escalated") == 2
    # once done, no more reminders
    assert api.complete("warehouse1", overdue["id"]).status_code == 200
    clock.advance(hours=5)
    run_jobs(app)
    with app.extensions["orderflow.db"].session() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(
            Notification.username == "manager1", Notification.kind == "overdue_digest")) == 1


def test_asynchronous_call_runs_after_the_commit(app, api, clock, flaky):
    deploy(api, samples.service_then_task("bank_transfer", '<spiffworkflow:property name="async" value="true"/>'))
    started = start(api, "calling", "sales1")
    assert started["open_tasks"] == [] and flaky["calls"] == 0
    run_jobs(app)
    detail = instance(api, started["id"])
    assert detail["data"]["result"] == {"status": "paid"}
    assert [t["element_id"] for t in detail["open_tasks"]] == ["review"]


def test_retries_then_incident_then_manual_retry(app, api, clock, flaky):
    flaky["fail_times"] = 3
    deploy(api, samples.service_then_task(
        "bank_transfer", '<spiffworkflow:property name="async" value="true"/>'
                         '<spiffworkflow:property name="retry" value="PT10S,PT1M"/>'))
    started = start(api, "calling", "sales1")
    run_jobs(app)                                   # attempt 1 fails, next in 10 s
    assert flaky["calls"] == 1 and instance(api, started["id"])["status"] == "running"
    clock.advance(seconds=11)
    run_jobs(app)                                   # attempt 2 fails, next in 1 min
    clock.advance(seconds=30)
    assert run_jobs(app) == 0
    clock.advance(seconds=31)
    run_jobs(app)                                   # attempt 3 fails: retries spent
    detail = instance(api, started["id"])
    assert detail["status"] == "error"
    [incident] = detail["incidents"]
    assert incident["attempts"] == 3 and "bank unreachable" in incident["message"]
    assert "ConnectionError" in incident["traceback"]
    assert api.get("manager1", "/api/v1/incidents").json["items"][0]["id"] == incident["id"]
    assert api.get("sales1", "/api/v1/incidents").status_code == 403
    assert len(set(flaky["keys"])) == 1             # one idempotency key for every attempt

    assert api.post("sales1", f"/api/v1/incidents/{incident['id']}/retry").status_code == 403
    assert api.post("manager1", f"/api/v1/incidents/{incident['id']}/retry").status_code == 200
    run_jobs(app)                                   # attempt 4 succeeds
    detail = instance(api, started["id"])
    assert detail["status"] == "running" and detail["incidents"] == []
    assert detail["data"]["result"] == {"status": "paid"}
    assert api.post("manager1", f"/api/v1/incidents/{incident['id']}/retry").status_code == 409


def test_a_failing_synchronous_call_is_an_incident_not_an_error_page(app, api, clock, flaky):
    flaky["fail_times"] = 1
    deploy(api, samples.service_then_task("bank_transfer"))
    started = start(api, "calling", "sales1")      # the user's submission is accepted
    detail = instance(api, started["id"])
    assert detail["status"] == "error" and len(detail["incidents"]) == 1
    incident = detail["incidents"][0]
    resp = api.post("manager1", f"/api/v1/incidents/{incident['id']}/complete", {"data": {"status": "by hand"}})
    assert resp.status_code == 200, resp.json
    detail = instance(api, started["id"])
    assert detail["status"] == "running" and detail["data"]["result"] == {"status": "by hand"}
    assert [t["element_id"] for t in detail["open_tasks"]] == ["review"]
    events = api.get("manager1", f"/api/v1/instances/{started['id']}/audit").json["items"]
    assert any(e["action"] == "incident_completed_by_hand" and e["actor"] == "manager1" for e in events)


def test_a_loop_without_wait_becomes_an_incident(app, api):
    app.config["ORDERFLOW_MAX_ENGINE_STEPS"] = 200
    app.extensions["orderflow.platform"].runtime.max_steps = 200
    deploy(api, samples.LOOP_FOREVER)
    started = start(api, "looping")
    detail = instance(api, started["id"])
    assert detail["status"] == "error"
    assert "200 steps" in detail["incidents"][0]["message"]
    assert api.get("manager1", "/healthz").status_code == 200
    assert api.post("manager1", f"/api/v1/incidents/{detail['incidents'][0]['id']}/retry").status_code == 200
    run_jobs(app)                                   # it loops again: a new incident, the server still serves
    assert len(instance(api, started["id"])["incidents"]) == 1
    assert api.post("manager1", f"/api/v1/instances/{started['id']}/terminate").json["status"] == "terminated"


def test_claimed_jobs_are_not_claimed_twice(app, api, clock):
    deploy(api, samples.timer_process("PT1S"))
    for _ in range(5):
        start(api, "timed")
    clock.advance(seconds=2)
    db = app.extensions["orderflow.db"]
    with db.session() as a:
        first = jobs.claim(a, "worker-a", 3)
    with db.session() as b:
        second = jobs.claim(b, "worker-b", 10)
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    clock.advance(minutes=2)                       # worker-a died: its lease expires
    with db.session() as c:
        third = jobs.claim(c, "worker-c", 10)
    assert sorted(third) == sorted(first + second)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.lock_owner == "worker-c")) == 5


def test_a_manager_retries_an_incident_from_the_order_page(app, api, clock, flaky):
    from tests.support.helpers import login
    flaky["fail_times"] = 1
    deploy(api, samples.service_then_task("bank_transfer"))
    started = start(api, "calling", "sales1")
    incident = instance(api, started["id"])["incidents"][0]
    client = app.test_client()
    token = login(client, "manager1")
    page = client.get(f"/orders/{started['id']}").data.decode()
    assert 'id="incidents"' in page and "bank unreachable" in page
    resp = client.post(f"/incidents/{incident['id']}/retry", data={"csrf_token": token})
    assert resp.status_code == 302
    run_jobs(app)
    detail = instance(api, started["id"])
    assert detail["status"] == "running" and detail["data"]["result"] == {"status": "paid"}
    assert 'id="incidents"' not in client.get(f"/orders/{started['id']}").data.decode()
    other = app.test_client()
    token = login(other, "sales1")
    assert other.post(f"/incidents/{incident['id']}/retry", data={"csrf_token": token}).status_code == 403


TIMER_START = samples.process('''
  <bpmn:startEvent id="daily" name="Every day"><bpmn:outgoing>f1</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT24H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
  <bpmn:scriptTask id="report" name="Report"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:script>reported = True</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="daily" targetRef="report"/>
  <bpmn:sequenceFlow id="f2" sourceRef="report" targetRef="end"/>''', "daily_report")


def test_a_timer_start_event_runs_on_its_cycle_and_a_new_version_replaces_it(app, api, clock):
    deploy(api, TIMER_START)
    [waiting] = api.get("manager1", "/api/v1/instances?process=daily_report").json["items"]
    assert waiting["status"] == "running" and waiting["started_by"] == "scheduler"
    for day in range(3):
        clock.advance(hours=24, seconds=1)
        run_jobs(app)
        assert audit_count(app, waiting["id"], "timer_fired") == day + 1
    assert instance(api, waiting["id"])["status"] == "completed"   # R3: three reports, then done
    deploy(api, TIMER_START.replace("R3/PT24H", "R5/PT12H"))
    deploy(api, TIMER_START.replace("R3/PT24H", "R5/PT6H"))       # version 3 retires version 2's waiting one
    items = api.get("manager1", "/api/v1/instances?process=daily_report").json["items"]
    assert [(i["version"], i["status"]) for i in items] == [(3, "running"), (2, "terminated"), (1, "completed")]


def test_an_incident_reads_in_the_readers_language_and_one_stored_before_in_its_english(app, api):
    from orderflow.core.models import Incident
    from tests.support.helpers import login
    app.config["ORDERFLOW_MAX_ENGINE_STEPS"] = 200
    app.extensions["orderflow.platform"].runtime.max_steps = 200
    deploy(api, samples.LOOP_FOREVER)
    started = start(api, "looping")

    def message(language: str) -> str:
        resp = api.client.get(f"/api/v1/instances/{started['id']}",
                              headers={**api.auth("manager1"), "Accept-Language": language})
        return resp.json["incidents"][0]["message"]
    english, chinese = message("en"), message("zh-CN")
    assert english.startswith("The process ran 200 steps without waiting for anyone")
    assert chinese.startswith("流程连续运行了 200 步") and "looping" not in chinese
    client = app.test_client()
    login(client, "manager1")
    page = client.get(f"/orders/{started['id']}", headers={"Accept-Language": "zh-CN"}).data.decode()
    card = page[page.index('id="incidents"'):page.index("</section>", page.index('id="incidents"'))]
    assert "流程连续运行了 200 步" in card and "The process ran" not in card  # (the audit record keeps its English)
    with app.extensions["orderflow.db"].session() as s:   # as an incident opened before message_data
        incident = s.scalars(select(Incident).where(Incident.instance_id == started["id"])).one()
        assert incident.message == english   # the English text stays beside the key and parameters
        incident.message_data = None
        s.commit()
    assert message("zh-CN") == english


def test_a_claim_takes_lapsed_jobs_then_due_ones_in_due_order_without_sorting_every_due_job(tmp_path):
    """A worker's claim reads along the jobs' index (status, due_at): a crashed worker's jobs whose
    lease ran out first, then pending ones in due order. With thousands of timers due at once, the
    single search with an OR it replaced collected every due job and sorted them at every claim."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import Session

    from orderflow.core.models import Base, Job
    from orderflow.core.platform import Platform
    from orderflow.workflow import jobs

    now = datetime(2030, 1, 1, tzinfo=UTC)
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        made = {name: Job(kind="timer", due_at=now + timedelta(minutes=minutes), status=status,
                          lock_expires_at=None if lease is None else now + timedelta(minutes=lease))
                for name, minutes, status, lease in (("later", -1, "pending", None), ("first", -9, "pending", None),
                                                     ("not due", 5, "pending", None), ("lapsed", -2, "running", -1),
                                                     ("leased", -30, "running", 1), ("third", -1, "pending", None))}
        made["third"].due_at = now - timedelta(seconds=30)
        session.add_all(made.values())
        session.commit()
        ids = {job.id: name for name, job in made.items()}
    searches: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: searches.append(statement) if statement.startswith("SELECT") else None)
    with Session(engine) as session:
        session.info["platform"] = Platform(config={}, handlers={}, forms_dir=tmp_path, clock=lambda: now)
        claimed = jobs.claim(session, "worker-1", limit=3)
    assert [ids[i] for i in claimed] == ["lapsed", "first", "later"]
    with engine.connect() as conn:
        for statement in searches:
            plan = sqlite_plan(conn, statement)
            assert "TEMP B-TREE" not in plan, (statement, plan)


def _timer_jobs(app, instance_id: int) -> list[tuple[str, object]]:
    with app.extensions["orderflow.db"].session() as s:
        return [(job.status, job.due_at) for job in s.scalars(
            select(Job).where(Job.instance_id == instance_id, Job.kind == "timer").order_by(Job.id))]


def test_a_timer_job_that_loses_the_race_leaves_its_order_one_pending_timer_job(app, api, clock):
    """While a timer job runs, someone else stores its order (a message, a migration): that store
    finds no pending timer job, as this one is running, and makes a new one. The job that lost the
    race then ends instead of going back to pending: the order has one pending timer job, which
    fires once."""
    from orderflow.core.models import Instance
    from orderflow.workflow import runs

    deploy(api, samples.timer_process("PT30M"))
    started = start(api, "timed")
    clock.advance(minutes=31)
    db = app.extensions["orderflow.db"]
    runtime = app.extensions["orderflow.platform"].runtime
    fire = runtime.fire_timers

    def someone_else_stores_first(workflow):
        runtime.fire_timers = fire                      # once
        with db.session() as other:
            order = other.get(Instance, started["id"])
            pdef, theirs = runs.load(other, order, None)
            runs.store_workflow(other, order, pdef, theirs)
            other.commit()
        return fire(workflow)

    runtime.fire_timers = someone_else_stores_first
    assert run_jobs(app) == 1
    assert [status for status, _ in _timer_jobs(app, started["id"])] == ["done", "pending"]
    assert instance(api, started["id"])["status"] == "running"
    assert run_jobs(app) == 1                               # the other store's timer job fires it
    assert instance(api, started["id"])["status"] == "completed"
    assert audit_count(app, started["id"], "timer_fired") == 1
    assert [status for status, _ in _timer_jobs(app, started["id"])] == ["done", "done"]


def test_a_timer_job_reads_its_orders_other_pending_timer_job_with_itself(app, api, clock):
    """An order that has a second pending timer job (as a store made one while this job ran, before
    the rule above) still ends with none once its timer fired: the job reads the other one with
    itself and the store closes it."""
    deploy(api, samples.timer_process("PT30M"))
    started = start(api, "timed")
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        (first,) = s.scalars(select(Job).where(Job.instance_id == started["id"], Job.kind == "timer"))
        jobs.enqueue(s, "timer", first.due_at + timedelta(hours=5), started["id"])
        s.commit()
    clock.advance(minutes=31)
    assert run_jobs(app) == 1
    assert instance(api, started["id"])["status"] == "completed"
    assert [status for status, _ in _timer_jobs(app, started["id"])] == ["done", "done"]
