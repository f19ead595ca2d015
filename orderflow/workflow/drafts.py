"""Process owners' drafts: edit a diagram and its forms, check them, deploy them as a version.

A draft belongs to a process key, not to a person: two owners see the same draft, and the
optimistic lock tells the second writer that the first saved in between.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from orderflow.access.permissions import require_deployer
from orderflow.core import audit
from orderflow.core.errors import Conflict, DeployFailed, InvalidInput, LostRace, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import ProcessDraft, ProcessVersion, User
from orderflow.core.platform import platform_of
from orderflow.engine import DeployRejected, ExpressionError, ProcessDef, check_expression, compile_bundle, linear_re
from orderflow.engine.timer_limits import minimum_from
from orderflow.workflow import definitions, processes, routing_check

MAX_DRAFT_CHARS = 5_000_000
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,99}$")


def bundle(draft: ProcessDraft) -> dict[str, str]:
    """The files a deploy of this draft uploads: the diagrams plus every edited form."""
    files = dict(draft.sources)
    files.update({f"{key}.json": json.dumps(schema, ensure_ascii=False) for key, schema in draft.forms.items()})
    return files


def check_files(session: Session, actor: User, files: Mapping[str, bytes | str]) -> dict[str, Any]:
    """Compile and lint without deploying: {ok, problems (errors and warnings), processes}."""
    require_deployer(actor)
    try:
        defs, notes = compiled(session, files)
    except DeployRejected as exc:
        return {"ok": False, "problems": [p.as_dict() for p in exc.problems], "processes": []}
    warnings = {(w.element_id, w.message): w for d in defs for w in d.warnings}
    problems = [w.as_dict() for w in warnings.values()] + routing_check.warnings_for(session, defs) + notes
    return {"ok": True, "problems": problems,
            "processes": [{"key": d.key, "name": d.name} for d in defs]}


def compiled(session: Session, files: Mapping[str, bytes | str]) -> tuple[list[ProcessDef], list[dict]]:
    """The bundle compiled as a deploy would see it (with the called processes and decisions already
    deployed), and notes on those; raises DeployRejected with the problems."""
    platform = platform_of(session)
    called, notes = processes.called_library(session, files)
    files = {**called, **files}
    files = {**processes.decision_library(session, files), **files}
    with minimum_from(platform.config):  # ORDERFLOW_MIN_TIMER_CYCLE for the timer checks
        return compile_bundle(files, platform.handlers, platform.load_form), notes


def expression_check(text: str) -> dict[str, Any]:
    """``{ok, message}``: would a deploy accept this condition (with its "did you mean", if any)?"""
    if not text.strip():
        return {"ok": True, "message": None}
    try:
        check_expression(text)
    except ExpressionError as exc:
        return {"ok": False, "message": exc.message}   # a Msg: the answer speaks the reader's language
    return {"ok": True, "message": None}


def get(session: Session, key: str) -> ProcessDraft | None:
    return session.scalar(select(ProcessDraft).where(ProcessDraft.key == key))


def open_draft(session: Session, actor: User, key: str, version: int | None = None,
               persist: bool = True) -> ProcessDraft:
    """The process's draft, started from ``version`` (default: the latest) when there is none.

    With ``persist=False`` a missing draft is built but not stored: opening the modeler
    to look changes nothing until the owner saves.
    """
    require_deployer(actor)
    draft = get(session, key)
    if draft is not None:
        return draft
    row = definitions.get_version(session, key, version)
    draft = ProcessDraft(key=key, main_file=main_file(row), sources=dict(row.sources), forms=dict(row.forms),
                         base_version=row.version, updated_by=actor.username,
                         updated_at=platform_of(session).clock())
    if persist:
        session.add(draft)
        session.flush()
    return draft


def new_process(session: Session, actor: User, key: str, name: str) -> ProcessDraft:
    """A draft for a process that has never been deployed: a start, one step, an end."""
    require_deployer(actor)
    if not _KEY.match(key or ""):
        raise InvalidInput(Msg("A process key starts with a letter or '_' and holds letters, digits, '_' or '-'."),
                           fields={"key": Msg("letters, digits, '_' or '-'")})
    if get(session, key) is not None or definitions.latest_version(session, key) is not None:
        raise Conflict(Msg("A process '%(key)s' already exists; open it instead.", key=key))
    draft = ProcessDraft(key=key, main_file=f"{key}.bpmn", sources={f"{key}.bpmn": blank_diagram(key, name or key)},
                         forms={}, base_version=None, updated_by=actor.username,
                         updated_at=platform_of(session).clock())
    session.add(draft)
    session.flush()
    return draft


def save(session: Session, actor: User, key: str, *, bpmn: str | None = None,
         forms: Mapping[str, Any] | None = None, removed_forms: list[str] | None = None,
         lock_version: int | None = None, base_version: int | None = None) -> ProcessDraft:
    """Store the modeler's XML and/or edited forms. Nothing is checked here: a draft may be wrong.

    ``lock_version`` 0 means "I opened no saved draft"; ``base_version`` is the deployed version
    a new draft starts from (its forms and other files), the latest when not given.
    """
    require_deployer(actor)
    existing = get(session, key)
    if lock_version == 0 and existing is not None:
        raise Conflict(Msg("%(user)s saved a draft of this process after you opened it; reload to see it.",
                           user=existing.updated_by))
    draft = existing or open_draft(session, actor, key, base_version)
    if lock_version and lock_version != draft.lock_version:
        raise Conflict(Msg("%(user)s saved this draft after you opened it; reload to see their changes.",
                           user=draft.updated_by))
    if bpmn is not None:
        if not isinstance(bpmn, str) or not bpmn.strip():
            raise InvalidInput(Msg("The diagram is empty."), fields={"bpmn": Msg("required")})
        if len(bpmn) > MAX_DRAFT_CHARS:
            raise InvalidInput(Msg("The diagram is larger than %(size)s characters.", size=MAX_DRAFT_CHARS))
        draft.sources = {**draft.sources, draft.main_file: bpmn}
    if forms or removed_forms:
        edited = dict(draft.forms)
        for form_key, schema in (forms or {}).items():
            if not _KEY.match(form_key) or not isinstance(schema, dict):
                raise InvalidInput(Msg("A form needs a key of letters, digits, '_' or '-' and a JSON object."),
                                   fields={"forms": Msg("invalid form '%(key)s'", key=str(form_key)[:100])})
            edited[form_key] = schema
        for form_key in removed_forms or []:
            edited.pop(form_key, None)
        draft.forms = edited
    draft.updated_by = actor.username
    draft.updated_at = platform_of(session).clock()
    try:
        session.flush()
    except StaleDataError:
        raise LostRace(Msg("Someone saved this draft at the same moment; reload and try again.")) from None
    return draft


def check(session: Session, actor: User, key: str) -> dict[str, Any]:
    draft = open_draft(session, actor, key)
    return check_files(session, actor, bundle(draft))


def deploy(session: Session, actor: User, key: str, note: object = None) -> tuple[list[ProcessVersion], list[dict]]:
    """Deploy the draft as the next version(s) with the release ``note``, and remove it; its
    problems refuse the deploy."""
    draft = get(session, key)
    require_deployer(actor)
    if draft is None:
        raise NotFound(Msg("There is no draft of '%(key)s' to deploy.", key=key))
    warnings: list[dict] = []
    rows = processes.deploy(session, actor, bundle(draft), warnings=warnings, note=note)
    if key not in {r.key for r in rows}:
        raise DeployFailed(Msg("The draft no longer defines the process '%(key)s' (its id changed?).", key=key),
                           [{"element_id": None, "line": None, "file": draft.main_file, "severity": "error",
                             "message": Msg("No executable process with id '%(key)s'.", key=key)}])
    audit.record(session, None, actor.username, "draft_deployed", None,
                 {"key": key, "from_version": draft.base_version,
                  "versions": [{"key": r.key, "version": r.version} for r in rows]})
    session.delete(draft)
    session.flush()
    return rows, warnings


def discard(session: Session, actor: User, key: str) -> None:
    require_deployer(actor)
    draft = get(session, key)
    if draft is not None:
        session.delete(draft)
        session.flush()


def _process_tag(key: str):
    """The opening tag of process ``key``; RE2, linear over the stored diagram (keys are
    letters, digits, '_', '-' and '.')."""
    return linear_re.compile(rf'<(\w+:)?process\b[^>]*\bid="{re.escape(key)}"')


def main_file(row: ProcessVersion) -> str:
    """The source file that defines the process itself (others are called processes and DMN)."""
    for name, text in row.sources.items():
        if _process_tag(row.key).search(text):
            return name
    return next(iter(row.sources))


def blank_diagram(key: str, name: str) -> str:
    from xml.sax.saxutils import quoteattr
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="Definitions_{key}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{key}" name={quoteattr(name)} isExecutable="true">
    <bpmn:startEvent id="start" name="Start"><bpmn:outgoing>flow_end</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end" name="End"><bpmn:incoming>flow_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_end" sourceRef="start" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_{key}">
    <bpmndi:BPMNPlane id="plane_{key}" bpmnElement="{key}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="180" y="160" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="420" y="160" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_end_di" bpmnElement="flow_end">
        <di:waypoint x="216" y="178" /><di:waypoint x="420" y="178" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
'''
