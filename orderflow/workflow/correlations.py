"""Which instance waits for which message: each instance's waiting messages are indexed in
``correlation_keys`` as (message, property, value) rows, kept in step with the engine state on every
store, so a message finds its one receiver with an indexed lookup instead of loading instances.
Every waiting message can be correlated by ``business_key``; a diagram's correlation properties
(e.g. ``order_no``) are looked up in the instance's data."""
from __future__ import annotations

from sqlalchemy import bindparam, delete, func, select, tuple_
from sqlalchemy.orm import Session

from orderflow.core.errors import Conflict, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import CorrelationKey, Instance
from orderflow.engine import ProcessDef, Snapshot

_KEYS = select(CorrelationKey).where(CorrelationKey.instance_id == bindparam("instance"))  # built once


def current(session: Session, instance: Instance, pdef: ProcessDef, first: bool) -> list[CorrelationKey]:
    """The instance's index rows as this transaction has them: read without autoflush, so a store
    reads them before its first write (``runs.prepare_store``), with the ones it added and not yet
    flushed. Nothing is read where the diagram defines no messages, nor before the instance's first
    store (it has no rows yet)."""
    if not pdef.message_keys or first:
        return []
    made = [row for row in session.new if isinstance(row, CorrelationKey) and row.instance_id == instance.id]
    with session.no_autoflush:
        stored = list(session.scalars(_KEYS, {"instance": instance.id}))
    return [row for row in stored if row not in session.deleted] + made


def sync(session: Session, instance: Instance, pdef: ProcessDef, snap: Snapshot,
         rows: list[CorrelationKey]) -> None:
    """Make the index rows (``rows``: ``current``'s reading) say what the instance waits for now."""
    if not pdef.message_keys:  # the diagram defines no messages: nothing to index
        return
    wanted: set[tuple[str, str, str]] = set()
    if instance.status in {"running", "error", "suspended"}:
        for wait in snap.waits:
            if wait.kind != "message" or not wait.name:
                continue
            if instance.business_key:
                wanted.add((wait.name, "business_key", instance.business_key))
            for prop, value in wait.correlation.items():
                wanted.add((wait.name, prop, value))
    have = {(r.message, r.property, r.value): r for r in rows}
    for key, row in have.items():
        if key not in wanted:
            if row in session.new:
                session.expunge(row)
            else:
                session.delete(row)
    for message, prop, value in wanted - set(have):
        session.add(CorrelationKey(instance_id=instance.id, message=message, property=prop, value=value))


def forget(session: Session, instance_id: int) -> None:
    session.execute(delete(CorrelationKey).where(CorrelationKey.instance_id == instance_id))


def find_receiver(session: Session, name: str, correlation: dict[str, str]) -> int:
    pairs = list(correlation.items())
    query = (select(CorrelationKey.instance_id)
             .where(CorrelationKey.message == name,
                    tuple_(CorrelationKey.property, CorrelationKey.value).in_(pairs))
             .group_by(CorrelationKey.instance_id)
             .having(func.count(func.distinct(CorrelationKey.property)) == len(pairs)))
    found = list(session.scalars(query.limit(2)))
    if not found:
        raise NotFound(Msg("No order is waiting for the message '%(name)s' with %(keys)s.", name=name,
                           keys=", ".join(f"{k}={v}" for k, v in pairs)))
    if len(found) > 1:
        raise Conflict(Msg("More than one order waits for '%(name)s' with %(keys)s; add a property that "
                           "tells them apart.", name=name, keys=", ".join(f"{k}={v}" for k, v in pairs)))
    return found[0]
