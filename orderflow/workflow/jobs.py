"""Background jobs: rows with a due time, claimed by any worker sharing the database.

A job is claimed in a short transaction (owner + lease; ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL) and run in its own transaction that also marks it done, so its effect and its
completion commit together: a crash before the commit leaves the job to be claimed again
when the lease expires, and a job never takes effect twice.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, inspect, or_, select, update
from sqlalchemy.orm import Session, aliased, joinedload

from orderflow.core import metrics
from orderflow.core.column_types import table_of
from orderflow.core.errors import LostRace
from orderflow.core.models import HumanTask, Instance, Job
from orderflow.core.platform import platform_of

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
TIMER_MARGIN = timedelta(milliseconds=1)
KINDS: dict[str, Callable[[Session, Job], None]] = {}  # kind -> runner, filled by job_kinds.py


def worker_id() -> str:
    return f"{uuid.uuid4().hex[:12]}"


def enqueue(session: Session, kind: str, due_at: datetime, instance_id: int | None = None,
            task_ref: str | None = None, element_id: str | None = None,
            retry_delays: list[float] | None = None, last_error: str | None = None) -> Job:
    job = Job(kind=kind, instance_id=instance_id, task_ref=task_ref, element_id=element_id, due_at=due_at,
              retry_delays=retry_delays, last_error=last_error, status="pending")
    session.add(job)
    wake(session, due_at)
    return job


def wake(session: Session, due_at: datetime) -> None:
    """Ask the scheduler to look at ``due_at`` once this transaction commits."""
    earliest = session.info.get("wake_at")
    if earliest is None or due_at < earliest:
        session.info["wake_at"] = due_at


def may_have_timer_job(instance: Instance) -> bool:
    """Whether the instance may have a pending timer job now. Every change of ``next_timer_at``
    is followed by ``sync_timer``, which leaves a pending timer job only to an instance with a next
    timer: without one (or a new instance) there is none, and ``sync_timer`` need not look."""
    return inspect(instance).persistent and instance.next_timer_at is not None


_PENDING_TIMER = select(Job).where(Job.instance_id == bindparam("instance"), Job.kind == "timer",
                                   Job.status == "pending")  # built once: timer jobs and steps look it up
_PENDING_TIMER_ID = _PENDING_TIMER.with_only_columns(Job.id)


NOT_READ: Any = object()   # pending_timer's "not looked up yet"


def sync_timer(session: Session, instance: Instance, may_have_job: bool = True, looked_up: Any = NOT_READ) -> None:
    """Keep exactly one pending timer job per instance, due at its next timer. ``may_have_job``
    False (``may_have_timer_job`` before the change) spares the look-up when there is none;
    ``looked_up``: what ``pending_timer`` found earlier in this transaction (None: nothing)."""
    # SpiffWorkflow fires a timer only once its time has strictly passed: look just after it
    due = instance.next_timer_at + TIMER_MARGIN if instance.status == "running" and instance.next_timer_at else None
    if not may_have_job and due is None:
        return
    pending = pending_timer(session, instance, looked_up) if may_have_job else None
    if due is None:
        if pending is not None:
            pending.status, pending.finished_at = "done", platform_of(session).clock()
        return
    if pending is None:
        enqueue(session, "timer", due, instance.id)
    elif pending.due_at != due:
        pending.due_at = due
        wake(session, due)


def pending_timer(session: Session, instance: Instance, looked_up: Any = NOT_READ) -> Job | None:
    """The instance's pending timer job, as this transaction has it. Read without autoflush (the
    step's changes flush once, after this), unless ``looked_up`` gives an earlier reading of this
    transaction: a job this transaction made or closed and has not flushed yet is taken as it is
    in the session, not as the database still has it."""
    made = [job for job in session.new if isinstance(job, Job) and job.instance_id == instance.id
            and job.kind == "timer" and job.status == "pending"]
    if made:
        return made[0]
    found = looked_up
    if found is NOT_READ:
        with session.no_autoflush:
            found = session.scalar(_PENDING_TIMER, {"instance": instance.id})
    return found if found is not None and found.status == "pending" else None


_JOBS = table_of(Job)
# by the task's order first: its index (instance, kind, status) finds the task's few jobs, where the
# task alone would scan every pending job of every order. Built once: every completion runs it
CLOSE_SLA = (update(_JOBS).where(_JOBS.c.instance_id == bindparam("instance"), _JOBS.c.kind == "sla",
                                 _JOBS.c.status == "pending", _JOBS.c.task_ref == bindparam("ref"))
             .values(status="done", finished_at=bindparam("now")))


def close_sla_jobs(session: Session, ended: list[HumanTask]) -> None:
    """SLA reminders end with their task. Only a task with a due time has them: they are made when a
    step with a time limit becomes ready (or a migration gives it one), and a migration that takes
    the limit away closes them. No autoflush (a step flushes once, later): a reminder this
    transaction made and has not flushed yet is closed in the session."""
    timed = [task for task in ended if task.due_at is not None]
    if not timed:
        return
    now = platform_of(session).clock()
    refs = {str(task.id) for task in timed}
    for job in session.new:
        if isinstance(job, Job) and job.kind == "sla" and job.status == "pending" and job.task_ref in refs:
            job.status, job.finished_at = "done", now
    session.connection().execute(CLOSE_SLA, [{"instance": task.instance_id, "ref": str(task.id), "now": now}
                                             for task in timed])


def close_instance_jobs(session: Session, instance_id: int) -> None:
    """An ended instance has nothing left to wait for."""
    session.execute(update(Job).where(Job.instance_id == instance_id, Job.status == "pending")
                    .values(status="done", finished_at=platform_of(session).clock())
                    .execution_options(synchronize_session=False))


def claim(session: Session, owner: str, limit: int = 50) -> list[int]:
    """Take up to ``limit`` due jobs for ``owner``; commit before running them."""
    now = platform_of(session).clock()
    # two searches along the index (status, due_at), each in its order: a crashed worker's jobs
    # (their lease ran out) first, then the pending ones due. One search with an OR of the two was
    # answered by collecting every due job and sorting them: with thousands of timers due at once,
    # each claim of 50 sorted them all
    lapsed = select(Job.id).where(Job.status == "running", Job.lock_expires_at < now).order_by(Job.due_at)
    due = select(Job.id).where(Job.status == "pending", Job.due_at <= now).order_by(Job.due_at)
    ids: list[int] = []
    for search in (lapsed, due):
        if len(ids) < limit:
            search = search.limit(limit - len(ids))
            if session.get_bind().dialect.name == "postgresql":
                search = search.with_for_update(skip_locked=True)
            ids += session.scalars(search)
    if not ids:
        return []
    # the status guard makes the claim safe where SKIP LOCKED is not available (SQLite
    # serializes writers; a row another worker took in between no longer matches)
    session.execute(update(Job).where(Job.id.in_(ids), or_(
        Job.status == "pending", (Job.status == "running") & (Job.lock_expires_at < now)))
        .values(status="running", lock_owner=owner, lock_expires_at=now + LEASE))
    claimed = set(session.scalars(select(Job.id).where(Job.id.in_(ids), Job.lock_owner == owner,
                                                       Job.status == "running")))
    session.commit()
    return [job_id for job_id in ids if job_id in claimed]   # run in the order they were found


def next_due_at(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Job.due_at)).where(Job.status == "pending"))


# a job that ran and changed nothing else of its own row is marked done by one statement built once:
# flushing the one row through the unit of work cost ~0.4 ms, a tenth of a timer job
_FINISH = (update(_JOBS).where(_JOBS.c.id == bindparam("job"))
           .values(status="done", finished_at=bindparam("at"), lock_owner=None, lock_expires_at=None))


# the job with its order, the order's version and the id of the order's (other) pending timer job:
# what most kinds read before they start and what their store looks up, in one statement
_OTHER = aliased(Job, name="other_timer")
_JOB_AND_ORDER = (select(Job, Instance, select(_OTHER.id).where(
    _OTHER.instance_id == Job.instance_id, _OTHER.kind == "timer", _OTHER.status == "pending", _OTHER.id != Job.id)
    .limit(1).scalar_subquery())
    .outerjoin(Instance, Instance.id == Job.instance_id)
    .options(joinedload(Instance.version)).where(Job.id == bindparam("job")))
_TIMER_READ = "job_pending_timer"   # session.info: {job id: its order's pending timer job id or None}


def pending_timer_read_with(session: Session, job: Job) -> Any:
    """The pending timer job of ``job``'s order as ``run_one`` read it with the job (None: there was
    none), for ``pending_timer``'s ``looked_up``; ``NOT_READ`` if it was not read with it."""
    found = session.info.get(_TIMER_READ, {}).pop(job.id, NOT_READ)
    if found is NOT_READ or found is None:
        return found
    with session.no_autoflush:
        return session.get(Job, found)


def run_one(db, job_id: int, owner: str) -> str:
    """Run a claimed job in its own transaction; returns the job's status afterwards."""
    with db.session() as session:
        found = session.execute(_JOB_AND_ORDER, {"job": job_id}).first()
        job = found[0] if found is not None else None
        if found is not None and found[1] is not None:
            session.info.setdefault(_TIMER_READ, {})[job_id] = found[2]
        if job is None or job.lock_owner != owner or job.status != "running":
            return "skipped"
        metrics.job_began(job.kind, job.due_at, platform_of(session).clock())
        try:
            KINDS[job.kind](session, job)
            if job.status == "running" and not inspect(job).modified:
                session.execute(_FINISH, {"job": job_id, "at": platform_of(session).clock()})
                session.commit()
                return "done"
            if job.status == "running":
                job.status, job.finished_at = "done", platform_of(session).clock()
            job.lock_owner = job.lock_expires_at = None
            session.commit()
            return job.status
        except LostRace:  # a person changed the instance meanwhile: try again shortly, no attempt spent
            session.rollback()
            return _after_lost_race(session, job_id, owner)
        except Exception as exc:  # an unexpected failure must not stop the worker
            log.exception("job %s (%s) failed", job_id, job.kind if job else "?")
            session.rollback()
            _release(session, job_id, owner, timedelta(seconds=30), f"{type(exc).__name__}: {exc}", count=True)
            return "error"


def _after_lost_race(session: Session, job_id: int, owner: str) -> str:
    """Another transaction stored the job's order while the job ran. Its store synced the order's
    timer job, and as this one was running, not pending, it made a new one if the order still waits
    for a timer: this timer job then ends here, so the order keeps exactly one pending timer job.
    Any other job (or a timer job no store replaced) is tried again shortly, no attempt spent."""
    job = session.get(Job, job_id)
    if job is not None and job.kind == "timer" and job.lock_owner == owner and job.instance_id is not None:
        replaced = session.scalar(_PENDING_TIMER_ID, {"instance": job.instance_id})
        if replaced is not None:
            job.status, job.finished_at = "done", platform_of(session).clock()
            job.lock_owner = job.lock_expires_at = None
            session.commit()
            return "replaced"
    _release(session, job_id, owner, timedelta(milliseconds=200), None, count=False)
    return "retry"


def _release(session: Session, job_id: int, owner: str, delay: timedelta, error: str | None, count: bool) -> None:
    job = session.get(Job, job_id)
    if job is None or job.lock_owner != owner:
        return
    job.status, job.lock_owner, job.lock_expires_at = "pending", None, None
    job.due_at = platform_of(session).clock() + delay
    if count:
        job.attempts += 1
        job.last_error = error
    session.commit()


def run_due(db, owner: str, limit: int = 50) -> int:
    """Claim and run what is due; returns how many jobs ran."""
    with db.session() as session:
        ids = claim(session, owner, limit)
    for job_id in ids:
        run_one(db, job_id, owner)
    return len(ids)

