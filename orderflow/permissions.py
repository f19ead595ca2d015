"""Who may do what. Enforced here in the domain layer, so pages and API agree."""
from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from .errors import Forbidden
from .i18n import Msg
from .models import HumanTask, Instance, ProcessVersion, User

OVERSEERS = frozenset({"manager", "admin"})


def is_overseer(user: User) -> bool:
    return bool(user.group_ids & OVERSEERS)


def require_overseer(user: User, what: str) -> None:
    """``what`` completes "Only managers and administrators may ..."; pass a ``Msg`` so it is translated."""
    if not is_overseer(user):
        raise Forbidden(Msg("Only managers and administrators may %(what)s.", what=what))


def require_deployer(user: User) -> None:
    if not user.group_ids & {"process_owner", "admin"}:
        raise Forbidden(Msg("Only process owners and administrators may deploy diagrams."))


def require_integration(user: User) -> None:
    if not user.group_ids & {"integration", "admin"}:
        raise Forbidden(Msg("Only integration users and administrators may deliver messages."))


def require_starter(user: User, version: ProcessVersion) -> None:
    if "admin" in user.group_ids or (version.start_group and version.start_group in user.group_ids):
        return
    raise Forbidden(Msg("Only the '%(group)s' group may start '%(process)s'.",
                        group=version.start_group or "admin", process=version.key))


def require_task_member(user: User, task: HumanTask) -> None:
    if task.group_id not in user.group_ids:
        raise Forbidden(Msg("This task belongs to the '%(group)s' group, and you are not in it.", group=task.group_id))


def require_task_viewer(user: User, task: HumanTask) -> None:
    if task.group_id not in user.group_ids and not is_overseer(user):
        raise Forbidden(Msg("This task belongs to the '%(group)s' group, and you are not in it.", group=task.group_id))


def participation(user: User):
    """SQL condition: instances the user started or has a task in (done by them or open to their groups)."""
    took_part = exists().where(HumanTask.instance_id == Instance.id).where(or_(
        HumanTask.completed_by == user.username,
        (HumanTask.status == "ready") & HumanTask.group_id.in_(user.group_ids),
    ))
    return or_(Instance.started_by == user.username, took_part)


def require_instance_viewer(session: Session, user: User, instance: Instance) -> None:
    if is_overseer(user):
        return
    allowed = session.scalar(select(Instance.id).where(Instance.id == instance.id, participation(user)))
    if allowed is None:
        raise Forbidden(Msg("You have taken no part in this order; ask a manager if you need to see it."))
