"""Who may do what: one matrix of actions × roles, enforced here in the domain layer so pages and
API agree. README's permissions table is generated from ``MATRIX`` (``permissions_table``), and
tests/test_permission_matrix.py walks every cell through the pages and the API.

A user's roles are their groups: ``process_owner``, ``manager``, ``admin`` and ``integration`` are
roles of their own; every other group (the departments, and groups an administrator creates) is
``staff``. Some actions are also scoped by data: ``task.work`` needs the task's group among the
user's groups, ``order.start`` the process's start group (administrators: any process),
``order.read_own`` an order the user started or has a task in.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, or_, select, true
from sqlalchemy.orm import Session

from orderflow.access.accounts import GROUPS as GROUP_NAMES
from orderflow.core.errors import Forbidden
from orderflow.core.i18n import N_, Msg, Texts, element_name
from orderflow.core.models import HumanTask, Instance, Notification, ProcessVersion, TaskGroup, User

STAFF = "staff"
# the matrix's columns; README explains each
ROLES: dict[str, str] = {
    STAFF: "every department group, and any group an administrator creates",
    "process_owner": "process owners",
    "manager": "managers",
    "admin": "administrators",
    "integration": "systems outside (API clients such as the bank gateway)",
}
_ALL = frozenset(ROLES)

# action -> (what it allows, completing "Only … may …"; the roles that may)
ACTIONS: dict[str, tuple[Msg, frozenset[str]]] = {
    "task.work": (Msg("work on tasks"), _ALL - {"integration"}),
    "task.reassign": (Msg("reassign tasks"), frozenset({"manager", "admin"})),
    "order.start": (Msg("start orders"), _ALL - {"integration"}),
    "order.read_own": (Msg("see orders"), _ALL - {"integration"}),
    "order.read_all": (Msg("see every order"), frozenset({"manager", "admin"})),
    "order.suspend": (Msg("suspend orders"), frozenset({"manager", "admin"})),
    "order.resume": (Msg("resume orders"), frozenset({"manager", "admin"})),
    "order.terminate": (Msg("terminate orders"), frozenset({"manager", "admin"})),
    "incident.read": (Msg("see incidents"), frozenset({"manager", "admin"})),
    "incident.retry": (Msg("retry incidents"), frozenset({"manager", "admin"})),
    "incident.complete": (Msg("complete steps by hand"), frozenset({"manager", "admin"})),
    "board.read": (Msg("see the order board"), frozenset({"manager", "admin"})),
    "monitor.read": (Msg("see where orders wait"), frozenset({"manager", "admin"})),
    "analytics.read": (Msg("see analytics"), frozenset({"manager", "admin"})),
    "outbox.read": (Msg("see the outbox"), frozenset({"manager", "admin"})),
    "customer.read": (Msg("see customer files"), frozenset({STAFF, "manager", "admin"})),
    "process.read_versions": (Msg("see process versions"), frozenset({"process_owner", "manager", "admin"})),
    "process.deploy": (Msg("deploy diagrams"), frozenset({"process_owner", "admin"})),
    "process.migrate": (Msg("move running orders to another version"), frozenset({"process_owner", "admin"})),
    "message.deliver": (Msg("deliver messages"), frozenset({"integration", "admin"})),
    "metrics.read": (Msg("read the service's metrics"), frozenset({"integration", "admin"})),
    "token.own": (Msg("have API tokens"), _ALL),
    "admin.users": (Msg("manage users"), frozenset({"admin"})),
    "admin.groups": (Msg("manage groups"), frozenset({"admin"})),
    "admin.tokens": (Msg("manage everyone's API tokens"), frozenset({"admin"})),
}
MATRIX: dict[str, frozenset[str]] = {action: roles for action, (_, roles) in ACTIONS.items()}

# Rows the action × role matrix cannot hold: rules on the data that bind every role alike, the
# administrators included. README's second table is ``rules_table()``; tests/test_authority.py
# tests each row through the pages and the API.
RULES: dict[str, str] = {
    "task.reassign.diagram": "a step is reassigned only to a group the diagram allows for it (its group or a "
                             "further candidate group), or to a user in one of them",
    "task.reassign.signature": "a signature step never leaves its group",
    "task.sign.diagram": "only members of the step's groups in the diagram complete or sign a signature step, "
                         "whatever the assignment",
    "customer_link.secret": "staff send or resend a customer link, never read it: no response, page or outbox "
                            "mail shows its token",
    "customer_link.staff_session": "a customer link opened in a logged-in session is refused, so \"by the "
                                   "customer\" is only written from outside one",
    "customer.file.totals": "a customer file shows order totals (each, and the order value) only of the orders "
                            "its reader may open",
    "token.mint": "tokens are minted by one function: never with an API token (page or API), and within "
                  "ORDERFLOW_TOKEN_MAX_DAYS when it is set (then without expiry is refused)",
}

# "Only … may %(what)s." for the role sets the matrix uses; others get the general sentence
_ONLY = {
    frozenset({"manager", "admin"}): N_("Only managers and administrators may %(what)s."),
    frozenset({"process_owner", "admin"}): N_("Only process owners and administrators may %(what)s."),
    frozenset({"process_owner", "manager", "admin"}):
        N_("Only process owners, managers and administrators may %(what)s."),
    frozenset({"integration", "admin"}): N_("Only integration users and administrators may %(what)s."),
    frozenset({"admin"}): N_("Only administrators may %(what)s."),
}
_GENERAL = N_("Your groups do not allow you to %(what)s; ask an administrator if you need to.")


def roles_of(group_ids: Iterable[str]) -> frozenset[str]:
    return frozenset(g if g in ROLES and g != STAFF else STAFF for g in group_ids)


def can(user: User | None, action: str) -> bool:
    """May ``user`` do ``action`` at all (data scopes aside)? Unknown actions are a bug, not a no."""
    roles = MATRIX[action]
    return user is not None and bool(roles_of(user.group_ids) & roles)


def group_may(group_id: str, action: str) -> bool:
    """Does membership of ``group_id`` alone allow ``action``?"""
    return bool(roles_of([group_id]) & MATRIX[action])


def denial(action: str) -> Msg:
    what, roles = ACTIONS[action]
    return Msg(_ONLY.get(roles, _GENERAL), what=what)


def require(user: User, action: str) -> None:
    if not can(user, action):
        raise Forbidden(denial(action))


def permissions_table() -> str:
    """README's table: one row per action, one column per role."""
    rows = ["| action | allows one to | " + " | ".join(f"`{r}`" for r in ROLES) + " |",
            "|---|---|" + "---|" * len(ROLES)]
    for action, (what, roles) in ACTIONS.items():
        rows.append(f"| `{action}` | {what} | " + " | ".join("yes" if r in roles else "no" for r in ROLES) + " |")
    return "\n".join(rows)


def rules_table() -> str:
    """README's second table: the rules every role is bound by."""
    return "\n".join(["| rule | for every role |", "|---|---|"] + [f"| `{k}` | {v} |" for k, v in RULES.items()])


# -- the helpers the domain modules call ---------------------------------------------------------

def is_overseer(user: User) -> bool:
    """Sees every order (managers, administrators)."""
    return can(user, "order.read_all")


def require_overseer(user: User, what: str) -> None:
    """Kept for callers that predate the matrix: overseers are those who see every order."""
    if not is_overseer(user):
        raise Forbidden(Msg("Only managers and administrators may %(what)s.", what=what))


def require_deployer(user: User) -> None:
    require(user, "process.deploy")


def require_integration(user: User) -> None:
    require(user, "message.deliver")


def start_groups(version: ProcessVersion) -> list[str]:
    """Every group that may start the process: its start event's lane or candidate groups."""
    return [g for g in (version.start_group, *(version.start_groups or [])) if g]


def may_start(user: User, version: ProcessVersion) -> bool:
    return can(user, "order.start") and ("admin" in user.group_ids or
                                         any(g in user.group_ids for g in start_groups(version)))


def require_starter(user: User, version: ProcessVersion) -> None:
    require(user, "order.start")
    if may_start(user, version):
        return
    raise Forbidden(Msg("Only the '%(group)s' group may start '%(process)s'.",
                        group="', '".join(start_groups(version)) or "admin", process=version.key))


def task_groups(task: HumanTask) -> frozenset[str]:
    """Every group whose members may work on the task: its group and its further candidate groups."""
    return frozenset(gid for gid in (task.group_id, *(g.group_id for g in task.other_groups)) if gid is not None)


def in_task_groups(user: User, task: HumanTask) -> bool:
    # the task's own group first: most tasks have one group and need no further query
    return task.group_id in user.group_ids or bool(task_groups(task) & user.group_ids)


def for_groups(group_ids: Iterable[str]):
    """SQL condition: tasks one of ``group_ids`` may work on (their group or a further candidate group)."""
    ids = list(group_ids)
    return or_(HumanTask.group_id.in_(ids),
               HumanTask.id.in_(select(TaskGroup.task_id).where(TaskGroup.group_id.in_(ids))))


def ready_for_groups(session: Session | None, group_ids: Iterable[str]):
    """SQL condition for the inbox: tasks ``group_ids`` may work on. Only when one of them is a
    further candidate group of a ready task does the query look beyond ``group_id``, so the usual
    inbox stays one seek of its index, in due order."""
    ids = list(group_ids)
    if session is None:  # an actor outside any session: the complete condition
        return for_groups(ids)
    extra = session.scalar(select(TaskGroup.task_id).join(HumanTask, HumanTask.id == TaskGroup.task_id)
                           .where(TaskGroup.group_id.in_(ids), HumanTask.status == "ready").limit(1))
    return for_groups(ids) if extra is not None else HumanTask.group_id.in_(ids)


def group_word(group_id: str | None) -> Texts:
    """A group as people name it, in each reader's language (an unknown id stays as it is)."""
    english, chinese = GROUP_NAMES.get(group_id or "", (group_id or "", ""))
    return Texts(english, zh=chinese)


def group_words(group_ids: Iterable[str]) -> Texts:
    """Several groups, listed in each reader's language."""
    words = [group_word(g) for g in sorted(group_ids)]
    return Texts(", ".join(words), zh="、".join(w.in_language("zh") for w in words))


def _not_your_task(task: HumanTask) -> Forbidden:
    groups = task_groups(task)
    if len(groups) > 1:
        return Forbidden(Msg("This task belongs to the groups %(groups)s, and you are in none of them.",
                             groups=group_words(groups)))
    return Forbidden(Msg("This task belongs to the '%(group)s' group, and you are not in it.",
                         group=group_word(task.group_id)))


def require_task_member(user: User, task: HumanTask) -> None:
    require(user, "task.work")
    if not in_task_groups(user, task):
        raise _not_your_task(task)


def require_step_authority(user: User, task: HumanTask, diagram: frozenset[str]) -> None:
    """Completing (or signing) a step: the user is in one of the task's groups *and* one of the
    groups the diagram allows for the step, whatever the assignment says."""
    require_task_member(user, task)
    if diagram and not diagram & user.group_ids:
        raise Forbidden(Msg("The diagram gives this step to %(groups)s; you are in none of them.",
                            groups=group_words(diagram)))


def require_reassign_target(actor: User, task: HumanTask, diagram: frozenset[str], known: frozenset[str],
                            signature: bool, to_group: str | None = None, to_user: User | None = None) -> None:
    """Authority follows the diagram, not the clicker: a step goes only to one of the groups the
    diagram allows for it (``diagram``: its group and further candidate groups), or to an active
    user in one of them who is also in the task's groups now. A signature step never leaves its
    group. Only when none of the diagram's groups exists (``known``: those that do) may a
    non-signature step go to another working group, so it does not sit where nobody can work."""
    require(actor, "task.reassign")
    if to_group is not None:
        if signature and to_group != task.group_id:
            raise Forbidden(Msg("'%(step)s' is a signature step: it stays with the '%(group)s' group.",
                                step=element_name(task.name), group=group_word(task.group_id)))
        if to_group not in diagram and (signature or diagram & known):
            raise Forbidden(Msg("The diagram gives this step to %(groups)s; it cannot go to '%(group)s'.",
                                groups=group_words(diagram), group=group_word(to_group)))
    if to_user is not None and not (diagram & to_user.group_ids or (not (diagram & known) and not signature)):
        raise Forbidden(Msg("The diagram gives this step to %(groups)s, and '%(user)s' is in none of them.",
                            groups=group_words(diagram), user=to_user.username))


def require_task_viewer(user: User, task: HumanTask) -> None:
    if not in_task_groups(user, task) and not can(user, "order.read_all"):
        raise _not_your_task(task)


def participation(user: User):
    """SQL condition: instances the user started, has a task in (done by them or open to their
    groups), or was told about by the service (an overdue step escalated to them): a notice's link
    to the order must open for its reader."""
    took_part = exists().where(HumanTask.instance_id == Instance.id).where(or_(
        HumanTask.completed_by == user.username,
        (HumanTask.status == "ready") & for_groups(user.group_ids),
    ))
    told = exists().where(Notification.instance_id == Instance.id, Notification.username == user.username)
    return or_(Instance.started_by == user.username, took_part, told)


# groups that see every order read-only (not the board, not other groups' tasks): customer service
# answers about any order and opens after-sales cases on orders it took no part in
READS_EVERY_ORDER = frozenset({"service"})


def reads_every_order(user: User) -> bool:
    return can(user, "order.read_all") or bool(READS_EVERY_ORDER & user.group_ids and can(user, "order.read_own"))


def visible_orders(user: User):
    """SQL condition for order lists: all for overseers and customer service, else those the user
    took part in."""
    if reads_every_order(user):
        return true()
    require(user, "order.read_own")
    return participation(user)


def require_instance_viewer(session: Session, user: User, instance: Instance) -> None:
    if reads_every_order(user):
        return
    require(user, "order.read_own")
    allowed = session.scalar(select(Instance.id).where(Instance.id == instance.id, participation(user)))
    if allowed is None:
        raise Forbidden(Msg("You have taken no part in this order; ask a manager if you need to see it."))
