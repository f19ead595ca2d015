"""Deploying diagrams as numbered versions, and finding a version's compiled definition."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderflow.access.permissions import require_deployer
from orderflow.core import audit
from orderflow.core.errors import DeployFailed, InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import ProcessVersion, User
from orderflow.core.platform import platform_of
from orderflow.engine import DeployRejected, ProcessDef, compile_bundle, linear_re
from orderflow.engine.timer_limits import minimum_from
from orderflow.workflow import definitions, instances, routing_check

MAX_NOTE = 2_000  # characters of a release note


def release_note(note: object) -> str | None:
    """The release note as stored: text, trimmed, at most MAX_NOTE characters; empty is none."""
    if note is None:
        return None
    if not isinstance(note, str):
        raise InvalidInput(Msg("The release note must be text."), fields={"note": Msg("not text")})
    if len(note.strip()) > MAX_NOTE:
        raise InvalidInput(Msg("Keep the release note to %(max)s characters.", max=f"{MAX_NOTE:,}"),
                           fields={"note": Msg("Enter at most %(max)s characters.", max=f"{MAX_NOTE:,}")})
    return note.strip() or None


def deploy(session: Session, actor: User | None, files: Mapping[str, bytes | str],
           check_permission: bool = True, warnings: list[dict] | None = None,
           note: object = None) -> list[ProcessVersion]:
    """Compile the bundle and store each executable process as version N+1 of its key, with the
    release ``note``.

    Uploading exactly what the latest version already holds creates no new version, so
    ``flask deploy`` on every start is harmless. Lint warnings are appended to ``warnings``.
    """
    if check_permission and actor is not None:
        require_deployer(actor)
    note = release_note(note)
    platform = platform_of(session)
    called, notes = called_library(session, files)
    files = {**called, **files}
    files = {**decision_library(session, files), **files}
    try:
        with minimum_from(platform.config):  # ORDERFLOW_MIN_TIMER_CYCLE for the timer checks
            defs = compile_bundle(files, platform.handlers, platform.load_form)
    except DeployRejected as exc:
        problems = [p.as_dict() for p in exc.problems]
        raise DeployFailed(Msg("The diagram was not deployed: %(count)s problem(s) to fix. First: %(first)s",
                               count=len(problems), first=problems[0]["message"]), problems) from None
    deployed = []
    if warnings is not None:
        seen = {(w.element_id, w.message): w.as_dict() for d in defs for w in d.warnings}
        warnings.extend(seen.values())
        warnings.extend(routing_check.warnings_for(session, defs) + notes)
    for pdef in defs:
        latest = definitions.latest_version(session, pdef.key)
        if latest is not None and _same(latest, pdef):
            deployed.append(latest)
            continue
        newest = session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.key == pdef.key))
        number = (newest or 0) + 1
        start = pdef.start
        row = ProcessVersion(key=pdef.key, version=number, name=pdef.name, sha256=pdef.sha256,
                             sources=pdef.sources, forms=pdef.forms,
                             start_group=start.group if start else None,
                             start_groups=list(start.groups) if start and start.groups else None,
                             start_form=start.form_key if start else None,
                             deployed_by=actor.username if actor else "system",
                             deployed_at=platform.clock(), note=note)
        session.add(row)
        session.flush()
        platform.cache.put(pdef)
        audit.record(session, None, row.deployed_by, "process_deployed", None,
                     {"key": row.key, "version": row.version, "sha256": row.sha256})
        if pdef.start is not None and pdef.start.timer:
            instances.schedule_timer_start(session, row, pdef)
        deployed.append(row)
    return deployed


def _same(latest: ProcessVersion, pdef: ProcessDef) -> bool:
    """Does the latest version already run exactly this? Its files may include more than this
    process needs (versions stored before each kept only its own files, or a bundle's DMN it
    never calls): what counts is that every file this process runs on is there unchanged."""
    if latest.sha256 == pdef.sha256:
        return latest.forms == pdef.forms
    stored = sorted(latest.sources.values())
    return latest.forms == pdef.forms and all(text in stored for text in pdef.sources.values())


# over uploaded XML: RE2, linear (re took quadratic time over "<decision " repeated, a 5 MB upload: hours)
_CALLED_DECISION = linear_re.compile(r'calledDecisionId>\s*([^<\s]+)\s*<|decisionRef="([^"$#{}]+)"')
_DECISION = linear_re.compile(r'<(?:\w+:)?decision\b[^>]*\bid="([^"]+)"')


def _text(content: bytes | str) -> str:
    return content.decode("utf-8", "replace") if isinstance(content, bytes) else content


def decision_library(session: Session, files: Mapping[str, bytes | str]) -> dict[str, str]:
    """DMN files of deployed versions that define decisions the upload calls but does not bring,
    so a diagram edited on its own (the modeler, a re-upload) keeps its decision tables."""
    called = {a or b for name, content in files.items() if name.endswith((".bpmn", ".xml"))
              for a, b in _CALLED_DECISION.findall(_text(content))}
    defined = {d for name, content in files.items() if name.endswith(".dmn") for d in _DECISION.findall(_text(content))}
    missing = called - defined
    found: dict[str, str] = {}
    if not missing:
        return found
    for row in sorted(definitions.list_latest(session, sources=True), key=lambda r: r.deployed_at, reverse=True):
        for name, text in row.sources.items():
            if name.endswith(".dmn") and name not in files and set(_DECISION.findall(text)) & missing:
                found.setdefault(name, text)
                missing -= set(_DECISION.findall(text))
    return found


_CALLED = linear_re.compile(r'calledElement="([^"$#{}]+)"')
_PROCESS = linear_re.compile(r'<(?:\w+:)?process\b[^>]*\bid="([^"]+)"')


def called_library(session: Session, files: Mapping[str, bytes | str]) -> tuple[dict[str, str], list[dict]]:
    """Files of the latest deployed versions that define processes the upload calls (at any depth)
    but does not bring, so a caller re-deployed alone still finds what it calls; with a warning
    saying which deployed version each comes from."""
    texts = [_text(c) for n, c in files.items() if n.endswith((".bpmn", ".xml"))]
    found: dict[str, str] = {}
    notes: list[dict] = []
    for _ in range(50):  # each round adds at least one process or stops
        known = texts + list(found.values())
        missing = {c for t in known for c in _CALLED.findall(t)} - {p for t in known for p in _PROCESS.findall(t)}
        rows = [r for r in (definitions.latest_version(session, key) for key in sorted(missing)) if r is not None]
        if not rows:
            break
        for row in rows:
            source = next(((n, t) for n, t in row.sources.items() if row.key in _PROCESS.findall(t)), None)
            if source is None:
                continue
            name, text = source
            name = name if name not in files and name not in found else f"deployed_{row.key}.bpmn"
            found[name] = text
            notes.append({"element_id": None, "line": None, "file": name, "severity": "warning",
                          "message": Msg("The called process '%(key)s' is not in the upload: its deployed "
                                         "version %(version)s is used.", key=row.key, version=row.version)})
    return found, notes


def deploy_directory(session: Session, folder: Path) -> list[ProcessVersion]:
    """Deploy every .bpmn/.dmn in ``folder``, each BPMN file with all DMN files beside it."""
    dmn = {p.name: p.read_bytes() for p in sorted(folder.glob("*.dmn"))}
    deployed = []
    for path in sorted(folder.glob("*.bpmn")):
        deployed += deploy(session, None, {path.name: path.read_bytes(), **dmn}, check_permission=False)
    return deployed
