"""Messages from outside (a bank's payment notice, a customer's confirmation): delivered to the
one instance waiting for them (found through ``correlations``), or starting the one process whose
start event they are."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from orderflow.access.permissions import require_integration
from orderflow.core import audit
from orderflow.core.errors import Conflict, InvalidInput, NotFound
from orderflow.core.i18n import Msg, status_word
from orderflow.core.models import Instance, ProcessVersion, User
from orderflow.core.platform import platform_of
from orderflow.engine import json_clean, start_messages
from orderflow.workflow import correlations, definitions, instances, runs


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


def deliver(session: Session, actor: User, name: str, correlation: Any, payload: Any) -> tuple[Instance, str]:
    """Deliver a message to the one instance waiting for it, or start the one process whose start
    event it is; returns the instance and the catching element."""
    require_integration(actor)
    keys = _validate(name, correlation, payload)
    # the message carries its correlation values, as BPMN's retrieval expressions expect
    body = {**{k: v for k, v in correlation.items() if k != "business_key"}, **payload}
    try:
        instance = session.get_one(Instance, correlations.find_receiver(session, name, keys))
    except NotFound:
        row = _started_by(session, name)
        if row is None:
            raise
        instance = instances.start_by_message(session, actor, row, body)
    if instance.status != "running":
        raise Conflict(Msg("The order is %(status)s; it takes no messages until it runs again.",
                           status=status_word(instance.status)))
    pdef, workflow = runs.load(session, instance, actor.username)
    element_id = platform_of(session).runtime.deliver_message(workflow, name, body)
    audit.record(session, instance.id, actor.username, "message_received", element_id,
                 {"message": name, "correlation": keys, "payload": dict(payload)})
    runs.store_workflow(session, instance, pdef, workflow)
    return instance, element_id


def _started_by(session: Session, name: str) -> ProcessVersion | None:
    """The latest version of the one process a message ``name`` starts (a message start event)."""
    found = []
    for row in definitions.list_latest(session, sources=True):
        if not any(name in text for text in (row.sources or {}).values()):
            continue  # cheap: most processes never mention the message
        if name in start_messages(definitions.definition(session, row)):
            found.append(row)
    if len(found) > 1:
        raise Conflict(Msg("The message '%(name)s' starts more than one process (%(keys)s); it cannot tell "
                           "which.", name=name, keys=", ".join(r.key for r in found)))
    return found[0] if found else None
