"""Deploy-time truth about routing: who a diagram's tasks would reach in *this* database.

The engine reads groups and assignees from the XML but cannot know whether they exist, so
these checks run where deploy and the modeler's Check have a session: an assignee who is
no user (the task would answer everyone 409), a group that does not exist or has nobody in
it (the task would sit unseen), a lane without a usable name whose id became such a group.
They are warnings: the diagram deploys, and the process owner reads why its routing is off.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderflow.access.permissions import group_may
from orderflow.core.i18n import Msg
from orderflow.core.models import Group, Membership, User
from orderflow.engine import ProcessDef


def warnings_for(session: Session, defs: Iterable[ProcessDef]) -> list[dict]:
    """Problem dicts (severity "warning") for every routing mistake in ``defs``."""
    groups = set(session.scalars(select(Group.id)))
    staffed = set(session.scalars(select(Membership.group_id).join(User, User.id == Membership.user_id)
                                  .where(User.active.is_(True)).distinct()))
    users = {u.username: u for u in session.scalars(select(User))}
    found: dict[tuple, dict] = {}
    for pdef in defs:
        for info in pdef.elements.values():
            if info.kind not in {"userTask", "startEvent"}:
                continue
            messages = _group_messages(info, groups, staffed) + _assignee_messages(info, users)
            for message in messages:
                found[(info.element_id, message)] = {
                    "element_id": info.element_id, "line": info.line, "file": _file_of(pdef, info.element_id),
                    "message": message, "severity": "warning"}
    return list(found.values())


def _group_messages(info, groups: set[str], staffed: set[str]) -> list[str]:
    if not info.group and info.kind == "startEvent":
        return [Msg("The start event is in no lane and names no candidateGroups: only administrators could start "
                    "this process. Put it in a lane named after the group that starts it (e.g. sales), or name "
                    "candidateGroups.")]
    messages: list[str] = []
    start = info.kind == "startEvent"
    for group in (info.group, *info.groups) if info.group else ():
        named = _named(group, "candidateGroups" if group != info.group else info.group_from)
        if group not in groups:
            messages.append(
                Msg("%(named)s, and no such group exists: nobody could start. "
                    "Create the group (Admin → Groups) or name an existing one.", named=named) if start else
                Msg("%(named)s, and no such group exists: nobody could see or complete this task. "
                    "Create the group (Admin → Groups) or name an existing one.", named=named))
        elif group not in staffed:
            messages.append(
                Msg("%(named)s, and nobody is in that group: nobody could start until someone is added.",
                    named=named) if start else
                Msg("%(named)s, and nobody is in that group: nobody could see or complete this task until someone "
                    "is added.", named=named))
        elif info.kind == "userTask" and not group_may(group, "task.work"):
            messages.append(Msg("%(named)s, whose members may not work on tasks (integration users): pick a "
                                "department's group.", named=named))
    return messages


def _named(group: str, source: str | None) -> Msg:
    """The group a message is about, with where the diagram names it (the start of the sentence)."""
    if source == "lane id":
        return Msg("Its lane has no usable name (a group id such as 'sales': lower-case letters, digits, '_'), "
                   "so the lane's id '%(group)s' is used as the group", group=group)
    if source == "candidateGroups":
        return Msg("The group '%(group)s' (candidateGroups)", group=group)
    if source == "lane name":
        return Msg("The group '%(group)s' (lane name)", group=group)
    if not source:
        return Msg("The group '%(group)s' (lane)", group=group)
    return Msg("The group '%(group)s' (%(source)s)", group=group, source=source)


def _assignee_messages(info, users: dict[str, User]) -> list[str]:
    if not info.assignee or info.kind != "userTask":
        return []
    user = users.get(info.assignee)
    if user is None:
        return [Msg("The assignee '%(user)s' does not exist: the task would wait for them and answer everyone else "
                    "with 409. Name an existing user, or remove the assignee so the group claims it.",
                    user=info.assignee)]
    if not user.active:
        return [Msg("The assignee '%(user)s' is deactivated: the task would wait for them and answer everyone else "
                    "with 409. Name an existing user, or remove the assignee so the group claims it.",
                    user=info.assignee)]
    allowed = {info.group, *info.groups} - {None}
    if allowed and not allowed & user.group_ids:
        return [Msg("The assignee '%(user)s' is not in the task's group(s) (%(groups)s), "
                    "so they could not complete it: add them to the group or name a member.",
                    user=info.assignee, groups=", ".join(sorted(allowed)))]
    return []


def _file_of(pdef: ProcessDef, element_id: str) -> str | None:
    for name, text in pdef.sources.items():
        if f'id="{element_id}"' in text:
            return name
    return None
