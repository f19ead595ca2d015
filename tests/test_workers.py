"""Several processes on one database, and the in-process scheduler in real time."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from orderflow import create_app
from orderflow.core.models import AuditEvent, Instance
from tests.support import bpmn_samples as samples
from tests.support.helpers import Api
from tests.support.servers import PATIENCE

pytestmark = pytest.mark.multiprocess

ROOT = Path(__file__).resolve().parent.parent


def _app(url: str, **config):
    """An app on a seeded database (``seeded_url``: a copy of the session's template)."""
    return create_app({"SECRET_KEY": "w", "ORDERFLOW_DATABASE_URL": url, **config})


def _deploy_and_start(app, count: int, duration: str) -> list[int]:
    api = Api(app.test_client())
    resp = api.client.post("/api/v1/processes", data=samples.timer_process(duration).encode(),
                           headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert resp.status_code == 201
    return [api.post("admin", "/api/v1/processes/timed/instances", {"data": {}}).json["id"] for _ in range(count)]


def _wait_until(predicate, seconds: float = PATIENCE) -> bool:
    """Wait on an event; the bound only ends a hang (it never decides a pass on a loaded machine)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_two_worker_processes_fire_each_timer_once(tmp_path: Path, seeded_url: str):
    app = _app(seeded_url, TESTING=True)
    ids = _deploy_and_start(app, 120, "PT1S")
    env = {**os.environ, "ORDERFLOW_DATABASE_URL": seeded_url,
           "ORDERFLOW_INSTANCE_PATH": str(tmp_path / "instance"), "ORDERFLOW_SECRET_KEY": "w", "FLASK_APP": "app"}
    flask = str(Path(sys.executable).parent / "flask")
    workers = [subprocess.Popen([flask, "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT) for _ in range(2)]
    db = app.extensions["orderflow.db"]

    def all_done() -> bool:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(Instance).where(Instance.status == "completed")) == len(ids)
    try:
        assert _wait_until(all_done), "the workers did not finish the timers"
    finally:
        for w in workers:
            w.terminate()
        outputs = [w.communicate(timeout=PATIENCE)[0].decode() for w in workers]
    with db.session() as s:
        fired = dict(s.execute(select(AuditEvent.instance_id, func.count()).where(
            AuditEvent.action == "timer_fired").group_by(AuditEvent.instance_id)).all())
    assert fired == dict.fromkeys(ids, 1), outputs
    assert all("Traceback" not in out for out in outputs), outputs


def test_the_in_process_scheduler_fires_a_timer_on_its_own(seeded_url: str):
    # a day between sweeps: only scheduling at the timer's due time (the wake-up on commit, or the
    # sweep sleeping until the next due job) fires it, however slow the machine
    app = _app(seeded_url, ORDERFLOW_SCHEDULER="on", ORDERFLOW_SWEEP_SECONDS=24 * 3600)
    scheduler = app.extensions["orderflow.scheduler"]
    scheduler.start()                                # the app fixture is TESTING; start it by hand
    try:
        [instance_id] = _deploy_and_start(app, 1, "PT1S")
        db = app.extensions["orderflow.db"]

        def done() -> bool:
            with db.session() as s:
                return s.get(Instance, instance_id).status == "completed"
        assert _wait_until(done)
    finally:
        scheduler.shutdown()


def test_the_scheduler_sweeps_on_while_the_interpreter_closes_its_thread_pools(seeded_url: str, monkeypatch, caplog):
    """A gunicorn worker stopping on SIGTERM closes concurrent.futures' pools before its daemon
    threads end; a sweep falling due then was refused with "cannot schedule new futures after
    shutdown" and a traceback in the log. The sweep has a thread of its own and still runs."""
    import concurrent.futures.thread
    import threading

    app = _app(seeded_url, TESTING=True, ORDERFLOW_SCHEDULER="on", ORDERFLOW_SWEEP_SECONDS=24 * 3600)
    scheduler = app.extensions["orderflow.scheduler"]   # not started: TESTING
    swept = [threading.Event(), threading.Event()]
    real_tick = scheduler._tick

    def tick() -> None:   # a sweep, then the next one scheduled
        real_tick()
        next(e for e in swept if not e.is_set()).set()
    monkeypatch.setattr(scheduler, "_tick", tick)
    scheduler.start()   # the first sweep runs at once, then it sleeps for a day
    try:
        assert swept[0].wait(PATIENCE)
        monkeypatch.setattr(concurrent.futures.thread, "_shutdown", True)   # as at interpreter exit
        scheduler.wake(scheduler.now())
        assert swept[1].wait(PATIENCE)
    finally:
        scheduler.shutdown()
    assert "Error submitting job" not in caplog.text


def test_stopping_the_scheduler_waits_for_the_sweep_under_way(seeded_url: str, monkeypatch):
    """Whoever stops the scheduler (a test before dropping its database, a worker exiting) goes on only
    once a sweep under way has finished and scheduled its successor; a sweep cut off mid-way had its
    session closed under it (IllegalStateChangeError) when the database was dropped."""
    import threading

    app = _app(seeded_url, TESTING=True, ORDERFLOW_SCHEDULER="on", ORDERFLOW_SWEEP_SECONDS=24 * 3600)
    scheduler = app.extensions["orderflow.scheduler"]   # not started: TESTING
    entered, release = threading.Event(), threading.Event()
    order: list[str] = []

    def sweep() -> int:
        entered.set()
        assert release.wait(PATIENCE)
        order.append("sweep finished")
        return 0
    monkeypatch.setattr(scheduler, "sweep", sweep)
    scheduler.start()   # the first sweep runs at once
    assert entered.wait(PATIENCE)
    stopping = threading.Thread(target=lambda: (scheduler.shutdown(), order.append("shutdown returned")))
    stopping.start()
    stopping.join(0.5)   # time for a shutdown that does not wait to return (a pass never depends on it)
    release.set()
    stopping.join(PATIENCE)
    assert order == ["sweep finished", "shutdown returned"]
