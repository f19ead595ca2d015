"""Administration: users, their groups, activation and passwords; groups. Every change is an audit
event without an order (``instance_id`` None). An administrator cannot lock themself out: they
may neither deactivate their own account nor leave the administrators, so one always remains."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from orderflow.access import accounts
from orderflow.access.permissions import require
from orderflow.core import audit
from orderflow.core.errors import Conflict, InvalidInput, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import Group, Membership, User
from orderflow.core.platform import platform_of
from orderflow.engine import linear_re

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
GROUP_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
EMAIL = linear_re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # RE2: re was quadratic over "a@....@"
LIST_LIMIT = 500


def _invalid(fields: dict[str, Msg]) -> InvalidInput:
    return InvalidInput(Msg("Nothing was saved; correct the fields marked."), fields=fields)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def list_users(session: Session, actor: User, q: str | None = None) -> list[User]:
    require(actor, "admin.users")
    query = select(User).order_by(User.username).limit(LIST_LIMIT)
    if q and q.strip():
        term = q.strip()  # '%' and '_' match themselves (autoescape), not everything
        query = query.where(or_(*(column.contains(term, autoescape=True)
                                  for column in (User.username, User.display_name, User.email))))
    return list(session.scalars(query))


def get_user(session: Session, actor: User, username: str) -> User:
    require(actor, "admin.users")
    user = accounts.by_username(session, username)
    if user is None:
        raise NotFound(Msg("There is no user '%(user)s'.", user=username))
    return user


def _check_password(session: Session, password: Any, fields: dict[str, Msg]) -> None:
    least = int(platform_of(session).config.get("ORDERFLOW_MIN_PASSWORD_LENGTH", 8))
    if not isinstance(password, str) or len(password) < least:
        fields["password"] = Msg("At least %(n)s characters.", n=least)


def _check_groups(session: Session, groups: Any, fields: dict[str, Msg]) -> list[str]:
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, str) for g in groups):
        fields["groups"] = Msg("A list of group ids.")
        return []
    wanted = list(dict.fromkeys(groups))
    known = set(session.scalars(select(Group.id).where(Group.id.in_(wanted)))) if wanted else set()
    unknown = [g for g in wanted if g not in known]
    if unknown:
        fields["groups"] = Msg("No such group: %(groups)s.", groups=", ".join(unknown))
    return wanted


def _check_profile(display_name: Any, email: Any, fields: dict[str, Msg]) -> tuple[str, str | None]:
    name, mail = _text(display_name), _text(email) or None
    if not name or len(name) > 200:
        fields["display_name"] = Msg("Enter a name of at most 200 characters.")
    if mail is not None and (len(mail) > 200 or not EMAIL.match(mail)):
        fields["email"] = Msg("Enter an e-mail address like name@example.com, or leave it empty.")
    return name, mail


def create_user(session: Session, actor: User, username: Any, display_name: Any, email: Any, password: Any,
                groups: Any) -> User:
    require(actor, "admin.users")
    fields: dict[str, Msg] = {}
    username = _text(username)
    if not USERNAME.match(username):
        fields["username"] = Msg("1–64 letters, digits or . _ @ -, starting with a letter or digit.")
    elif accounts.by_username(session, username) is not None:
        fields["username"] = Msg("This user name is taken.")
    name, mail = _check_profile(display_name, email, fields)
    _check_password(session, password, fields)
    wanted = _check_groups(session, groups, fields)
    if fields:
        raise _invalid(fields)
    user = accounts.create_user(session, username, password, wanted, name, mail)
    audit.record(session, None, actor.username, "user_created", None, {"username": username, "groups": wanted})
    return user


def update_profile(session: Session, actor: User, username: str, display_name: Any, email: Any) -> User:
    user = get_user(session, actor, username)
    fields: dict[str, Msg] = {}
    name, mail = _check_profile(display_name, email, fields)
    if fields:
        raise _invalid(fields)
    if (name, mail) != (user.display_name, user.email):
        user.display_name, user.email = name, mail
        audit.record(session, None, actor.username, "user_updated", None,
                     {"username": username, "display_name": name, "email": mail})
    return user


def set_groups(session: Session, actor: User, username: str, groups: Any) -> User:
    user = get_user(session, actor, username)
    fields: dict[str, Msg] = {}
    wanted = _check_groups(session, groups, fields)
    if fields:
        raise _invalid(fields)
    if user.id == actor.id and "admin" in user.group_ids and "admin" not in wanted:
        raise Conflict(Msg("You cannot remove yourself from the administrators; another administrator can."))
    before = sorted(user.group_ids)
    if sorted(wanted) != before:
        user.groups = accounts.groups_by_id(session, wanted)
        session.flush()
        audit.record(session, None, actor.username, "user_groups_changed", None,
                     {"username": username, "before": before, "after": sorted(wanted)})
    return user


def set_active(session: Session, actor: User, username: str, active: bool) -> User:
    user = get_user(session, actor, username)
    if user.id == actor.id and not active:
        raise Conflict(Msg("You cannot deactivate your own account; another administrator can."))
    if user.active != active:
        user.active = active
        audit.record(session, None, actor.username, "user_reactivated" if active else "user_deactivated", None,
                     {"username": username})
    return user


def reset_password(session: Session, actor: User, username: str, password: Any) -> User:
    user = get_user(session, actor, username)
    fields: dict[str, Msg] = {}
    _check_password(session, password, fields)
    if fields:
        raise _invalid(fields)
    user.password_hash = generate_password_hash(password)
    audit.record(session, None, actor.username, "password_reset", None, {"username": username})  # never the password
    return user


@dataclass
class GroupRow:
    id: str
    name: str
    name_zh: str | None
    members: int     # active users
    builtin: bool    # one of accounts.GROUPS


def list_groups(session: Session, actor: User) -> list[GroupRow]:
    require(actor, "admin.groups")
    counts = dict(session.execute(
        select(Membership.group_id, func.count()).join(User, User.id == Membership.user_id)
        .where(User.active.is_(True)).group_by(Membership.group_id)).all())
    return [GroupRow(g.id, g.name, g.name_zh, counts.get(g.id, 0), g.id in accounts.GROUPS)
            for g in session.scalars(select(Group).order_by(Group.id))]


def create_group(session: Session, actor: User, group_id: Any, name: Any, name_zh: Any) -> Group:
    """A new group; it counts as staff in the permissions matrix (its tasks, its processes' starts)."""
    require(actor, "admin.groups")
    fields: dict[str, Msg] = {}
    gid, en, zh = _text(group_id), _text(name), _text(name_zh) or None
    if not GROUP_ID.match(gid):
        fields["id"] = Msg("2–64 lower-case letters, digits or _, starting with a letter (diagrams name lanes by it).")
    elif session.get(Group, gid) is not None:
        fields["id"] = Msg("This group exists already.")
    if not en or len(en) > 200:
        fields["name"] = Msg("Enter a name of at most 200 characters.")
    if zh is not None and len(zh) > 200:
        fields["name_zh"] = Msg("Enter a name of at most 200 characters.")
    if fields:
        raise _invalid(fields)
    group = Group(id=gid, name=en, name_zh=zh)
    session.add(group)
    session.flush()
    audit.record(session, None, actor.username, "group_created", None, {"id": gid, "name": en, "name_zh": zh})
    return group
