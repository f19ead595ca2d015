"""APScheduler wiring. The scheduler holds no work itself: it only decides *when* to sweep
the jobs table (jobs.py); the rows decide *what* runs, so any number of app nodes and
``flask worker`` processes can share one database.

A sweep runs what is due, delivers queued mail, then sleeps until the next due job (at most
``ORDERFLOW_SWEEP_SECONDS``). A commit that creates a job due sooner wakes it early.
"""
from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.schedulers.background import BackgroundScheduler

from orderflow.core import metrics
from orderflow.core.db import Database
from orderflow.workflow import job_kinds, jobs, notify  # noqa: F401  (job_kinds registers the runners)

log = logging.getLogger(__name__)


class SweepThread(BaseExecutor):
    """APScheduler's executor as one thread of its own fed by a queue. Not a concurrent.futures pool:
    those refuse work once the interpreter begins to exit, so a worker process stopping (gunicorn on
    SIGTERM) while a sweep fell due logged "cannot schedule new futures after shutdown" with a
    traceback. A queue always takes the sweep; the daemon thread ends with the process."""

    def start(self, scheduler, alias) -> None:
        super().start(scheduler, alias)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="orderflow-sweep", daemon=True)
        self._thread.start()

    def shutdown(self, wait: bool = True) -> None:
        self._queue.put(None)   # the thread ends after the sweep under way, if any

    def join(self) -> None:
        """Until a sweep under way has finished (never from the sweep itself)."""
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _do_submit_job(self, job, run_times) -> None:
        self._queue.put((job, run_times))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            job, run_times = item
            try:
                events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
            except BaseException:
                self._run_job_error(job.id, *sys.exc_info()[1:])
            else:
                self._run_job_success(job.id, events)


class Scheduler:
    def __init__(self, db: Database, config: Mapping[str, Any]) -> None:
        self.db = db
        self.config = config
        self.owner = jobs.worker_id()
        self.interval = float(config.get("ORDERFLOW_SWEEP_SECONDS", 1.0))
        self.batch = int(config.get("ORDERFLOW_JOB_BATCH", 50))
        self._aps: BackgroundScheduler | None = None
        self._sweeper = SweepThread()   # its thread is made anew at each start
        self._lock = threading.Lock()
        self._next: datetime | None = None

    def now(self) -> datetime:
        return self.db.platform.clock()

    def sweep(self) -> int:
        """Run everything due now; returns how many jobs ran. Safe to call from any thread."""
        ran = 0
        try:
            while True:
                count = jobs.run_due(self.db, self.owner, self.batch)
                ran += count
                if count < self.batch:
                    break
            with self.db.session() as session:
                notify.deliver_mail(session, self.config)
                session.commit()
            roll_up = self.db.platform.hooks.roll_up
            if roll_up is not None:   # the business's counting of completed steps (analytics)
                with self.db.session() as session:
                    roll_up(session)
                    session.commit()
        except Exception:  # the database may be briefly unavailable: try again next sweep
            log.exception("sweep failed")
        metrics.publish_cache(self.db.platform.runtime.live)  # several workers: this one's cache numbers
        return ran

    def next_sweep_at(self) -> datetime:
        limit = self.now() + timedelta(seconds=self.interval)
        try:
            with self.db.session() as session:
                due = jobs.next_due_at(session)
        except Exception:
            log.exception("could not read the next due job")
            due = None
        return min(due, limit) if due is not None else limit

    # -- in-process (BackgroundScheduler) -------------------------------------------------

    def start(self) -> None:
        if self._aps is not None:
            return
        self._aps = BackgroundScheduler(timezone=UTC, executors={"default": self._sweeper})
        self._aps.start()
        self.db.platform.wake = self.wake
        self._schedule(self.now())  # after a restart, whatever fell due runs at once

    def shutdown(self, wait: bool = True) -> None:
        """Stop sweeping. ``wait``: a sweep under way finishes first (its session lets go of its
        connection) before the caller goes on, e.g. to drop the database. Waited for here, outside
        APScheduler's locks: the sweep's last act, scheduling the next one, takes them."""
        aps, self._aps = self._aps, None   # the sweep under way schedules no other
        self.db.platform.wake = None
        if aps is not None:
            aps.shutdown(wait=False)
            if wait:
                self._sweeper.join()

    def _tick(self) -> None:
        self.sweep()
        self._schedule(self.next_sweep_at())

    def _schedule(self, at: datetime) -> None:
        aps = self._aps
        if aps is None:
            return
        with self._lock:
            self._next = at
            # real time for APScheduler, whatever clock the platform uses
            delay = max((at - self.now()).total_seconds(), 0)
            aps.add_job(self._tick, "date", run_date=datetime.now(UTC) + timedelta(seconds=delay),
                        id="sweep", replace_existing=True, max_instances=1, misfire_grace_time=None)

    def wake(self, at: datetime) -> None:
        """Called after a commit that created a job due at ``at``."""
        if self._next is None or at < self._next:
            self._schedule(at)

    # -- dedicated worker process (flask worker) -----------------------------------------

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            self.sweep()
            delay = (self.next_sweep_at() - self.now()).total_seconds()
            if delay > 0:
                stop.wait(min(delay, self.interval))


def init_app(app) -> Scheduler | None:
    """Start the in-process scheduler when this process serves requests and it is not off."""
    db = app.extensions["orderflow.db"]
    scheduler = Scheduler(db, app.config)
    app.extensions["orderflow.scheduler"] = scheduler
    if str(app.config.get("ORDERFLOW_SCHEDULER", "on")).lower() == "on" and not app.testing and _serving():
        scheduler.start()
    return scheduler


def _serving() -> bool:
    """False for `flask init-db` and other one-off commands; true for `flask run`, gunicorn, …"""
    program = sys.argv[0] if sys.argv else ""
    if program.endswith(("flask", "flask/__main__.py")):
        return "run" in sys.argv[1:]
    return True

