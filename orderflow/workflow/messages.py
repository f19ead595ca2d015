"""Messages from outside (a bank's payment notice, a customer's confirmation).

Each instance's waiting messages are indexed in ``correlation_keys`` as (message, property,
value) rows, kept in step with the engine state on every store, so a message finds its one
receiver with an indexed lookup instead of loading instances. Every waiting message can be
correlated by ``business_key``; a diagram's correlation properties (e.g. ``order_no``) are
looked up in the instance's data.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.orm import Session

from orderflow.access.permissions import require_integration
from orderflow.core.errors import Conflict, InvalidInput, NotFound
from orderflow.core.i18n import Msg, status_word
from orderflow.core.models import CorrelationKey, Instance, ProcessVersion, User
from orderflow.core.platform import platform_of
from orderflow.engine import ProcessDef, Snapshot, json_clean, start_messages
from orderflow.workflow import audit


def sync_correlations(session: Session, instance: Instance, pdef: ProcessDef, snap: Snapshot) -> None:
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
    rows = list(session.scalars(select(CorrelationKey).where(CorrelationKey.instance_id == instance.id)))
    have = {(r.message, r.property, r.value): r for r in rows}
    for key, row in have.items():
        if key not in wanted:
            session.delete(row)
    for message, prop, value in wanted - set(have):
        session.add(CorrelationKey(instance_id=instance.id, message=message, property=prop, value=value))


def forget(session: Session, instance_id: int) -> None:
    session.execute(delete(CorrelationKey).where(CorrelationKey.instance_id == instance_id))


def _validate(name: str, correlation: Any, payload: Any) -> dict[str, str]:
    if not isinstance(correlation, Mapping) or not correlation:
        raise InvalidInput(Msg("'correlation' must name at least one property and its value, e.g. "
                               "{\"order_no\": \"SO-20261127-0001\"}."), fields={"correlation": Msg("required")})
    if not isinstance(payload, Mapping):
        raise InvalidInput(Msg("'payload' must be a JSON object."), fields={"payload": Msg("not an object")})
    json_clean.require(dict(payload), "payload")  # handed on into the order's data
    json_clean.require(dict(correlation), "correlation")
    bad = [k for k, v in correlation.items() if isinstance(v, (dict, list)) or v is None]
    if bad:
        raise InvalidInput(Msg("Correlation values must be text or numbers."),
                           fields={k: Msg("not a plain value") for k in bad})
    return {str(k): str(v) for k, v in correlation.items()}


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


def deliver(session: Session, actor: User, name: str, correlation: Any, payload: Any) -> tuple[Instance, str]:
    """Deliver a message to the one instance waiting for it, or start the one process whose start
    event it is; returns the instance and the catching element."""
    from orderflow.workflow import instances
    require_integration(actor)
    keys = _validate(name, correlation, payload)
    # the message carries its correlation values, as BPMN's retrieval expressions expect
    body = {**{k: v for k, v in correlation.items() if k != "business_key"}, **payload}
    try:
        instance = session.get_one(Instance, find_receiver(session, name, keys))
    except NotFound:
        row = _started_by(session, name)
        if row is None:
            raise
        instance = instances.start_by_message(session, actor, row, body)
    if instance.status != "running":
        raise Conflict(Msg("The order is %(status)s; it takes no messages until it runs again.",
                           status=status_word(instance.status)))
    pdef, workflow = instances.load(session, instance, actor.username)
    element_id = platform_of(session).runtime.deliver_message(workflow, name, body)
    audit.record(session, instance.id, actor.username, "message_received", element_id,
                 {"message": name, "correlation": keys, "payload": dict(payload)})
    instances.store_workflow(session, instance, pdef, workflow)
    return instance, element_id


def _started_by(session: Session, name: str) -> ProcessVersion | None:
    """The latest version of the one process a message ``name`` starts (a message start event)."""
    from orderflow.workflow import processes
    found = []
    for row in processes.list_latest(session):
        if not any(name in text for text in (row.sources or {}).values()):
            continue  # cheap: most processes never mention the message
        if name in start_messages(processes.definition(session, row)):
            found.append(row)
    if len(found) > 1:
        raise Conflict(Msg("The message '%(name)s' starts more than one process (%(keys)s); it cannot tell "
                           "which.", name=name, keys=", ".join(r.key for r in found)))
    return found[0] if found else None
