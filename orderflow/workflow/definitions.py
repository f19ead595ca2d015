"""Deployed process versions and their compiled definitions: the read side of ``processes``
(deploying), which everything that runs an instance looks versions up in."""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from orderflow.core.errors import NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import ProcessVersion
from orderflow.core.platform import platform_of
from orderflow.engine import ProcessDef
from orderflow.engine.json_clean import copy_json


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


def list_latest(session: Session, sources: bool = False) -> list[ProcessVersion]:
    """The newest version of every process; ``sources=True`` reads their diagrams and forms along
    (a listing that only names the processes need not decode every diagram)."""
    newest = (select(ProcessVersion.key, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.key).subquery())
    query = select(ProcessVersion).join(
        newest, (ProcessVersion.key == newest.c.key) & (ProcessVersion.version == newest.c.v))
    if sources:
        query = query.options(undefer(ProcessVersion.sources), undefer(ProcessVersion.forms))
    return list(session.scalars(query.order_by(ProcessVersion.key)))


def list_versions(session: Session) -> list[ProcessVersion]:
    return list(session.scalars(select(ProcessVersion).order_by(ProcessVersion.key, ProcessVersion.version)))


def definition(session: Session, row: ProcessVersion) -> ProcessDef:
    """The compiled definition of a stored version, from the cache or compiled once."""
    platform = platform_of(session)
    return platform.cache.get(row.key, row.sha256, lambda: row.sources, lambda: row.forms, platform.handlers)


def forms_of(session: Session, row: ProcessVersion) -> Mapping[str, Any]:
    """The version's forms, decoded once per process (a deployed version's forms never change).
    Shared: read them, never change them; ``form`` hands out a copy of one."""
    kept = platform_of(session).cache.version_forms
    key = (row.id, row.sha256)
    found = kept.get(key)
    if found is None:
        found = kept.put(key, MappingProxyType(dict(row.forms or {})))
    return found


def form(session: Session, row: ProcessVersion, key: str | None) -> dict[str, Any] | None:
    """One form of the version (the caller's own copy), or None when it has no such form."""
    found = forms_of(session, row).get(key or "")
    return copy_json(found) if found is not None else None


def deployed_element_ids(session: Session, key: str) -> dict[str, int]:
    """Each element id some deployed version of ``key`` has, with the first version that had it: those
    ids are fixed (orders, reports, board filters and saved filters refer to them)."""
    found: dict[str, int] = {}
    rows = session.scalars(select(ProcessVersion).where(ProcessVersion.key == key).order_by(ProcessVersion.version))
    for row in rows:
        for element_id in definition(session, row).elements:
            found.setdefault(element_id, row.version)
    return found
