"""Append-only audit events, chained by hash per instance so tampering shows.

Append-only three ways: there is no update or delete function here; the ORM guard below refuses
any change or deletion of an ``AuditEvent`` (or ``Signature``) through a session; on PostgreSQL
a trigger (``POSTGRES_APPEND_ONLY_DDL``) refuses UPDATE, DELETE and TRUNCATE on those tables.

Each event's hash covers the previous event's hash, so an edited or removed event breaks the
chain (``verify_chain``). Appends to one instance are serialized through its ``AuditHead`` row: the
first append of a transaction UPDATEs that row and reads the tail in the same statement (RETURNING).
The UPDATE takes the row lock on PostgreSQL (a concurrent appender waits until we commit, then reads
our tail: READ COMMITTED reads afresh per statement) and SQLite's database-wide writer lock, which is
held to the commit, so no two transactions can read the same tail and fork the chain. Later appends
in the same transaction hold the lock already and chain from the transaction's own tail; so does an
instance made in the transaction (``new_chain``), which no one else can see yet.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from orderflow.core.column_types import table_of
from orderflow.core.models import AuditEvent, AuditHead, Signature
from orderflow.core.platform import platform_of

APPEND_ONLY = (AuditEvent, Signature)
APPEND_ONLY_TABLES = ("audit_events", "signatures")

# Run by migration 0005 (they are idempotent); to change them, change them here and write a new
# migration that runs them again. No '%' in them: drivers may read it as a placeholder.
POSTGRES_APPEND_ONLY_DDL: tuple[str, ...] = (
    """CREATE OR REPLACE FUNCTION orderflow_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
        MESSAGE = 'orderflow: ' || TG_TABLE_NAME || ' is append-only; ' || TG_OP || ' refused';
END
$$""",
) + tuple(
    statement
    for table in APPEND_ONLY_TABLES
    for statement in (
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        (f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
         f"FOR EACH ROW EXECUTE FUNCTION orderflow_append_only()"),
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        (f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
         f"FOR EACH STATEMENT EXECUTE FUNCTION orderflow_append_only()"),
    )
)


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete an audit record: a bug, never a user error."""


@sa_event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, APPEND_ONLY):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only; deleting one is refused")
    for obj in session.dirty:
        if isinstance(obj, APPEND_ONLY) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only; changing one is refused")


@sa_event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state) -> None:
    """``session.execute(update(AuditEvent)…)`` and bulk deletes bypass the flush: refuse them too."""
    if state.is_update or state.is_delete:
        name = getattr(getattr(state.statement, "table", None), "name", None)
        if name in APPEND_ONLY_TABLES:
            raise AppendOnlyViolation(f"{name} is append-only; bulk UPDATE/DELETE is refused")


def _digest(prev: str | None, at: datetime, actor: str | None, action: str, element_id: str | None,
            detail: dict | None) -> str:
    body = json.dumps([prev, _iso(at), actor, action, element_id, detail], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()  # as stored: SQLite hands back UTC


_HEADS = table_of(AuditHead)
# built once: on a step's path, building a statement costs as much as running it
_LOCK_TAIL = (update(_HEADS).where(_HEADS.c.instance_id == bindparam("chain")).values(events=_HEADS.c.events)
              .returning(_HEADS.c.hash))   # locked and read in one statement
_APPEND = (update(_HEADS).where(_HEADS.c.instance_id == bindparam("chain"))
           .values(hash=bindparam("new_hash"), events=_HEADS.c.events + bindparam("added")))
_NEW_HEAD = insert(_HEADS).values(hash=bindparam("new_hash"), events=bindparam("added"))
# session.info keys, cleared when a transaction ends (db.py): each chain's tail as this transaction
# left it, the events it appended to each chain, the chains it made
TAILS, HEADS_DUE, NEW_HEADS = "audit_tails", "audit_heads_due", "audit_new_heads"
_APPEND_EVENT = insert(table_of(AuditEvent)).returning(table_of(AuditEvent).c.id)


def _insert_head(connection: Connection, instance_id: int) -> None:
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(insert(_HEADS).values(instance_id=instance_id, hash=None, events=0)
                       .on_conflict_do_nothing(index_elements=["instance_id"]))


def new_chain(session: Session, instance_id: int) -> None:
    """The chain of an instance made in this transaction: its first append needs no look-up, and its
    head is made at the commit, with its tail then (no one else sees the instance, nor appends to
    it, before the commit)."""
    session.info.setdefault(TAILS, {})[instance_id] = None
    session.info.setdefault(NEW_HEADS, set()).add(instance_id)
    session.info.setdefault(HEADS_DUE, {}).setdefault(instance_id, 0)


def _lock_tail(session: Session, instance_id: int) -> str | None:
    """Lock the instance's chain for this transaction and return its last hash.

    Core statements on ``session.connection()``: no autoflush, so the engine's pending changes
    flush where they always did."""
    conn = session.connection()
    head = conn.execute(_LOCK_TAIL, {"chain": instance_id}).first()
    if head is None:
        _insert_head(conn, instance_id)
        head = conn.execute(_LOCK_TAIL, {"chain": instance_id}).one()  # someone may have inserted it first
    if head.hash is not None:
        return head.hash
    # a new head: adopt the chain so far (instances audited before heads existed)
    events = table_of(AuditEvent)
    last = conn.execute(select(events.c.hash).where(events.c.instance_id == instance_id)
                        .order_by(events.c.id.desc()).limit(1)).scalar()
    count = conn.execute(select(func.count()).where(events.c.instance_id == instance_id)).scalar()
    conn.execute(update(_HEADS).where(_HEADS.c.instance_id == instance_id).values(hash=last, events=count))
    return last


def record(session: Session, instance_id: int | None, actor: str | None, action: str,
           element_id: str | None = None, detail: dict[str, Any] | None = None) -> AuditEvent:
    prev = None
    tails = session.info.setdefault(TAILS, {})
    if instance_id is not None:
        prev = tails[instance_id] if instance_id in tails else _lock_tail(session, instance_id)
    at = platform_of(session).clock()
    row = {"instance_id": instance_id, "at": at, "actor": actor, "action": action, "element_id": element_id,
           "detail": detail, "prev_hash": prev, "hash": _digest(prev, at, actor, action, element_id, detail)}
    # written at once, by Core: an append needs none of the unit of work's bookkeeping (a step's
    # flush with it cost twice one without); the event handed back is not in the session
    event = AuditEvent(id=session.connection().execute(_APPEND_EVENT, row).scalar_one(), **row)
    if instance_id is not None:
        tails[instance_id] = event.hash
        due = session.info.setdefault(HEADS_DUE, {})
        due[instance_id] = due.get(instance_id, 0) + 1
    return event


@sa_event.listens_for(Session, "before_commit")
def write_heads(session: Session) -> None:
    """Move each chain's head to its new tail, once per transaction: the first append locked the head
    (``_lock_tail``), so no one else appends meanwhile; a step that records several events (a timer
    fired, the order completed) updates its head once, not per event."""
    due, made = session.info.pop(HEADS_DUE, None), session.info.pop(NEW_HEADS, set())
    if not due:
        return
    tails, conn = session.info[TAILS], session.connection()
    if made:
        conn.execute(_NEW_HEAD, [{"instance_id": chain, "new_hash": tails[chain], "added": due[chain]}
                                 for chain in made])
    if appended := [{"chain": chain, "new_hash": tails[chain], "added": added}
                    for chain, added in due.items() if chain not in made]:
        conn.execute(_APPEND, appended)


def events(session: Session, instance_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                .order_by(AuditEvent.id)))


def verify_chain(session: Session, instance_id: int) -> AuditEvent | None:
    """The first event whose link or hash does not check out; None when the chain is intact.

    Events cut off the end leave a chain that no longer ends where the instance's head says: then
    the last event still present is returned (an unsaved placeholder if none is left)."""
    write_heads(session)   # this transaction's own appends, if any, as a commit would leave them
    prev, chain = None, events(session, instance_id)
    for e in chain:
        if e.prev_hash != prev or e.hash != _digest(prev, e.at, e.actor, e.action, e.element_id, e.detail):
            return e
        prev = e.hash
    heads = table_of(AuditHead)
    head = session.execute(select(heads.c.hash, heads.c.events).where(heads.c.instance_id == instance_id)).first()
    if head is not None and head.hash is not None and (head.hash != prev or head.events != len(chain)):
        return chain[-1] if chain else AuditEvent(instance_id=instance_id, action="events_missing", hash=head.hash)
    return None


CSV_COLUMNS = ("at", "actor", "action", "element", "detail", "prev_hash", "hash")


def csv_text(rows: Iterable[AuditEvent]) -> str:
    """The events as CSV, values exactly as hashed (``at`` ISO-8601 UTC, ``detail`` JSON), so anyone
    can recompute each hash: sha256(json.dumps([prev_hash, at, actor, action, element, detail],
    sort_keys=True)). No spreadsheet escaping: it would change the values."""
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(CSV_COLUMNS)
    for e in rows:
        out.writerow([_iso(e.at), e.actor or "", e.action, e.element_id or "",
                      "" if e.detail is None else json.dumps(e.detail, sort_keys=True, ensure_ascii=False),
                      e.prev_hash or "", e.hash])
    return buffer.getvalue()
