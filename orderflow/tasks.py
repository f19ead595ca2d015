"""The task inbox: list, claim, release and complete human tasks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from . import analytics, attachments, audit, forms, instances, jobs, processes
from .errors import Conflict, InvalidInput, NotFound, TaskNotReady
from .i18n import Msg, status_word
from .models import HumanTask, Instance, User
from .permissions import is_overseer, require_task_member, require_task_viewer
from .platform import platform_of

SCOPES = ("mine", "groups", "all")


def inbox_query(actor: User, scope: str = "groups", process: str | None = None,
                business_key: str | None = None, element: str | None = None) -> Select:
    """Ready tasks the actor may see, soonest due first (no due time last)."""
    if scope not in SCOPES:
        raise InvalidInput(Msg("scope must be one of %(choices)s, not '%(scope)s'.", choices=", ".join(SCOPES),
                               scope=scope), fields={"scope": Msg("unknown scope")})
    query = select(HumanTask).join(Instance).where(HumanTask.status == "ready", Instance.status == "running")
    if scope == "mine":
        query = query.where(HumanTask.assignee == actor.username)
    elif scope == "groups" or not is_overseer(actor):
        query = query.where(HumanTask.group_id.in_(actor.group_ids))
    if process:
        query = query.where(Instance.process_key == process)
    if business_key:
        query = query.where(Instance.business_key == business_key)
    if element:
        query = query.where(HumanTask.element_id == element)
    # NULLS LAST keeps the (status, group_id, due_at) index usable where "due_at IS NULL" would not
    return query.order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id)


def is_overdue(task: HumanTask, now: datetime) -> bool:
    return task.status == "ready" and task.due_at is not None and task.due_at < now


def get(session: Session, actor: User, task_id: int) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(Msg("There is no task with id %(id)s.", id=task_id))
    require_task_viewer(actor, task)
    return task


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
    schema = task.instance.version.forms.get(task.form_key or "", {"type": "object", "properties": {}})
    info = processes.definition(session, task.instance.version).elements.get(task.element_id)
    return TaskForm(task, schema, forms.prefill(schema, data), data, bool(info and info.signature))


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
    task.assignee = actor.username
    audit.record(session, task.instance_id, actor.username, "task_claimed", task.element_id, {"task_id": task.id})
    return task


def release(session: Session, actor: User, task_id: int) -> HumanTask:
    task = get(session, actor, task_id)
    _open_for(actor, task)
    if task.assignee and task.assignee != actor.username and not is_overseer(actor):
        raise Conflict(Msg("%(user)s holds this task; only they or a manager can release it.", user=task.assignee))
    task.assignee = None
    audit.record(session, task.instance_id, actor.username, "task_released", task.element_id, {"task_id": task.id})
    return task


def complete(session: Session, actor: User, task_id: int, data: Any, password: str | None = None) -> HumanTask:
    """Validate, run the engine from this task on, store; raises before anything is stored."""
    task = get(session, actor, task_id)
    _open_for(actor, task)
    if task.assignee and task.assignee != actor.username:
        raise Conflict(Msg("%(user)s has claimed this task; ask them or a manager to release it.",
                           user=task.assignee))
    view = _form(session, task)
    if view.signature and not (password and check_password_hash(actor.password_hash, password)):
        raise InvalidInput(Msg("This step is an electronic signature: re-enter your password to sign."),
                           fields={"password": Msg("Your password is needed to sign.")})
    clean = forms.clean_submission(view.schema, data if data is not None else {}, view.order)
    attachments.check_refs(session, actor, view.schema, clean, task.instance_id)
    pdef, workflow = instances.load(session, task.instance, actor.username)
    runaway = instances.bounded(lambda: platform_of(session).runtime.complete(workflow, task.task_uuid, clean))
    now = platform_of(session).clock()
    task.status, task.completed_at, task.completed_by, task.data = "completed", now, actor.username, clean
    analytics.record_completion(session, task)
    jobs.close_sla_jobs(session, [task.id])
    if view.signature:
        clean_record = {**clean, "signed": True}
        audit.record(session, task.instance_id, actor.username, "signature", task.element_id,
                     {"meaning": "approved for release", "signer": actor.display_name})
        task.data = clean_record
    audit.record(session, task.instance_id, actor.username, "task_completed", task.element_id,
                 {"task_id": task.id, "data": clean})
    instances.store_workflow(session, task.instance, pdef, workflow, runaway)
    return task

