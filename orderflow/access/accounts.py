"""Users and groups: passwords, authentication, the demo seed."""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import Select, bindparam, literal, select, update
from sqlalchemy.orm import Session, lazyload
from werkzeug.security import check_password_hash, generate_password_hash

from orderflow.access import throttle
from orderflow.access.verified import VERIFIED
from orderflow.core import timefmt
from orderflow.core.column_types import json_list
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import Group, Membership, User

# group id -> (English, Chinese); docs/ORDER_FLOW.md's roles plus the service's own
GROUPS: dict[str, tuple[str, str]] = {
    "sales": ("Sales", "运营商市场部"),
    "sales_manager": ("Sales manager", "部门领导"),
    "vp": ("Vice president", "副总"),
    "finance": ("Finance", "财务"),
    "engineering": ("Engineering", "技术部"),
    "purchasing": ("Purchasing", "资材部"),
    "pmc": ("PMC", "生产物料控制"),
    "production": ("Production", "制造部"),
    "quality": ("Quality", "品质部"),
    "warehouse": ("Warehouse", "仓库"),
    "design": ("Design", "美工设计"),
    "logistics": ("Logistics", "物流"),
    "service": ("Customer service", "客服"),
    "process_owner": ("Process owners", "流程负责人"),
    "manager": ("Managers", "管理层"),
    "admin": ("Administrators", "系统管理员"),
    "integration": ("Integrations", "系统集成"),
}
STAFF_GROUPS = [g for g in GROUPS if g not in {"process_owner", "manager", "admin", "integration"}]
# a cheap hash for demo users only: pbkdf2 at 600k rounds would make every test login slow
_DEMO_HASH_METHOD = "pbkdf2:sha256:1000"


def ensure_groups(session: Session) -> None:
    existing = set(session.scalars(select(Group.id)))
    for gid, (name, name_zh) in GROUPS.items():
        if gid not in existing:
            session.add(Group(id=gid, name=name, name_zh=name_zh))
    session.flush()


def groups_by_id(session: Session, ids: list[str]) -> list[Group]:
    """The groups ``ids`` names, in order. Callers check the ids first: an unknown one is a bug
    (the flush would refuse the missing group anyway)."""
    found = []
    for gid in ids:
        group = session.get(Group, gid)
        if group is None:
            raise LookupError(f"no group {gid!r}")
        found.append(group)
    return found


def create_user(session: Session, username: str, password: str, groups: list[str],
                display_name: str | None = None, email: str | None = None,
                hash_method: str = "scrypt") -> User:
    user = User(username=username, display_name=display_name or username, email=email,
                password_hash=generate_password_hash(password, method=hash_method))
    user.groups = groups_by_id(session, groups)
    session.add(user)
    session.flush()
    return user


def seed_demo(session: Session) -> int:
    """The demo users of docs/API.md (password 'demo'); existing users are left alone."""
    ensure_groups(session)
    have = set(session.scalars(select(User.username)))
    wanted: list[tuple[str, list[str], str]] = []
    for gid in STAFF_GROUPS:
        for n in (1, 2):
            wanted.append((f"{gid}{n}", [gid], f"{GROUPS[gid][0]} {n}"))
    wanted += [("owner1", ["process_owner"], "Process owner 1"), ("manager1", ["manager"], "Manager 1"),
               ("admin", ["admin"], "Administrator"), ("bank1", ["integration"], "Bank gateway")]
    created = 0
    for username, groups, display in wanted:
        if username not in have:
            create_user(session, username, "demo", groups, display, f"{username}@example.com",
                        hash_method=_DEMO_HASH_METHOD)
            created += 1
    return created


_UNKNOWN_USER_HASH = generate_password_hash("no such user: compared so an unknown name takes as long")


@lru_cache(maxsize=16)
def _user_and_throttle(columns: tuple) -> Select:
    one_row = select(literal(1).label("one")).subquery()
    # the user's group ids along (permissions need no more); the groups themselves load if asked for
    group_ids = (select(json_list(Membership.group_id)).where(Membership.user_id == User.id)
                 .scalar_subquery().label("group_ids"))
    return (select(User, group_ids, *columns).select_from(one_row)
            .outerjoin(User, User.username == bindparam("username")).options(lazyload(User.groups)))


def authenticate(session: Session, username: str, password: str, client: str | None = None) -> User | None:
    """The user if the password is right. Throttled (``throttle.py``): raises TooManyAttempts while
    the user name or the client address (default: the web edge's ``session.info["client"]``) is locked."""
    client = client if client is not None else session.info.get("client")
    # one statement: the throttle's counts, and the user if there is one (outer-joined to one row)
    columns, params = throttle.probe(session, username, client)
    row = session.execute(_user_and_throttle(tuple(columns)), {**params, "username": username}).one()
    earlier_failures = throttle.verdict(session, row)
    user = row.User
    if user is not None:
        user.known_group_ids(frozenset(row.group_ids or ()))
    # an unknown name costs the same hash check as a wrong password: timing tells nothing
    stored = user.password_hash if user is not None else _UNKNOWN_USER_HASH
    if not _password_matches(stored, password or "") or user is None or not user.active:
        throttle.failed(session, username, client)
        return None
    if earlier_failures:
        throttle.succeeded(session, username, client)
    return user


def _password_matches(stored: str, password: str) -> bool:
    """The hash check, unless this password matched this very hash a moment ago (``verified.py``)."""
    if VERIFIED.matches(stored, password):
        return True
    if not check_password_hash(stored, password):
        return False
    if stored is not _UNKNOWN_USER_HASH:
        VERIFIED.remember(stored, password)
    return True


def end_sessions(session: Session, user: User) -> None:
    """Log out: every session cookie issued to the user so far stops working (they carry the
    generation they were issued in; see ``web/auth.py``)."""
    session.execute(update(User).where(User.id == user.id)
                    .values(session_generation=User.session_generation + 1)
                    .execution_options(synchronize_session=False))
    session.expire(user, ["session_generation"])


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Display names of these users: pages and the API name the handful of people they show, in
    one query (none when nobody is shown), never by reading the whole user table per request."""
    wanted = sorted({name for name in usernames if name})
    if not wanted:
        return {}
    return dict(session.execute(select(User.username, User.display_name).where(User.username.in_(wanted))).all())


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def set_time_zone(session: Session, actor: User, name: str | None) -> User:
    """The zone ``actor`` reads times in; empty: the company's (``ORDERFLOW_DISPLAY_TIMEZONE``)."""
    name = (name or "").strip() or None
    if name is not None and timefmt.zone_named(name) is None:
        raise InvalidInput(Msg("'%(zone)s' is not a time zone; choose one from the list (e.g. Asia/Shanghai).",
                               zone=name[:64]), fields={"time_zone": Msg("not a time zone")})
    actor.time_zone = name
    session.flush()
    return actor

