"""Running instances: load the live workflow, let the engine run, store it and project it onto
the rows people query (tasks, timers, correlations, incidents). One flush, never a commit: the
caller's edge commits. The commands people and integrations call (``instances``, ``tasks``,
``messages``, ``recovery``, ``versions``) are built on this, and this on nothing of theirs."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import Integer, String, bindparam, cast, delete, insert, literal, null, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.exc import StaleDataError

from orderflow.core import audit, metrics
from orderflow.core.column_types import table_of
from orderflow.core.db import rowcount
from orderflow.core.errors import LostRace
from orderflow.core.i18n import Msg
from orderflow.core.models import (
    CorrelationKey,
    HumanTask,
    Instance,
    InstanceState,
    InstanceStateDelta,
    Job,
    ProcessVersion,
    Sequence,
    TaskGroup,
    User,
)
from orderflow.core.platform import platform_of
from orderflow.engine import ElementInfo, ProcessDef, Runaway, Services, Snapshot, due_at, json_clean, store
from orderflow.workflow import attachments, correlations, customer_links, definitions, incidents, jobs, notify


def _next_sequence(session: Session, name: str) -> int:
    row = session.get(Sequence, name, with_for_update=True)
    if row is None:  # the first of its name (the day's first order): two transactions may ask at once,
        # so the row is created by whichever comes first and the other waits for it, then locks it
        upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(upsert(Sequence).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"]))
        row = session.get(Sequence, name, with_for_update=True, populate_existing=True)
        assert row is not None, "inserted or found just above"
    row.value += 1
    session.flush()
    return row.value


def services_for(session: Session, instance: Instance, pdef: ProcessDef, actor: str | None) -> Services:
    """What handlers and waiting service tasks reach during one engine run on ``instance``."""
    platform = platform_of(session)

    def _audit(action: str, element_id: str, detail: dict) -> None:
        audit.record(session, instance.id, actor, action, element_id, detail)

    def _defer(task_uuid: str, element_id: str, handler: str, delays: list[float], error: str | None) -> None:
        job = jobs.enqueue(session, "service", platform.clock() + timedelta(seconds=delays[0]), instance.id,
                           task_uuid, element_id, retry_delays=delays[1:], last_error=error)
        job.attempts = 1 if error else 0
        audit.record(session, instance.id, actor, "service_deferred", element_id,
                     {"handler": handler, "error": error, "retries_left": len(delays) - 1})

    def _fail(task_uuid: str, element_id: str, handler: str, message: str, trace: str) -> None:
        job = jobs.enqueue(session, "service", platform.clock(), instance.id, task_uuid, element_id)
        job.attempts = 1
        session.flush()
        incidents.open_incident(session, instance, job, message, trace, handler)

    def _start_process(key: str, data: dict) -> str | None:
        started = start_follow_up(session, actor or "system", key, data, instance)
        return started.business_key

    def _mail(to: str, subject: str, body: str) -> None:
        notify.mail_to(session, to, subject, body)

    return Services(config=platform.config, next_sequence=lambda n: _next_sequence(session, n),
                    audit=_audit, clock=platform.clock, instance_id=instance.id, process_key=instance.process_key,
                    elements=pdef.elements, defer=_defer, fail=_fail, start_process=_start_process,
                    mail=_mail,
                    default_async_retry=str(platform.config.get("ORDERFLOW_DEFAULT_RETRY", "R3/PT10S")))


def start_follow_up(session: Session, started_by: str, key: str, data: dict[str, Any], parent: Instance) -> Instance:
    """A process a running one starts (a survey after the receipt): the latest version, no start
    permission (the diagram asked for it), the link to the parent in the audit."""
    row = definitions.latest_version(session, key)
    if row is None:
        raise LookupError(f"no version of the process '{key}' is deployed")
    return start_run(session, started_by, row, definitions.definition(session, row), dict(data), [],
                  parent=parent)


def start_run(session: Session, started_by: str, row: ProcessVersion, pdef: ProcessDef, clean: dict[str, Any],
              files: list, parent: Instance | None = None) -> Instance:
    """A new instance of ``row`` run from its start with ``clean`` (checked by the caller: the start
    form, the permission), ``files`` bound to it; audited, stored, not committed."""
    json_clean.require(clean, "data")  # also what a start without a form, or a follow-up, writes
    platform = platform_of(session)
    now = platform.clock()
    instance = Instance(process_version_id=row.id, process_key=row.key, status="running",
                        started_by=started_by, started_at=now, updated_at=now)
    session.add(instance)
    session.flush()
    audit.new_chain(session, instance.id)
    attachments.bind(files, instance.id)
    services = services_for(session, instance, pdef, started_by)
    workflow = platform.runtime.new(pdef, services)
    runaway = bounded(lambda: platform.runtime.start(workflow, clean))
    detail = {"process": row.key, "version": row.version, "data": clean}
    if parent is not None:
        detail["started_by_instance"] = {"id": parent.id, "key": parent.business_key}
    audit.record(session, instance.id, started_by, "instance_started", pdef.start.element_id if pdef.start else None,
                 detail)
    store_workflow(session, instance, pdef, workflow, runaway)
    metrics.instance_started(session, instance.process_key)
    return instance


def bounded(run) -> Runaway | None:
    """Run the engine; a loop stopped at the step bound is returned, not raised: the state is
    consistent up to the last step and becomes an incident when stored."""
    try:
        run()
    except Runaway as exc:
        return exc
    return None


def load(session: Session, instance: Instance, actor: str | None):
    """The instance's live workflow with a script engine bound to this session: the one this process
    kept when it last stored or read the state the database names (``state_token``), else read and
    deserialized."""
    pdef = definitions.definition(session, instance.version)
    platform = platform_of(session)
    workflow = platform.runtime.load(pdef, lambda: read_state(session, instance),
                                     services_for(session, instance, pdef, actor),
                                     key=instance.id, token=instance.state_token)
    return pdef, workflow


def read_state(session: Session, instance: Instance) -> str:
    """The instance's stored engine state (``instance_states``), as ``engine/store.py`` wrote it:
    the one the instance row in hand names. Read with the row's current token in one statement: on
    PostgreSQL (read committed) another transaction may have stored a newer state since the row was
    read, and a workflow built from it must not pass for the row's (nor be kept under its token)."""
    rows = session.execute(_READ_STATE, {"instance": instance.id}).all()  # base and deltas: one snapshot
    if not rows or rows[0].seq != 0:
        raise LookupError(f"instance {instance.id} has no stored state")
    if rows[0].token != instance.state_token:
        raise LostRace(Msg("Someone else changed this order at the same moment; nothing of yours was saved. "
                           "Reload the order and try again."))
    return store.compose(rows[0].text, [row.text for row in rows[1:]])


def write_state(session: Session, instance: Instance, state: str) -> None:
    """Store ``state`` (a whole state) as the instance's engine state, under a new token (so no
    worker's kept workflow passes for it)."""
    first = _new_token(instance)
    session.flush()
    _write_state_row(session, instance, store.Stored(state, 0, True, store.json_length(state)), first)


def _new_token(instance: Instance) -> bool:
    """Name a new state on the instance's row; returns whether it is the instance's first."""
    first = instance.state_token is None
    instance.state_token = uuid4().hex
    return first


# built once: on a step's path, building a statement costs as much as running it
_STATES = table_of(InstanceState)
_DELTAS = table_of(InstanceStateDelta)
_REPLACE_STATE = update(_STATES).where(_STATES.c.instance_id == bindparam("instance")).values(state=bindparam("new"))
_ADD_DELTA = insert(_DELTAS).values(instance_id=bindparam("instance"), seq=bindparam("number"), delta=bindparam("new"))
_DROP_DELTAS = delete(_DELTAS).where(_DELTAS.c.instance_id == bindparam("instance"))
_READ_STATE = union_all(
    select(_STATES.c.state.label("text"), literal(0, Integer).label("seq"), Instance.state_token.label("token"))
    .join(Instance, Instance.id == _STATES.c.instance_id).where(_STATES.c.instance_id == bindparam("instance")),
    select(_DELTAS.c.delta, _DELTAS.c.seq, cast(null(), String))
    .where(_DELTAS.c.instance_id == bindparam("instance"))).order_by("seq")
# the rows' instance is the one being stored, held by the session: not joined in again (building the
# joined loader's row processors cost more than the read)
_OPEN_ROWS = (select(HumanTask).options(lazyload(HumanTask.instance))
              .where(HumanTask.instance_id == bindparam("instance"), HumanTask.status == "ready"))
_OPEN_ROWS_IN_ORDER = _OPEN_ROWS.order_by(HumanTask.id)


def _write_state_row(session: Session, instance: Instance, stored: store.Stored, first: bool) -> None:
    """After the instances row is flushed: that row is the lock, taken first. A delta goes after the
    base; a whole state replaces the base and its deltas."""
    conn = session.connection()
    if stored.seq:
        conn.execute(_ADD_DELTA, {"instance": instance.id, "number": stored.seq, "new": stored.text})
        return
    if first or not rowcount(conn.execute(_REPLACE_STATE, {"instance": instance.id, "new": stored.text})):
        conn.execute(insert(_STATES).values(instance_id=instance.id, state=stored.text))
    if stored.drop_deltas and not first:
        conn.execute(_DROP_DELTAS, {"instance": instance.id})


def keep_read(session: Session, instance: Instance, pdef: ProcessDef, workflow) -> None:
    """A workflow only read (its state unchanged) goes back for the next load of this instance."""
    platform_of(session).runtime.keep(instance.id, instance.state_token, pdef, workflow)


@dataclass(frozen=True)
class Prepared:
    """What storing a workflow works out before it writes anything (``prepare_store``)."""
    snap: Snapshot
    stored: store.Stored
    first: bool        # the instance's first store: no task rows yet
    timer_job: bool    # it may have a pending timer job, as last synced
    open_rows: list[HumanTask]   # its task rows that were ready when it was prepared
    pending_timer: Job | None    # its pending timer job then (looked up only if it may have one)
    correlation_rows: list[CorrelationKey]  # its message index rows then (``correlations.current``)


def prepare_store(session: Session, instance: Instance, pdef: ProcessDef, workflow,
                  open_rows: list[HumanTask] | None = None, timer_job_read: Any = jobs.NOT_READ) -> Prepared:
    """What storing a workflow does before it writes: the projection's walk, the state's dump, and
    the reads of the rows the store will change (the open task rows, the pending timer job, the
    message index). A
    step calls it before its first write: on SQLite a transaction holds the one write turn from its
    first write to its commit, so the other workers wait for the writes only. (A concurrent step of
    the same order is still caught: it moved the order's lock_version, which the store's write checks.)
    ``open_rows``: the order's ready task rows as this transaction read them already (a completion
    reads them with its task), else read here; ``timer_job_read`` likewise its pending timer job (a
    job reads it with itself: ``jobs.pending_timer_read_with``)."""
    platform = platform_of(session)
    snap = platform.runtime.snapshot(workflow)
    timer_job = jobs.may_have_timer_job(instance)  # before this store changes next_timer_at
    first = _new_token(instance)
    stored = platform.runtime.store_step(workflow, whole=snap.completed)  # a finished order: compact
    if first:
        open_rows = []
    elif open_rows is None:
        with session.no_autoflush:
            open_rows = list(session.scalars(_OPEN_ROWS, {"instance": instance.id}))
    pending = jobs.pending_timer(session, instance, timer_job_read) if timer_job else None
    return Prepared(snap, stored, first, timer_job, open_rows, pending,
                    correlations.current(session, instance, pdef, first))


def store_workflow(session: Session, instance: Instance, pdef: ProcessDef, workflow,
                   runaway: Runaway | None = None, prepared: Prepared | None = None) -> Snapshot:
    """Persist the workflow and project it to the rows people query; one flush, no commit.

    ``runaway``: the run was stopped at the step bound; the instance waits behind an incident
    whose retry resumes it. ``prepared``: ``prepare_store`` of this workflow as it is now, done
    before the step's first write.
    """
    platform = platform_of(session)
    ready = prepared or prepare_store(session, instance, pdef, workflow)
    snap, stored, first = ready.snap, ready.stored, ready.first
    now = platform.clock()
    instance.updated_at = now
    instance.next_timer_at = snap.next_timer_at
    platform.hooks.project(instance, snap.data)  # the business's columns (orderflow/orders/plug.py)
    if snap.completed:
        instance.status = "completed"
        instance.ended_at = now
        instance.next_timer_at = None
        audit.record(session, instance.id, None, "instance_completed", None, {"outcome": snap.data.get("outcome")})
        metrics.instance_completed(session, instance.process_key)
    if runaway is not None:
        job = jobs.enqueue(session, "resume", now, instance.id, element_id=runaway.element_id)
        session.flush()
        incidents.open_incident(session, instance, job, runaway.message, None)
    try:  # any flush may be the one that finds the stored copy changed under us
        sync_tasks(session, instance, pdef, snap, ready.open_rows)
        jobs.sync_timer(session, instance, ready.timer_job, ready.pending_timer)
        correlations.sync(session, instance, pdef, snap, ready.correlation_rows)
        session.flush()
        _write_state_row(session, instance, stored, first)
    except StaleDataError:  # the edge rolls the whole request back
        raise LostRace(Msg("Someone else changed this order at the same moment; nothing of yours was saved. "
                           "Reload the order and try again.")) from None
    # kept for the next step; should this transaction not commit, the database keeps the older token
    # and the next load, comparing, reads and deserializes the state stored under it instead
    platform.runtime.keep(instance.id, instance.state_token, pdef, workflow, stored)
    return snap


def sync_tasks(session: Session, instance: Instance, pdef: ProcessDef, snap: Snapshot,
               rows: list[HumanTask]) -> None:
    """Make the ready rows of this instance equal the engine's ready user tasks. ``rows``: its rows
    that were ready when the store was prepared (read without autoflush: the step's changes flush
    once, below); a row this step has closed since is taken as the session has it now, and left out."""
    now = platform_of(session).clock()
    open_rows = {t.task_uuid: t for t in rows if t.status == "ready"}
    ready_ids = {r.task_uuid for r in snap.ready}
    left = []
    for uuid, row in open_rows.items():
        if uuid not in ready_ids:  # interrupted by a boundary event or a message
            row.status, row.completed_at = "cancelled", now
            left.append(row)
    jobs.close_sla_jobs(session, left)
    new_rows = []
    config = platform_of(session).config
    for ready in snap.ready:
        if ready.task_uuid in open_rows:
            continue
        info = pdef.elements.get(ready.element_id)
        new_rows.append(HumanTask(
            instance_id=instance.id, process_key=instance.process_key,
            process_version_id=instance.process_version_id, task_uuid=ready.task_uuid, element_id=ready.element_id,
            name=info.name if info else ready.name, group_id=step_group(config, info),
            form_key=info.form_key if info else None, status="ready", ready_at=now, context=ready.data,
            assignee=info.assignee if info else None, customer_step=bool(info and info.customer),
            other_groups=[TaskGroup(group_id=g) for g in (info.groups if info else ())],  # candidateGroups="a,b"
            due_at=due_at(info.sla if info else None, now)))
    # what the step's answer lists (``open_tasks``), without reading the rows back
    session.info.setdefault("open_tasks", {})[instance.id] = [
        *(row for row in open_rows.values() if row.status == "ready"), *new_rows]
    if not new_rows:
        return
    _drop_unknown_assignees(session, instance, new_rows)
    session.add_all(new_rows)
    session.flush()
    for row in new_rows:
        if row.due_at is not None:  # escalate when the time limit passes, then remind
            jobs.enqueue(session, "sla", row.due_at, instance.id, str(row.id), row.element_id)
        if row.customer_step:  # the customer gets their link by mail when the order knows an address
            customer_links.offer(session, row)


def open_tasks(session: Session, instance: Instance) -> list[HumanTask]:
    """The instance's ready task rows, oldest first: as this transaction's last store of it left
    them (the rows themselves, so later changes show), else read."""
    kept = session.info.get("open_tasks", {}).get(instance.id)
    if kept is None:
        return list(session.scalars(_OPEN_ROWS_IN_ORDER, {"instance": instance.id}))
    return sorted((row for row in kept if row.status == "ready"), key=lambda row: row.id)


def step_group(config: Mapping[str, Any], info: ElementInfo | None) -> str:
    """The group a step's task goes to: its lane or candidate group, else the configured default
    (a customer's step: the staff who may act for the customer)."""
    if info is not None and info.group:
        return info.group
    if info is not None and info.customer:
        return config.get("ORDERFLOW_CUSTOMER_STEP_GROUP") or "sales"
    return config.get("ORDERFLOW_DEFAULT_TASK_GROUP") or "process_owner"


def _drop_unknown_assignees(session: Session, instance: Instance, rows: list[HumanTask]) -> None:
    """A diagram's assignee who is no (active) user would hold the task forever: the task goes to
    its group instead, and the audit trail says why (deploy warns about such names too)."""
    named = {row.assignee for row in rows if row.assignee}
    if not named:
        return
    known = set(session.scalars(select(User.username).where(User.username.in_(named), User.active.is_(True))))
    for row in rows:
        if row.assignee and row.assignee not in known:
            audit.record(session, instance.id, None, "assignee_unknown", row.element_id,
                         {"assignee": row.assignee, "group": row.group_id})
            row.assignee = None


