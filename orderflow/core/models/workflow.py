"""The workflow's tables. Everything people query (inbox, board, analytics) is an indexed column here;
the serialized engine state is read only to advance an instance or show its data."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderflow.core.column_types import Base, UtcDateTime, utcnow


class ProcessVersion(Base):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    # Read only when asked for: a version row is loaded on every step, and decoding the order flow's
    # diagrams and forms (~250 KB of JSON) cost more than the step's SQL. Forms are read through
    # definitions.form (kept per version: deployed forms never change).
    sources: Mapped[dict] = mapped_column(JSON, deferred=True)   # filename -> BPMN/DMN text
    forms: Mapped[dict] = mapped_column(JSON, deferred=True)     # form key -> JSON Schema, frozen at deploy
    start_group: Mapped[str | None] = mapped_column(String(64))
    start_groups: Mapped[list | None] = mapped_column(JSON)  # the start event's further candidate groups
    start_form: Mapped[str | None] = mapped_column(String(200))
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)   # the release note the process owner wrote at deploy


class ProcessDraft(Base):
    """A process owner's unsaved work on one process: the diagram files and edited forms.

    Deploying a draft turns it into the next ``ProcessVersion`` and removes it; until then
    orders keep running on the deployed versions.
    """

    __tablename__ = "process_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    main_file: Mapped[str] = mapped_column(String(300))   # the file the modeler edits
    sources: Mapped[dict] = mapped_column(JSON)           # filename -> BPMN/DMN text
    forms: Mapped[dict] = mapped_column(JSON)             # form key -> JSON Schema
    base_version: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__: Mapping[str, Any] = {"version_id_col": lock_version}


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        # the board filters and sorts open orders on this index alone
        Index("ix_instances_board", "status", "process_key", "process_version_id", "started_at", "promised_date",
              "order_total", "business_key", "customer", "started_by"),
        # the board's order sorts, read in index order (either direction) on PostgreSQL
        Index("ix_instances_by_business_key", "business_key", "id"),
        Index("ix_instances_by_customer", "customer", "id"),
        Index("ix_instances_by_order_total", "order_total", "id"),
        Index("ix_instances_by_promised_date", "promised_date", "id"),
        Index("ix_instances_by_started_at", "started_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="running")
    # names the engine state in instance_states: a new random value with each state stored, so a
    # worker's live workflow kept under it is still the stored one exactly when the two agree
    state_token: Mapped[str | None] = mapped_column(String(32))
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    next_timer_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # typed order columns the managers filter on
    customer: Mapped[str | None] = mapped_column(String(200), index=True)
    order_total: Mapped[float | None] = mapped_column(Float)
    promised_date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(40))
    # what kind of case this is (after-sales: return, exchange, repair, refund, complaint), from the
    # data field ``case_type``; analytics count cases by it
    category: Mapped[str | None] = mapped_column(String(40))
    # the order a case or survey is about (data field ``order_instance_id``)
    related_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="SET NULL"), index=True)

    # loaded once per version through the identity map: a join would copy the version's large
    # JSON (sources, forms) into every inbox row
    version: Mapped[ProcessVersion] = relationship(lazy="select")
    __mapper_args__: Mapping[str, Any] = {"version_id_col": lock_version}


class InstanceState(Base):
    """An instance's serialized engine state (``engine/store.py``), in its own table: the reads of
    instances rows (inbox, board, order pages) never carry it, and a step whose live workflow is
    still kept (same ``state_token``) reads none of it. Written after the instances row, whose
    ``lock_version`` is the optimistic lock the state shares."""
    __tablename__ = "instance_states"
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(Text)


class InstanceStateDelta(Base):
    """What a step changed in an instance's engine state, stored after the state in ``instance_states``
    (the base) instead of the whole state again (``engine/store.py``, ``store_step``); the next full
    state written replaces the base and removes its deltas."""
    __tablename__ = "instance_state_deltas"
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    delta: Mapped[str] = mapped_column(Text)


class HumanTask(Base):
    __tablename__ = "human_tasks"
    __table_args__ = (
        # the inbox in due order; with the order, its overdue and due-today counts read no task row
        Index("ix_human_tasks_inbox", "status", "group_id", "due_at", "instance_id"),
        # the customer's steps, a few of all: "waiting on the customer" counts without walking a group
        Index("ix_human_tasks_customer_steps", "status", "group_id", "instance_id",
              sqlite_where=text("customer_step"), postgresql_where=text("customer_step")),
        # the board's task sorts, read in index order (either direction) on PostgreSQL: a page
        # never sorts every open task (orderflow/orders/board/sql.py, _in_order)
        Index("ix_human_tasks_board_due", "status", "due_at", "instance_id", "id"),
        Index("ix_human_tasks_board_ready_at", "status", "ready_at", "instance_id", "id"),
        Index("ix_human_tasks_board_step", "status", "element_id", "instance_id", "id"),
        Index("ix_human_tasks_board_group", "status", "group_id", "instance_id", "id"),
        Index("ix_human_tasks_board_assignee", "status", "assignee", "instance_id", "id"),
        Index("ix_human_tasks_instance", "instance_id", "status"),
        Index("ix_human_tasks_assignee", "assignee", "status"),
        Index("ix_human_tasks_element", "element_id", "status", "ready_at"),
        # the monitor counts waiting tasks per element without touching instances
        Index("ix_human_tasks_monitor", "status", "process_key", "process_version_id", "element_id",
              "ready_at", "due_at"),
        # the board: ready tasks by order with everything it filters and sorts on (covering);
        # also "has this order done its delivery step" in one seek
        Index("ix_human_tasks_board", "status", "instance_id", "element_id", "due_at", "ready_at", "group_id",
              "assignee", "process_key", "process_version_id"),
        # the completions the business's roll-up has not yet counted: only those are in the index
        Index("ix_human_tasks_rollup_pending", "id", sqlite_where=text("rollup_pending"),
              postgresql_where=text("rollup_pending")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    # copied from the instance (they never change) so managers' queries need no join
    process_key: Mapped[str | None] = mapped_column(String(200))
    process_version_id: Mapped[int | None] = mapped_column(Integer)
    task_uuid: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    group_id: Mapped[str | None] = mapped_column(String(64))
    form_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="ready")  # ready, completed, cancelled
    assignee: Mapped[str | None] = mapped_column(String(64))
    ready_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(64))
    # the customer's own step (a ``customer`` lane or property): done through a customer link, or by
    # staff on the customer's behalf
    customer_step: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_via: Mapped[str | None] = mapped_column(String(20))   # customer_link, on_behalf
    # completed and not yet counted by the business's roll-up (``Hooks.roll_up``, run by the sweep and
    # before a report reads): the step's request does no counting of its own
    rollup_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict | None] = mapped_column(JSON)   # what the person entered
    # the order's data as the task saw it when it became ready: forms pre-fill from it without
    # loading the engine state (a ready task's data does not change until it runs)
    context: Mapped[dict | None] = mapped_column(JSON)

    instance: Mapped[Instance] = relationship(lazy="joined")
    # the task's further candidate groups (candidateGroups="a,b": b here, a in group_id)
    other_groups: Mapped[list[TaskGroup]] = relationship(lazy="select", cascade="all, delete-orphan")


class TaskGroup(Base):
    """A further group whose members may see, claim and complete a task besides ``group_id``."""

    __tablename__ = "human_task_groups"
    __table_args__ = (Index("ix_human_task_groups_group", "group_id", "task_id"),)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class AuditEvent(Base):
    """Append-only: the code has no update or delete path for these rows."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    element_id: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Sequence(Base):
    """Named counters (order numbers per day), incremented inside the caller's transaction."""

    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Job(Base):
    """Background work with a due time: timers, deferred service calls, SLA reminders.

    Claimed in short transactions (lock owner + expiry; ``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL), and its effect commits in the same transaction as ``status='done'``, so a
    job runs once even with several workers on one database.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "due_at"),
                      Index("ix_jobs_instance", "instance_id", "kind", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))            # timer, service, sla
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    task_ref: Mapped[str | None] = mapped_column(String(64))  # engine task uuid or human task id
    element_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, running, done, failed
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_delays: Mapped[list | None] = mapped_column(JSON)   # seconds before each retry
    lock_owner: Mapped[str | None] = mapped_column(String(100))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Incident(Base):
    """A step that failed after its retries: the instance waits for a manager."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    element_id: Mapped[str | None] = mapped_column(String(200))
    task_ref: Mapped[str | None] = mapped_column(String(64))
    handler: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)   # English: logs, search, older clients
    # the message as core.i18n.to_data gives it (key and parameters): each reader sees their language
    message_data: Mapped[dict | None] = mapped_column(JSON)
    traceback: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(40))   # retried, completed_by_hand, terminated

    job: Mapped[Job | None] = relationship()


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "username", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # {"subject": Msg data, "body": Msg data, "items": [...]}: shown in each reader's language
    # (core.i18n.to_data); subject and body keep the English for mails, search and older clients
    message: Mapped[dict | None] = mapped_column(JSON)


class Mail(Base):
    """Outgoing e-mail, queued in the transaction that caused it and sent after the commit."""

    __tablename__ = "mails"
    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)  # queued, sent, kept, failed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when a sender took it ('sending')


class CorrelationKey(Base):
    """Which instance waits for which message with which key value (e.g. order_no)."""

    __tablename__ = "correlation_keys"
    __table_args__ = (Index("ix_correlation_lookup", "message", "property", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(String(200))
    property: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(300))


class SavedFilter(Base):
    """A filter someone saved (the board's or the inbox's): its query string, private, shared with
    everyone, or shared with one group."""

    __tablename__ = "saved_filters"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    page: Mapped[str] = mapped_column(String(20), default="board", server_default="board")  # board | inbox
    group_id: Mapped[str | None] = mapped_column(String(64))   # shared with this group's members
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TaskStat(Base):
    """Daily roll-up of finished human tasks per step, kept as tasks complete, so analytics
    never scan the task rows: counts, time limits met, durations and a duration histogram
    (bucket i counts durations in [2**i, 2**(i+1)) seconds) for medians and p90s."""

    __tablename__ = "task_stats"
    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    completed: Mapped[int] = mapped_column(Integer, default=0)
    with_due: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    total_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    buckets: Mapped[list] = mapped_column(JSON, default=list)
    decisions: Mapped[dict] = mapped_column(JSON, default=dict)   # decision value -> count


class AuditHead(Base):
    """The tail of one instance's audit chain. Appending updates this row first, so appends to the
    same order serialize (row lock on PostgreSQL, the writer lock on SQLite) and never fork the
    chain; ``hash`` and ``events`` also reveal events cut off the end of the chain."""

    __tablename__ = "audit_heads"
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    hash: Mapped[str | None] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer, default=0)


class Signature(Base):
    """An electronic signature (21 CFR Part 11 manner): who signed, their printed name, the meaning,
    when, and the exact content signed with its SHA-256. Written once, never changed; a refusal
    (``refused``) is recorded the same way but never releases anything."""

    __tablename__ = "signatures"
    __table_args__ = (Index("ix_signatures_instance", "instance_id", "element_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id", ondelete="SET NULL"))
    element_id: Mapped[str] = mapped_column(String(200))
    signer: Mapped[str] = mapped_column(String(64))
    printed_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(300))
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    content: Mapped[str] = mapped_column(Text)            # canonical JSON, exactly as hashed
    content_sha256: Mapped[str] = mapped_column(String(64))
    audit_event_id: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))

    audit_event: Mapped[AuditEvent | None] = relationship()
