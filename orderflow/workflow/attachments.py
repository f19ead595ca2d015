"""Files attached to orders through form fields of ``"format": "attachment"``.

A form value refers to a stored file as ``attachment:<id>:<filename>``. A submission may only
refer to files of its own order, or to files the same person uploaded for an order not yet
started, so nobody can pull another order's documents into theirs.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from orderflow.access.permissions import require_instance_viewer
from orderflow.core.errors import InvalidInput, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import Attachment, Instance, User
from orderflow.workflow import forms


def safe_filename(filename: str | None) -> str:
    """The name as a download may carry it: no folders (``../../x`` → ``x``), no control characters
    (a line break would end an HTTP header), at most 200 characters."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", re.split(r"[/\\]", filename or "")[-1]).strip(" .")
    return name[-200:] or "file"


def save(session: Session, actor: User, instance_id: int | None, filename: str, content_type: str | None,
         content: bytes) -> str:
    row = Attachment(instance_id=instance_id, filename=safe_filename(filename),
                     content_type=content_type or "application/octet-stream", size=len(content),
                     sha256=hashlib.sha256(content).hexdigest(), content=content, uploaded_by=actor.username)
    session.add(row)
    session.flush()
    return f"attachment:{row.id}:{row.filename}"


def ref_id(value: Any) -> int | None:
    if isinstance(value, str) and value.startswith("attachment:"):
        part = value.split(":", 2)[1]
        return int(part) if part.isdigit() else None
    return None


def check_refs(session: Session, actor: User, schema: Mapping[str, Any], values: Mapping[str, Any],
               instance_id: int | None) -> list[Attachment]:
    """The attachments a submission refers to; InvalidInput for any it may not use."""
    found, errors = [], {}
    for name, prop in forms.fields(schema):
        if prop.get("format") != "attachment" or not values.get(name):
            continue
        row = session.get(Attachment, ref_id(values[name]) or 0)
        mine_unbound = row is not None and row.instance_id is None and row.uploaded_by == actor.username
        if row is None or not ((row.instance_id == instance_id and instance_id is not None) or mine_unbound):
            errors[name] = Msg("Upload the file with this form; it refers to a file this order does not have.")
        else:
            found.append(row)
    if errors:
        raise InvalidInput(Msg("Some fields need attention: %(fields)s.", fields=", ".join(sorted(errors))),
                           fields=errors)
    return found


def bind(rows: list[Attachment], instance_id: int) -> None:
    for row in rows:
        row.instance_id = instance_id


def get(session: Session, actor: User, attachment_id: int) -> Attachment:
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(Msg("There is no such attachment."))
    if row.instance_id is not None:
        require_instance_viewer(session, actor, session.get_one(Instance, row.instance_id))
    elif row.uploaded_by != actor.username:
        raise NotFound(Msg("There is no such attachment."))
    return row
