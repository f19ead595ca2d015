"""Append-only audit events, chained by hash per instance so tampering shows.

There is deliberately no update or delete function here.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEvent
from .platform import platform_of


def _digest(prev: str | None, at: datetime, actor: str | None, action: str, element_id: str | None,
            detail: dict | None) -> str:
    body = json.dumps([prev, at.isoformat(), actor, action, element_id, detail], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def record(session: Session, instance_id: int | None, actor: str | None, action: str,
           element_id: str | None = None, detail: dict[str, Any] | None = None) -> AuditEvent:
    prev = None
    tails = session.info.setdefault("audit_tails", {})  # cleared at commit and rollback (db.py)
    if instance_id is not None:
        prev = tails[instance_id] if instance_id in tails else session.scalar(
            select(AuditEvent.hash).where(AuditEvent.instance_id == instance_id)
            .order_by(AuditEvent.id.desc()).limit(1))
    at = platform_of(session).clock()
    event = AuditEvent(instance_id=instance_id, at=at, actor=actor, action=action, element_id=element_id,
                       detail=detail, prev_hash=prev)
    event.hash = _digest(prev, at, actor, action, element_id, detail)
    session.add(event)
    if instance_id is not None:
        tails[instance_id] = event.hash
    return event


def events(session: Session, instance_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                .order_by(AuditEvent.id)))


def verify_chain(session: Session, instance_id: int) -> bool:
    prev = None
    for e in events(session, instance_id):
        if e.prev_hash != prev or e.hash != _digest(prev, e.at, e.actor, e.action, e.element_id, e.detail):
            return False
        prev = e.hash
    return True
