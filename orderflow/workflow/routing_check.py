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
        return ["The start event is in no lane and names no candidateGroups: only administrators could start "
                "this process. Put it in a lane named after the group that starts it (e.g. sales), or name "
                "candidateGroups."]
    messages = []
    what = "start" if info.kind == "startEvent" else "see or complete this task"
    for group in (info.group, *info.groups) if info.group else ():
        source = "candidateGroups" if group != info.group else info.group_from
        if source == "lane id":
            named = (f"Its lane has no usable name (a group id such as 'sales': lower-case letters, digits, '_'), "
                     f"so the lane's id '{group}' is used as the group")
        else:
            named = f"The group '{group}' ({source or 'lane'})"
        if group not in groups:
            messages.append(f"{named}, and no such group exists: nobody could {what}. "
                            "Create the group (Admin → Groups) or name an existing one.")
        elif group not in staffed:
            messages.append(f"{named}, and nobody is in that group: nobody could {what} until someone is added.")
        elif info.kind == "userTask" and not group_may(group, "task.work"):
            messages.append(f"{named}, whose members may not work on tasks (integration users): pick a "
                            "department's group.")
    return messages


def _assignee_messages(info, users: dict[str, User]) -> list[str]:
    if not info.assignee or info.kind != "userTask":
        return []
    user = users.get(info.assignee)
    if user is None or not user.active:
        state = "does not exist" if user is None else "is deactivated"
        return [f"The assignee '{info.assignee}' {state}: the task would wait for them and answer everyone else "
                "with 409. Name an existing user, or remove the assignee so the group claims it."]
    allowed = {info.group, *info.groups} - {None}
    if allowed and not allowed & user.group_ids:
        return [f"The assignee '{info.assignee}' is not in the task's group(s) ({', '.join(sorted(allowed))}), "
                "so they could not complete it: add them to the group or name a member."]
    return []


def _file_of(pdef: ProcessDef, element_id: str) -> str | None:
    for name, text in pdef.sources.items():
        if f'id="{element_id}"' in text:
            return name
    return None
