"""Process versions: list them, compare two, and move running orders from one version to another.

Orders keep the version they started on; a process owner may move the running and suspended
ones to another version when the engine can carry their open steps over (engine/migration.py).
Each order moves on its own: one that cannot, or that someone changed at the same moment, is
reported and left exactly as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, distinct, func, select, update
from sqlalchemy.orm import Session

from orderflow.access.permissions import require
from orderflow.core import audit
from orderflow.core.db import rowcount
from orderflow.core.errors import InvalidInput, LostRace
from orderflow.core.i18n import Msg, status_word
from orderflow.core.models import HumanTask, Instance, ProcessVersion, TaskGroup, User
from orderflow.core.platform import platform_of
from orderflow.engine import Migration, ProcessDef, Snapshot, current_steps, diff_definitions, due_at
from orderflow.workflow import definitions, form_diff, jobs, move_notes, runs

MOVABLE = ("running", "suspended")
MAX_BATCH = 200   # orders looked at per request (~15 ms each for the order flow); the rest wait for the next


@dataclass
class ProcessSummary:
    key: str
    name: str
    latest: int
    versions: int
    running: int = 0
    suspended: int = 0


@dataclass
class VersionSummary:
    version: int
    name: str
    deployed_by: str
    deployed_at: datetime
    sha256: str
    running: int
    suspended: int
    latest: bool = False
    note: str | None = None     # the release note written at deploy


@dataclass
class MoveResult:
    instance_id: int
    business_key: str | None
    status: str | None
    steps: list[str] = field(default_factory=list)
    can_move: bool = False
    moved: bool = False
    reasons: list[Msg] = field(default_factory=list)   # why it cannot move (or did not)
    notes: list[Msg] = field(default_factory=list)     # what changes for it when it moves


@dataclass
class MoveReport:
    key: str
    from_version: int
    to_version: int
    dry_run: bool
    results: list[MoveResult]
    remaining: int = 0   # movable-looking orders beyond MAX_BATCH, for another run

    @property
    def moved(self) -> int:
        return sum(r.moved for r in self.results)

    @property
    def movable(self) -> int:
        return sum(r.can_move for r in self.results)

    @property
    def refused(self) -> int:
        return sum(not (r.can_move if self.dry_run else r.moved) for r in self.results)


def _require_reader(actor: User) -> None:
    require(actor, "process.read_versions")


def list_processes(session: Session, actor: User) -> list[ProcessSummary]:
    """Every deployed process with its latest version and how many orders are open on it."""
    _require_reader(actor)
    newest = (select(ProcessVersion.key, func.max(ProcessVersion.version).label("v"), func.count().label("n"))
              .group_by(ProcessVersion.key).subquery())
    rows = session.execute(select(ProcessVersion.key, ProcessVersion.name, newest.c.v, newest.c.n).join(
        newest, (ProcessVersion.key == newest.c.key) & (ProcessVersion.version == newest.c.v))
        .order_by(ProcessVersion.key))
    found = {key: ProcessSummary(key, name, latest, count) for key, name, latest, count in rows}
    for key, status, count in session.execute(
            select(Instance.process_key, Instance.status, func.count()).where(Instance.status.in_(MOVABLE))
            .group_by(Instance.process_key, Instance.status)):
        if key in found:
            setattr(found[key], status, count)
    return list(found.values())


def list_versions(session: Session, actor: User, key: str) -> list[VersionSummary]:
    """The versions of ``key``, oldest first, with their running and suspended orders (one query)."""
    _require_reader(actor)
    running = func.sum(case((Instance.status == "running", 1), else_=0))
    suspended = func.sum(case((Instance.status == "suspended", 1), else_=0))
    columns = (ProcessVersion.version, ProcessVersion.name, ProcessVersion.deployed_by, ProcessVersion.deployed_at,
               ProcessVersion.sha256, ProcessVersion.note)
    rows = session.execute(
        select(*columns, running, suspended)
        .outerjoin(Instance, (Instance.process_version_id == ProcessVersion.id) & Instance.status.in_(MOVABLE))
        .where(ProcessVersion.key == key).group_by(ProcessVersion.id, *columns).order_by(ProcessVersion.version)).all()
    if not rows:
        definitions.get_version(session, key)  # raises NotFound with the usual sentence
    result = [VersionSummary(v, name, by, at, sha, int(r or 0), int(s or 0), note=note)
              for v, name, by, at, sha, note, r, s in rows]
    result[-1].latest = True
    return result


def _version_number(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(Msg("'%(name)s' must be a version number, not '%(value)s'.", name=name, value=value),
                           fields={name: Msg("Enter a version number.")})
    return value


def _pair(session: Session, key: str, from_version: Any, to_version: Any) -> tuple[ProcessVersion, ProcessVersion]:
    source = definitions.get_version(session, key, _version_number(from_version, "from"))
    target = definitions.get_version(session, key, _version_number(to_version, "to"))
    return source, target


def diff(session: Session, actor: User, key: str, from_version: Any, to_version: Any) -> dict[str, Any]:
    """What changed from one version to the other (see engine.diff_definitions for the shape, and
    form_diff for the forms')."""
    _require_reader(actor)
    source, target = _pair(session, key, from_version, to_version)
    old, new = definitions.definition(session, source), definitions.definition(session, target)
    changes = compare(old, used_forms(session, source, old), new, used_forms(session, target, new))
    return {"process": key, "from": source.version, "to": target.version, **changes}


def compare(old: ProcessDef, old_forms: dict[str, dict], new: ProcessDef, new_forms: dict[str, dict]) -> dict[str, Any]:
    """Steps, flows, groups, time limits and the forms the steps use, from ``old`` to ``new``."""
    steps: dict[str, list[str]] = {}
    for pdef in (new, old):
        for element in pdef.elements.values():
            if element.form_key and element.name not in steps.setdefault(element.form_key, []):
                steps[element.form_key].append(element.name)
    forms = form_diff.diff_forms(old_forms, new_forms, {k: sorted(v) for k, v in steps.items()})
    return {**diff_definitions(old, new), "forms": forms}


def used_forms(session: Session, row: ProcessVersion, pdef: ProcessDef) -> dict[str, dict]:
    """The deployed version's forms its steps (and start event) name."""
    keys = [row.start_form, *(element.form_key for element in pdef.elements.values())]
    return form_diff.used_forms(keys, definitions.forms_of(session, row))


def waiting_steps(session: Session, actor: User, key: str, version: Any) -> list[tuple[str, str, int]]:
    """(element id, name, orders) of the steps where orders on ``version`` wait: what a move can be narrowed to."""
    _require_reader(actor)
    row = definitions.get_version(session, key, version)
    names = definitions.definition(session, row).elements
    counts = session.execute(select(HumanTask.element_id, func.count(distinct(HumanTask.instance_id)))
                             .join(Instance, Instance.id == HumanTask.instance_id)
                             .where(HumanTask.status == "ready", Instance.process_version_id == row.id,
                                    Instance.status.in_(MOVABLE))
                             .group_by(HumanTask.element_id)).all()
    return sorted(((element_id, names[element_id].name if element_id in names else element_id, count)
                   for element_id, count in counts), key=lambda item: item[0])


def dry_run(session: Session, actor: User, key: str, from_version: Any, to_version: Any,
            instance_ids: list[int] | None = None, step: str | None = None) -> MoveReport:
    """Which orders on ``from_version`` (those waiting at ``step``, if given) could move to
    ``to_version``, why not, and what changes for each; nothing changes."""
    return _move(session, actor, key, from_version, to_version, instance_ids, apply=False, step=step)


def migrate(session: Session, actor: User, key: str, from_version: Any, to_version: Any,
            instance_ids: list[int] | None = None, step: str | None = None) -> MoveReport:
    """Move the orders that can move; the others stay untouched and are reported. Flushes, never commits."""
    return _move(session, actor, key, from_version, to_version, instance_ids, apply=True, step=step)


def _move(session: Session, actor: User, key: str, from_version: Any, to_version: Any,
          instance_ids: list[int] | None, apply: bool, step: str | None = None) -> MoveReport:
    require(actor, "process.migrate")
    source, target = _pair(session, key, from_version, to_version)
    if source.id == target.id:
        raise InvalidInput(Msg("Choose two different versions: these orders are on version %(version)s already.",
                               version=source.version), fields={"to": Msg("Choose another version.")})
    ids = _instance_ids(instance_ids)
    old, new = definitions.definition(session, source), definitions.definition(session, target)
    migration = Migration(old, new, platform_of(session).clock)
    where = [Instance.process_version_id == source.id, Instance.status.in_(MOVABLE)]
    if ids is not None:
        where.append(Instance.id.in_(ids))
    if step:  # the orders waiting at one step
        where.append(Instance.id.in_(select(HumanTask.instance_id).where(HumanTask.status == "ready",
                                                                         HumanTask.element_id == step)))
    candidates = list(session.scalars(select(Instance).where(*where).order_by(Instance.id).limit(MAX_BATCH)))
    total = session.scalar(select(func.count(Instance.id)).where(*where)) or 0
    forms = (definitions.forms_of(session, source), definitions.forms_of(session, target))
    results = [_one(session, actor, instance, old, new, migration, source, target, apply, forms)
               for instance in candidates]
    if ids is not None:
        results += _not_candidates(session, [i for i in ids if i not in {c.id for c in candidates}], source)
    return MoveReport(key, source.version, target.version, not apply, results, max(0, total - len(candidates)))


def _instance_ids(value: Any) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or any(isinstance(i, bool) or not isinstance(i, int) or i.bit_length() > 63
                                          for i in value):
        raise InvalidInput(Msg("'instance_ids' must be a list of order ids (whole numbers)."),
                           fields={"instance_ids": Msg("Enter order ids as whole numbers.")})
    if len(value) > MAX_BATCH:
        raise InvalidInput(Msg("At most %(max)s orders can be moved at once.", max=MAX_BATCH),
                           fields={"instance_ids": Msg("too many")})
    return list(dict.fromkeys(value))


def _not_candidates(session: Session, ids: list[int], source: ProcessVersion) -> list[MoveResult]:
    """Orders asked for by id that are not running or suspended on the source version: say why."""
    found = {row.id: row for row in session.execute(
        select(Instance.id, Instance.business_key, Instance.status, Instance.process_key, ProcessVersion.version)
        .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id).where(Instance.id.in_(ids)))}
    results = []
    for instance_id in ids:
        row = found.get(instance_id)
        if row is None:
            reason = Msg("There is no order with id %(id)s.", id=instance_id)
        elif row.process_key != source.key:
            reason = Msg("This order belongs to the process '%(process)s'.", process=row.process_key)
        elif row.status not in MOVABLE:
            reason = Msg("The order is %(status)s; only running or suspended orders can move.",
                         status=status_word(row.status))
        else:
            reason = Msg("The order is on version %(version)s, not %(source)s.", version=row.version,
                         source=source.version)
        # say nothing more of other processes' orders
        mine = row if row is not None and row.process_key == source.key else None
        results.append(MoveResult(instance_id, mine.business_key if mine is not None else None,
                                  mine.status if mine is not None else None, reasons=[reason]))
    return results


def _one(session: Session, actor: User, instance: Instance, old: ProcessDef, new: ProcessDef, migration: Migration,
         source: ProcessVersion, target: ProcessVersion, apply: bool, forms: tuple[Any, Any]) -> MoveResult:
    result = MoveResult(instance.id, instance.business_key, instance.status)
    platform = platform_of(session)
    try:
        workflow = platform.runtime.load(old, runs.read_state(session, instance),
                                         runs.services_for(session, instance, old, actor.username))
    except LostRace:   # a step stored since the order was read: nothing planned on a stale copy
        result.reasons = [_changed_meanwhile(source)]
        return result
    except Exception as exc:  # one unreadable order must not stop the others
        result.reasons = [Msg("The order's stored state could not be read: %(error)s", error=str(exc))]
        return result
    result.steps = current_steps(old, workflow)
    ok, messages, moved = migration.plan(workflow)
    if not ok:
        result.reasons = messages
        return result
    result.can_move = True
    snap = platform.runtime.snapshot(moved)
    result.notes = messages + move_notes.notes(_open_rows(session, instance), new, snap, *forms, platform.config)
    if not apply:
        return result
    if not _claim(session, instance):
        result.reasons = [_changed_meanwhile(source)]
        return result
    instance.process_version_id, instance.version = target.id, target
    snap = runs.store_workflow(session, instance, new, moved)
    _retarget_tasks(session, instance, new, snap)
    audit.record(session, instance.id, actor.username, "instance_migrated", None,
                 {"process": source.key, "from_version": source.version, "to_version": target.version,
                  "steps": result.steps})
    session.flush()
    result.moved = True
    return result


def _changed_meanwhile(source: ProcessVersion) -> Msg:
    return Msg("Someone changed this order while it was being moved; it stays on version %(version)s. "
               "Run the move again.", version=source.version)


def _claim(session: Session, instance: Instance) -> bool:
    """Lock the order's row if it is still the copy we read (same lock_version): a completion that
    committed since then makes this fail, and nothing of the move is written. Holding the lock, no
    one else can change it until this request ends."""
    claimed = session.execute(
        update(Instance).where(Instance.id == instance.id, Instance.lock_version == instance.lock_version)
        .values(lock_version=Instance.lock_version).execution_options(synchronize_session=False))
    return rowcount(claimed) == 1


def _open_rows(session: Session, instance: Instance) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.status == "ready")))


def _retarget_tasks(session: Session, instance: Instance, new: ProcessDef, snap: Snapshot) -> None:
    """Open task rows that carried over keep their id (and claim, unless their group changed) and
    take the new version's element, name, group, form and time limit."""
    now = platform_of(session).clock()
    ready = {r.task_uuid: r for r in snap.ready}
    for row in _open_rows(session, instance):
        task = ready.get(row.task_uuid)
        if task is None:
            continue
        info = new.elements.get(task.element_id)
        row.process_version_id, row.element_id = instance.process_version_id, task.element_id
        row.name = info.name if info else task.name
        row.form_key = info.form_key if info else row.form_key
        if info is not None and info.group != row.group_id:
            row.group_id, row.assignee = info.group, None
        if info is not None and {g.group_id for g in row.other_groups} != set(info.groups):
            row.other_groups = [TaskGroup(group_id=g) for g in info.groups]  # the new version's candidate groups
        due = due_at(info.sla if info else None, row.ready_at)
        if due == row.due_at or (due and row.due_at and due <= now and row.due_at <= now):
            continue  # unchanged, or overdue before and after: its escalation is already under way
        jobs.close_sla_jobs(session, [row])   # by the limit it had
        row.due_at = due
        if due is not None:
            jobs.enqueue(session, "sla", due, instance.id, str(row.id), row.element_id)
