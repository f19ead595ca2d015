"""The task inbox: list, claim, release, complete and (managers) reassign human tasks."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from orderflow.access import accounts
from orderflow.access.permissions import (
    can,
    group_may,
    group_word,
    in_task_groups,
    require,
    require_reassign_target,
    require_step_authority,
    require_task_member,
    require_task_viewer,
)
from orderflow.core import audit, metrics
from orderflow.core.column_types import table_of
from orderflow.core.db import by_id, rowcount
from orderflow.core.errors import Conflict, InvalidInput, LostRace, NotFound, TaskNotReady
from orderflow.core.i18n import Msg, element_name, status_word
from orderflow.core.models import Group, HumanTask, Instance, User
from orderflow.core.platform import platform_of
from orderflow.workflow import (
    attachments,
    customer_links,
    definitions,
    form_rules,
    forms,
    jobs,
    notify,
    runs,
    signatures,
)


def is_overdue(task: HumanTask, now: datetime) -> bool:
    return task.status == "ready" and task.due_at is not None and task.due_at < now


# a task's page and its completion read its order and the order's version: one statement for all three
_WITH_VERSION = (joinedload(HumanTask.instance).joinedload(Instance.version),)
_TASK = select(HumanTask).options(*_WITH_VERSION).where(HumanTask.id == bindparam("id"))
# completing: the open rows of the task's order, the task among them when it is open (which the
# step's store compares with the engine's ready tasks), in one statement on the order's index
# (the order by a scalar subquery: a constant for the search, so both databases search the order's
# index, where a join left PostgreSQL free to read every open row by status first)
_GIVEN = table_of(HumanTask).alias("given")
_OPEN_WITH_TASK = select(HumanTask).options(*_WITH_VERSION).where(
    HumanTask.instance_id == select(_GIVEN.c.instance_id).where(_GIVEN.c.id == bindparam("id")).scalar_subquery(),
    HumanTask.status == "ready")


def get(session: Session, actor: User, task_id: int) -> HumanTask:
    task = by_id(session, _TASK, HumanTask, task_id)
    if task is None:
        raise NotFound(Msg("There is no task with id %(id)s.", id=task_id))
    require_task_viewer(actor, task)
    return task


def _get_with_open(session: Session, actor: User, task_id: int) -> tuple[HumanTask, list[HumanTask] | None]:
    """``get``, and the ready rows of the task's order as they were read with it (None: not read, as
    the session held the task already or the task is not open, which ``get`` then reads and tells)."""
    if session.identity_map.get(identity_key(HumanTask, task_id)) is None:
        rows = list(session.scalars(_OPEN_WITH_TASK, {"id": task_id}))
        task = next((row for row in rows if row.id == task_id), None)
        if task is not None:
            require_task_viewer(actor, task)
            return task, rows
    return get(session, actor, task_id), None


@dataclass
class TaskForm:
    task: HumanTask
    schema: dict[str, Any]
    values: dict[str, Any]       # what the form shows: the order's data or defaults
    order: dict[str, Any]        # the order's data, for the facts panel
    signature: bool


def form_for(session: Session, actor: User, task_id: int) -> TaskForm:
    return _form(session, get(session, actor, task_id))


def _form(session: Session, task: HumanTask) -> TaskForm:
    data = dict(task.context or {})
    clock = platform_of(session).clock
    schema = definitions.form(session, task.instance.version, task.form_key) or {"type": "object", "properties": {}}
    schema = form_rules.applicable(schema, data, clock)  # only the fields that apply to this order
    info = definitions.definition(session, task.instance.version).elements.get(task.element_id)
    return TaskForm(task, schema, forms.prefill(schema, data, clock), data, bool(info and info.signature))


def _open_for(actor: User, task: HumanTask) -> None:
    if task.status != "ready":
        raise TaskNotReady(Msg("This task is already %(status)s; there is nothing left to do here.",
                                 status=status_word(task.status)))
    if task.instance.status != "running":
        raise Conflict(Msg("The order is %(status)s; its tasks cannot change until it runs again.",
                           status=status_word(task.instance.status)))
    require_task_member(actor, task)


def claim(session: Session, actor: User, task_id: int) -> HumanTask:
    task = get(session, actor, task_id)
    _open_for(actor, task)
    if task.assignee == actor.username:
        return task
    if task.assignee:
        raise Conflict(Msg("%(user)s has already claimed this task.", user=task.assignee))
    # compare-and-set: of two claims at the same moment only one row update finds it unclaimed
    won = session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.assignee.is_(None))
                          .values(assignee=actor.username).execution_options(synchronize_session=False))
    if rowcount(won) != 1:
        raise LostRace(Msg("Someone else claimed this task at the same moment; reload and try again."))
    set_committed_value(task, "assignee", actor.username)
    audit.record(session, task.instance_id, actor.username, "task_claimed", task.element_id, {"task_id": task.id})
    return task


def release(session: Session, actor: User, task_id: int) -> HumanTask:
    task = get(session, actor, task_id)
    _open_for(actor, task)
    if task.assignee and task.assignee != actor.username and not can(actor, "task.reassign"):
        raise Conflict(Msg("%(user)s holds this task; only they or a manager can release it.", user=task.assignee))
    task.assignee = None
    audit.record(session, task.instance_id, actor.username, "task_released", task.element_id, {"task_id": task.id})
    return task


def complete(session: Session, actor: User, task_id: int, data: Any, password: str | None = None) -> HumanTask:
    """Validate, run the engine from this task on, store; raises before anything is stored."""
    task, open_rows = _get_with_open(session, actor, task_id)
    _open_for(actor, task)
    if task.assignee and task.assignee != actor.username:
        raise Conflict(Msg("%(user)s has claimed this task; ask them or a manager to release it.",
                           user=task.assignee))
    view = _form(session, task)
    if view.signature:  # nobody outside the step's groups in the diagram signs, whatever the assignment
        require_step_authority(actor, task, diagram_groups(session, task))
    # the signing password is checked like a log-in: wrong guesses count toward the lock-out
    if view.signature and not password:
        raise InvalidInput(Msg("This step is an electronic signature: re-enter your password to sign."),
                           fields={"password": Msg("Enter your password to sign.")})
    if view.signature and not accounts.authenticate(session, actor.username, password or ""):
        raise InvalidInput(Msg("The password is wrong; re-enter your own password to sign."),
                           fields={"password": Msg("The password is wrong.")})
    clean = forms.clean_submission(view.schema, data if data is not None else {}, view.order,
                                   platform_of(session).clock)
    attachments.check_refs(session, actor, view.schema, clean, task.instance_id)
    after = {**view.order, **clean}  # the order's data once this step is done: what is signed or shipped
    signatures.check_before_complete(session, actor, task, after)

    def sign() -> None:
        signatures.sign(session, actor, task, view.schema, clean, after)
        task.data = {**clean, "signed": True}

    # staff doing the customer's own step: recorded as done for the customer
    return _advance(session, task, clean, actor.username, "on_behalf" if task.customer_step else None,
                    sign if view.signature else None, open_rows)


def complete_by_link(session: Session, token: str, data: Any, client: str | None = None) -> HumanTask:
    """The customer's answer through their link: the link is used up and its step completed, in one
    transaction (a refused answer leaves the link unused, as the rollback undoes both)."""
    return complete_for_customer(session, customer_links.redeem(session, token, client), data, "customer")


def complete_for_customer(session: Session, task: HumanTask, data: Any, who: str) -> HumanTask:
    """The customer's own submission (through their link: ``complete_by_link``). Validated like a
    person's; the form's read-only facts stay as the order has them."""
    if task.status != "ready" or task.instance.status != "running" or not task.customer_step:
        raise TaskNotReady(Msg("This step is no longer waiting for you; nothing was changed."))
    view = _form(session, task)
    clean = forms.clean_submission(view.schema, data if data is not None else {}, view.order,
                                   platform_of(session).clock)
    return _advance(session, task, clean, who, "customer_link", None)


_TASKS = table_of(HumanTask)
_CLOSE = (update(_TASKS).where(_TASKS.c.id == bindparam("task"), _TASKS.c.status == "ready")
          .values({name: bindparam(f"new_{name}") for name in
                   ("status", "completed_at", "completed_by", "data", "completed_via", "rollup_pending")}))


def _advance(session: Session, task: HumanTask, clean: dict[str, Any], by: str, via: str | None,
             sign, open_rows: list[HumanTask] | None = None) -> HumanTask:
    """Run the engine from this task on and store everything, in the caller's transaction. Timed from
    the load to the store: the step's engine work, counted when the transaction commits.
    ``open_rows``: the order's ready rows, read with the task (else the store reads them)."""
    started = time.perf_counter()
    pdef, workflow = runs.load(session, task.instance, by)
    runaway = runs.bounded(lambda: platform_of(session).runtime.complete(workflow, task.task_uuid, clean))
    prepared = runs.prepare_store(session, task.instance, pdef, workflow, open_rows)  # before the first write
    hooks = platform_of(session).hooks
    closed = {"status": "completed", "completed_at": platform_of(session).clock(), "completed_by": by,
              "data": clean, "completed_via": via,
              "rollup_pending": hooks.roll_up is not None}  # counted later, out of this request (analytics)
    # compare-and-set, one statement: the task's row locked before the order's audit chain, in the
    # order a claim locks them; of two completions at the same moment only one finds it ready
    won = session.connection().execute(_CLOSE, {f"new_{name}": value for name, value in closed.items()}
                                       | {"task": task.id})
    if rowcount(won) != 1:
        raise LostRace(Msg("Someone else changed this order at the same moment; nothing of yours was saved. "
                           "Reload the order and try again."))
    for name, value in closed.items():
        set_committed_value(task, name, value)
    hooks.task_completed(session, task)
    jobs.close_sla_jobs(session, [task])
    if sign is not None:
        sign()
    detail = {"task_id": task.id, "data": clean}
    if via:
        detail["via"] = via
    audit.record(session, task.instance_id, by, "task_completed", task.element_id, detail)
    runs.store_workflow(session, task.instance, pdef, workflow, runaway, prepared)
    metrics.task_completed(session, task.instance.process_key, via or metrics.channel(session),
                           time.perf_counter() - started)
    return task


def diagram_groups(session: Session, task: HumanTask) -> frozenset[str]:
    """The groups the diagram allows for the task's step: its lane or first candidate group and its
    further candidate groups; a step without any gets the group it was made with (the default)."""
    info = definitions.definition(session, task.instance.version).elements.get(task.element_id)
    groups = frozenset(g for g in (info.group, *info.groups) if g) if info is not None else frozenset()
    if groups:
        return groups
    config = platform_of(session).config
    if info is not None and info.customer:
        return frozenset({config.get("ORDERFLOW_CUSTOMER_STEP_GROUP") or "sales"})
    return frozenset({config.get("ORDERFLOW_DEFAULT_TASK_GROUP") or "process_owner"})


def reassign(session: Session, actor: User, task_id: int, to_user: str | None = None,
             to_group: str | None = None) -> HumanTask:
    """Move an open task to another group (unclaimed there), or give it to a named active member
    of its group. Managers use it when someone is away or a step sits in the wrong inbox."""
    require(actor, "task.reassign")
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(Msg("There is no task with id %(id)s.", id=task_id))
    if task.status != "ready":
        raise TaskNotReady(Msg("This task is already %(status)s; there is nothing left to do here.",
                               status=status_word(task.status)))
    to_user, to_group = (v.strip() if isinstance(v, str) else None for v in (to_user, to_group))
    if bool(to_user) == bool(to_group):
        raise InvalidInput(Msg("Name either a user or a group to give the task to."),
                           fields={"user": Msg("a user or a group"), "group": Msg("a user or a group")})
    before = {"group": task.group_id, "user": task.assignee}
    diagram = diagram_groups(session, task)
    known = frozenset(session.scalars(select(Group.id).where(Group.id.in_(diagram))))
    signature = _form(session, task).signature
    if to_group:
        group = session.get(Group, to_group)
        if group is None or not group_may(to_group, "task.work"):
            raise InvalidInput(Msg("'%(group)s' is not a group that works on tasks.", group=group_word(to_group)),
                               fields={"group": Msg("unknown group")})
        require_reassign_target(actor, task, diagram, known, signature, to_group=to_group)
        task.group_id, task.assignee = to_group, None
        task.other_groups = []  # moved to one group: only its members now
    else:
        user = accounts.by_username(session, to_user or "")
        if user is None or not user.active or not in_task_groups(user, task) or not can(user, "task.work"):
            raise InvalidInput(Msg("'%(user)s' is not an active member of the '%(group)s' group.",
                                   user=to_user, group=group_word(task.group_id)),
                               fields={"user": Msg("not in the task's group")})
        require_reassign_target(actor, task, diagram, known, signature, to_user=user)
        task.assignee = user.username
        order = task.instance.business_key or f"#{task.instance_id}"
        notify.notify_users(session, [user.username], "task_assigned",
                            Msg("%(order)s: '%(step)s' is yours now", order=order, step=element_name(task.name)),
                            Msg("%(name)s gave you the step '%(step)s' of order %(order)s.", name=actor.display_name,
                                step=element_name(task.name), order=order),
                            link=f"/tasks/{task.id}", instance_id=task.instance_id)
    audit.record(session, task.instance_id, actor.username, "task_reassigned", task.element_id,
                 {"task_id": task.id, "from": before, "to": {"group": task.group_id, "user": task.assignee}})
    return task

