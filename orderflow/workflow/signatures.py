"""Electronic signatures in the manner of 21 CFR Part 11 (§11.50 manifestation, §11.70 linking,
§11.200 re-entered password).

- A step with the property ``signature=true`` is signed by completing it with the password
  re-entered (``tasks.complete`` checks it). The ``Signature`` row keeps the signer, their printed
  name at that moment, the meaning (the step's ``signatureMeaning``, default "approved"), the
  platform time and the exact content signed: the sales list as it stands in the order's data, as
  canonical JSON, with its SHA-256. Its audit event carries the same hash, so the signature sits
  in the order's tamper-evident chain.
- A decision other than the form's first (positive) value, e.g. "reject", is a *refusal*: recorded
  the same way (``refused``, meaning ``REFUSAL_MEANING``), it never releases anything.
- Four eyes: whoever made the latest completion of a step named in ``signatureRequestedBy`` (the
  request, e.g. issuing the sales list) may not sign, nor refuse; nor may the person who entered
  the order, whose own sale it is. Refused before anything is stored.
- A step with ``requiresSignatureOf=<signature step>`` completes only when that step's latest
  signature on the order is an approval whose content still hashes the same against the order's
  data; after any change to the signed facts it must be signed again.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderflow.core import audit
from orderflow.core.errors import RuleViolated
from orderflow.core.i18n import Msg, Texts, element_name
from orderflow.core.models import Attachment, HumanTask, Instance, Signature, User
from orderflow.core.platform import platform_of
from orderflow.engine import ElementInfo
from orderflow.workflow import attachments, definitions

DEFAULT_MEANING = "approved"
REFUSAL_MEANING = "refused / 拒绝签署"   # stored as signed, like the configured meanings


def canonical(content: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 as is: one text per content, the one that is hashed."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sales_list(session: Session, instance_id: int, data: Mapping[str, Any],
               fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The signed facts from the order's data (``fields``, else those the business signs: its
    ``signed_fields`` hook); an attached file is signed by its SHA-256 too. Absent fields are signed
    as null, so one added later changes the hash too."""
    content = {}
    for name in platform_of(session).hooks.signed_fields if fields is None else fields:
        value = data.get(name)
        file_id = attachments.ref_id(value)
        if file_id is not None:
            row = session.get(Attachment, file_id)
            value = {"attachment": value, "sha256": row.sha256 if row and row.instance_id == instance_id else None}
        content[name] = value
    return content


def _element(session: Session, instance: Instance, element_id: str) -> ElementInfo | None:
    return definitions.definition(session, instance.version).elements.get(element_id)


def _step_name(session: Session, instance: Instance, element_id: str) -> Texts:
    info = _element(session, instance, element_id)
    return element_name(info.name if info else element_id)


def latest(session: Session, instance_id: int, element_id: str) -> Signature | None:
    return session.scalar(select(Signature).where(Signature.instance_id == instance_id,
                                                  Signature.element_id == element_id)
                          .order_by(Signature.id.desc()).limit(1))


def for_instance(session: Session, instance_id: int) -> list[Signature]:
    return list(session.scalars(select(Signature).where(Signature.instance_id == instance_id)
                                .order_by(Signature.id)))


def current_sha256(session: Session, signature: Signature, data: Mapping[str, Any]) -> str:
    """The hash the signed fields have in ``data`` now (the fields the signature itself lists)."""
    fields = list(json.loads(signature.content))
    return sha256(canonical(sales_list(session, signature.instance_id, data, fields)))


# -- four eyes -------------------------------------------------------------------------------------

def four_eyes_conflict(session: Session, actor: User, task: HumanTask) -> Msg | None:
    """Why ``actor`` may not sign ``task`` (None: they may); also shown on the task page."""
    info = _element(session, task.instance, task.element_id)
    if info is None or not info.signature:
        return None
    for element_id in info.signature_requested_by:
        requester = session.scalar(select(HumanTask.completed_by).where(
            HumanTask.instance_id == task.instance_id, HumanTask.element_id == element_id,
            HumanTask.status == "completed").order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1))
        if requester == actor.username:
            return Msg("You completed '%(request)s' for this order, so you may not also sign '%(step)s' "
                       "(four-eyes rule): someone else must sign.",
                       request=_step_name(session, task.instance, element_id), step=element_name(info.name))
    if task.instance.started_by == actor.username:
        return Msg("You entered this order, so you may not sign '%(step)s' for it (four-eyes rule): "
                   "someone else must sign.", step=element_name(info.name))
    return None


# -- the signature gate ------------------------------------------------------------------------------

def signature_problem(session: Session, instance: Instance, element_id: str, step: str,
                      data: Mapping[str, Any]) -> Msg | None:
    """Why ``step`` may not complete for want of a valid signature on ``element_id`` (None: it may)."""
    signature = latest(session, instance.id, element_id)
    signed_step = _step_name(session, instance, element_id)
    if signature is None:
        return Msg("'%(step)s' needs a valid signature on '%(signature)s' first, and this order has none.",
                   step=step, signature=signed_step)
    if signature.refused:
        return Msg("'%(step)s' needs a valid signature on '%(signature)s', but the latest one is a refusal by "
                   "%(name)s.", step=step, signature=signed_step, name=signature.printed_name)
    now = current_sha256(session, signature, data)
    if now != signature.content_sha256:
        return Msg("The order changed after %(name)s signed '%(signature)s': the signature covers SHA-256 "
                   "%(signed)s…, the order now hashes to %(now)s…, so the signature is no longer valid and "
                   "'%(step)s' cannot be completed. It must be signed again.",
                   name=signature.printed_name, signature=signed_step, signed=signature.content_sha256[:12],
                   now=now[:12], step=step)
    return None


def check_before_complete(session: Session, actor: User, task: HumanTask, data: Mapping[str, Any]) -> None:
    """Four eyes on a signature step, a valid signature for a step that requires one.

    ``data``: the order's data as it will stand once the step is done (its form merged in)."""
    conflict = four_eyes_conflict(session, actor, task)
    if conflict is not None:
        raise RuleViolated(conflict)
    info = _element(session, task.instance, task.element_id)
    if info is not None and info.requires_signature_of:
        problem = signature_problem(session, task.instance, info.requires_signature_of, info.name, data)
        if problem is not None:
            raise RuleViolated(problem)


# -- signing -------------------------------------------------------------------------------------------

def is_refusal(schema: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """A decision other than the form's first (positive) choice declines to sign."""
    choices = ((schema.get("properties") or {}).get("decision") or {}).get("enum") or []
    return bool(choices) and "decision" in values and values["decision"] != choices[0]


def sign(session: Session, actor: User, task: HumanTask, schema: Mapping[str, Any], values: Mapping[str, Any],
         data: Mapping[str, Any]) -> Signature:
    """Record the signature (or refusal) of ``task`` by ``actor``, whose password was checked."""
    info = _element(session, task.instance, task.element_id)
    refused = is_refusal(schema, values)
    meaning = REFUSAL_MEANING if refused else ((info.signature_meaning if info else None) or DEFAULT_MEANING)
    content = canonical(sales_list(session, task.instance_id, data))
    digest = sha256(content)
    event = audit.record(session, task.instance_id, actor.username, "signature_refused" if refused else "signature",
                         task.element_id, {"meaning": meaning, "signer": actor.display_name, "task_id": task.id,
                                           "content_sha256": digest})
    row = Signature(instance_id=task.instance_id, task_id=task.id, element_id=task.element_id,
                    signer=actor.username, printed_name=actor.display_name, meaning=meaning, refused=refused,
                    signed_at=event.at, content=content, content_sha256=digest, audit_event_id=event.id)
    session.add(row)
    return row


# -- how signatures stand now, for pages and the API -------------------------------------------------

@dataclass
class SignatureState:
    signature: Signature
    status: str            # valid, invalid (the signed facts changed), refused, superseded
    current_sha256: str

    @property
    def valid(self) -> bool:
        return self.status == "valid"


def states(session: Session, instance_id: int, data: Mapping[str, Any]) -> list[SignatureState]:
    rows = for_instance(session, instance_id)
    newest = {row.element_id: row.id for row in rows}
    result = []
    for row in rows:
        now = current_sha256(session, row, data)
        status = ("refused" if row.refused else "superseded" if newest[row.element_id] != row.id
                  else "valid" if now == row.content_sha256 else "invalid")
        result.append(SignatureState(row, status, now))
    return result


@dataclass
class TaskHint:
    """What the task page says before anyone submits."""

    meaning: str | None       # a signature step's meaning (None: not a signature step)
    conflict: Msg | None      # why this person may not sign it
    problem: Msg | None       # why a step that requires a signature cannot complete as things stand


def hint(session: Session, actor: User, task: HumanTask) -> TaskHint:
    info = _element(session, task.instance, task.element_id)
    if info is None:
        return TaskHint(None, None, None)
    meaning = (info.signature_meaning or DEFAULT_MEANING) if info.signature else None
    problem = signature_problem(session, task.instance, info.requires_signature_of, info.name, task.context or {}) \
        if info.requires_signature_of and task.status == "ready" else None
    return TaskHint(meaning, four_eyes_conflict(session, actor, task) if task.status == "ready" else None, problem)
