"""Deployed process versions and their compiled definitions: the read side of ``processes``
(deploying), which everything that runs an instance looks versions up in."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from orderflow.core.errors import NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import ProcessVersion
from orderflow.core.platform import platform_of
from orderflow.engine import ProcessDef


def latest_version(session: Session, key: str) -> ProcessVersion | None:
    return session.scalar(select(ProcessVersion).where(ProcessVersion.key == key)
                          .order_by(ProcessVersion.version.desc()).limit(1))


def get_version(session: Session, key: str, version: int | None = None) -> ProcessVersion:
    if version is None:
        row = latest_version(session, key)
    else:
        row = session.scalar(select(ProcessVersion).where(ProcessVersion.key == key,
                                                          ProcessVersion.version == version))
    if row is None:
        raise NotFound(Msg("No process '%(key)s' version %(version)s is deployed.", key=key, version=version)
                       if version else Msg("No process '%(key)s' is deployed.", key=key))
    return row


def list_latest(session: Session, sources: bool = True) -> list[ProcessVersion]:
    """The newest version of every process; ``sources=False`` leaves the diagrams and forms unread
    (a listing that only names the processes need not decode every diagram)."""
    newest = (select(ProcessVersion.key, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.key).subquery())
    query = select(ProcessVersion).join(
        newest, (ProcessVersion.key == newest.c.key) & (ProcessVersion.version == newest.c.v))
    if not sources:
        query = query.options(defer(ProcessVersion.sources), defer(ProcessVersion.forms))
    return list(session.scalars(query.order_by(ProcessVersion.key)))


def list_versions(session: Session) -> list[ProcessVersion]:
    return list(session.scalars(select(ProcessVersion).order_by(ProcessVersion.key, ProcessVersion.version)))


def definition(session: Session, row: ProcessVersion) -> ProcessDef:
    """The compiled definition of a stored version, from the cache or compiled once."""
    platform = platform_of(session)
    return platform.cache.get(row.key, row.sha256, lambda: row.sources, lambda: row.forms, platform.handlers)
