"""The inbox to steer by: a typed filter read from a query string in one place (the page and the
API share it), the query it makes, its quick-filter counts in one grouped query, the columns
each person chooses and the filters a group shares.

The platform filters on the instance's generic projected columns (business key, customer,
value, promised date), which the business fills through ``core/hooks.py``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Select, case, func, or_, select, true
from sqlalchemy.orm import Session, object_session

from orderflow.access.permissions import can, ready_for_groups
from orderflow.core import keyset, timefmt
from orderflow.core.errors import Forbidden, InvalidInput, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import HumanTask, Instance, SavedFilter, User
from orderflow.core.platform import platform_of
from orderflow.workflow import saved_filters

SCOPES = ("mine", "groups", "all")
SORTS = ("due", "promised", "value", "age")
DUES = ("today",)
WAITING = ("customer", "staff")
CLAIMED = ("me", "nobody")
MAX_TEXT = 200
MAX_PAGE = 1_000_000
# the columns a person may show, in the order they appear; "order" and "task" always show
COLUMNS = ("group", "assignee", "ready", "due", "promised", "value", "late")
DEFAULT_COLUMNS = COLUMNS
PAGE = "inbox"   # saved_filters.page
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows; ``from_args`` reads it from a query string, ``query_string`` writes it."""

    scope: str = "groups"
    process: str | None = None
    step: str | None = None            # the element id
    customer: str | None = None        # substring of the projected customer
    q: str | None = None               # substring of the business key (``%`` and ``_`` literal)
    business_key: str | None = None    # exactly this business key (the API's older parameter)
    overdue: bool = False
    due: str | None = None             # "today"
    waiting: str | None = None         # "customer": the customer's own steps; "staff": the others
    claimed: str | None = None         # "me" or "nobody"
    sort: str = "due"
    desc: bool = False
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> InboxFilter:
        """Parse a query-string mapping; empty values mean "no filter", unknown keys are ignored.
        Raises ``InvalidInput`` naming every bad parameter."""
        problems: dict[str, Msg] = {}
        values: dict[str, Any] = {}

        def raw(name: str) -> str | None:
            value = args.get(name)
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            return None if value is None else (str(value).strip() or None)

        for name in ("process", "step", "customer", "q", "business_key"):
            text = raw(name) if name != "step" else (raw("step") or raw("element"))
            if text is not None and len(text) > MAX_TEXT:
                problems[name] = Msg("Enter at most %(max)s characters.", max=MAX_TEXT)
            elif text is not None:
                values[name] = text
        for name, choices in (("scope", SCOPES), ("due", DUES), ("waiting", WAITING), ("claimed", CLAIMED)):
            text = raw(name)
            if text is not None and text not in choices:
                problems[name] = Msg("'%(value)s' is not one of %(choices)s.", value=text[:40],
                                     choices=", ".join(choices))
            elif text is not None:
                values[name] = text
        overdue = raw("overdue")
        if overdue is not None and overdue.lower() in _TRUE:
            values["overdue"] = True
        elif overdue is not None and overdue.lower() not in _FALSE:
            problems["overdue"] = Msg("'%(value)s' is not yes or no (1 or 0).", value=overdue[:40])
        sort = raw("sort")
        if sort is not None:
            key = sort[1:] if sort.startswith("-") else sort
            if key in SORTS:
                values["sort"], values["desc"] = key, sort.startswith("-")
            else:
                problems["sort"] = Msg("Sort by one of %(choices)s (a leading - for descending), not '%(value)s'.",
                                       choices=", ".join(SORTS), value=sort[:40])
        page = raw("page")  # a page number past the end or not a number shows the nearest page
        if page is not None and page.isascii() and page.isdigit() and len(page) <= 9:
            values["page"] = min(max(int(page), 1), MAX_PAGE)
        if problems:
            name, problem = next(iter(problems.items()))
            raise InvalidInput(Msg("The inbox filter '%(field)s' is not valid: %(problem)s", field=name,
                                   problem=problem), fields=problems)
        return cls(**values)

    @classmethod
    def from_query_string(cls, query: str) -> InboxFilter:
        return cls.from_args(dict(parse_qsl(query.lstrip("?"), keep_blank_values=True)))

    def to_args(self, **changes: Any) -> dict[str, str]:
        """The query-string form (defaults left out) after applying ``changes``."""
        current = replace(self, **changes) if changes else self
        out: dict[str, str] = {}
        for item in fields(current):
            value = getattr(current, item.name)
            if item.name == "desc" or value is None or value == item.default:
                continue
            out[item.name] = "1" if value is True else str(value)
        if current.desc:
            out["sort"] = "-" + current.sort
        return out

    def query_string(self, **changes: Any) -> str:
        return urlencode(self.to_args(**changes))

    @property
    def quick(self) -> str | None:
        """The quick filter this is, if it is one."""
        if self.overdue:
            return "overdue"
        if self.due:
            return "today"
        if self.waiting == "customer":
            return "waiting"
        if self.claimed == "me":
            return "mine"
        return None


def today_bounds(session: Session, now: datetime) -> tuple[date, datetime, datetime]:
    """Today in the company's zone, and the UTC instants it starts and ends."""
    zone = timefmt.company_zone(platform_of(session).config)
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(), zone)
    end = datetime.combine(today + timedelta(days=1), time(), zone)
    return today, start.astimezone(UTC), end.astimezone(UTC)


def _visible(actor: User, scope: str) -> Select:
    query = select(HumanTask).join(Instance).where(HumanTask.status == "ready", Instance.status == "running")
    if scope == "mine":
        return query.where(HumanTask.assignee == actor.username)
    if scope == "groups" or not can(actor, "order.read_all"):
        return query.where(ready_for_groups(object_session(actor), actor.group_ids))
    return query


def base_query(session: Session, actor: User, f: InboxFilter) -> Select:
    """The tasks ``f`` selects without its quick filters (overdue, due, waiting, claimed), unsorted."""
    query = _visible(actor, f.scope)
    if f.process:
        query = query.where(Instance.process_key == f.process)
    if f.step:
        query = query.where(HumanTask.element_id == f.step)
    if f.business_key:
        query = query.where(Instance.business_key == f.business_key)
    if f.customer:
        query = query.where(Instance.customer.icontains(f.customer, autoescape=True))
    if f.q:
        query = query.where(Instance.business_key.icontains(f.q, autoescape=True))
    return query


def query(session: Session, actor: User, f: InboxFilter) -> Select:
    """Ready tasks the actor may see that ``f`` selects, in its order (ties by id)."""
    now = platform_of(session).clock()
    found = base_query(session, actor, f)
    if f.overdue:
        found = found.where(HumanTask.due_at < now)
    if f.due == "today":
        _, start, end = today_bounds(session, now)
        found = found.where(HumanTask.due_at >= start, HumanTask.due_at < end)
    if f.waiting:
        # "= true", not "IS true": the planner proves the partial index's "WHERE customer_step" from it
        found = found.where(HumanTask.customer_step == true() if f.waiting == "customer"
                            else HumanTask.customer_step.is_(False))
    if f.claimed == "me":
        found = found.where(HumanTask.assignee == actor.username)
    elif f.claimed == "nobody":
        found = found.where(HumanTask.assignee.is_(None))
    column = {"due": HumanTask.due_at, "promised": Instance.promised_date, "value": Instance.order_total,
              "age": HumanTask.ready_at}[f.sort]
    # ties by id; NULLS LAST keeps the (status, group_id, due_at) index usable where "due_at IS NULL"
    # would not; the API pages after the last task shown (core/keyset.py)
    return keyset.ordered(found, keyset.Key(column, f.desc), keyset.Key(HumanTask.id, f.desc))


@dataclass(frozen=True)
class Counts:
    """The tasks of a filter (quick filters aside), and how many each quick filter would show.
    Each stops at COUNT_CAP: the names in ``capped`` have more than that (and hold COUNT_CAP)."""

    total: int       # every task, the customer's steps included
    staff: int       # the staff's work: the customer's own steps left out
    overdue: int
    today: int
    waiting: int
    mine: int
    capped: frozenset[str] = frozenset()


#: counts stop here, as a mail client's do: past it a count says "1,000+", so no page reads every
#: open task of a group that has tens of thousands (a million orders) to count them. The inbox page
#: counts six ways; at 10,000 each of them cost 40-80 ms on PostgreSQL at 200,000 orders, at 1,000
#: they cost ~10 ms (the capped read follows an index in the order of the join)
COUNT_CAP = 1_000


def capped_count(session: Session, query: Select) -> int:
    """How many rows ``query`` gives, reading at most COUNT_CAP + 1 of them (more: COUNT_CAP + 1)."""
    limited = query.order_by(None).with_only_columns(HumanTask.id, maintain_column_froms=True) \
        .limit(COUNT_CAP + 1).subquery()   # the ids only: no row's JSON is read to be counted
    return int(session.scalar(select(func.count()).select_from(limited)) or 0)


def counts(session: Session, actor: User, f: InboxFilter) -> Counts:
    """One grouped query over the filter without its quick filters, reading at most COUNT_CAP + 1
    tasks; past that, one capped count per quick filter."""
    now = platform_of(session).clock()
    _, start, end = today_bounds(session, now)
    base = base_query(session, actor, f).order_by(None)
    conditions = {"staff": HumanTask.customer_step.is_not(True), "overdue": HumanTask.due_at < now,
                  "today": (HumanTask.due_at >= start) & (HumanTask.due_at < end),
                  "waiting": HumanTask.customer_step == true(), "mine": HumanTask.assignee == actor.username}
    rows = base.with_only_columns(HumanTask.id, HumanTask.customer_step, HumanTask.due_at, HumanTask.assignee,
                                  maintain_column_froms=True).limit(COUNT_CAP + 1).subquery()
    on_rows = {"staff": rows.c.customer_step.is_not(True), "overdue": rows.c.due_at < now,
               "today": (rows.c.due_at >= start) & (rows.c.due_at < end), "waiting": rows.c.customer_step.is_(True),
               "mine": rows.c.assignee == actor.username}
    result = session.execute(select(func.count(), *(func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
                                                    for condition in on_rows.values())).select_from(rows)).one()
    found = dict(zip(["total", *on_rows], (int(value or 0) for value in result)))
    if found["total"] > COUNT_CAP:  # a part of the tasks was counted: count each quick filter on its own
        found.update({name: capped_count(session, base.where(condition)) for name, condition in conditions.items()})
    capped = frozenset(name for name, number in found.items() if number > COUNT_CAP)
    return Counts(**{name: min(number, COUNT_CAP) for name, number in found.items()}, capped=capped)


def late_days(promised: date | None, today: date) -> int:
    """Days an order is past its promised date (0 when not yet, or when it has none)."""
    return max(0, (today - promised).days) if promised else 0


# -- the columns a person chooses --------------------------------------------

def columns(actor: User) -> list[str]:
    chosen = (actor.preferences or {}).get("inbox_columns")
    if not isinstance(chosen, list):
        return list(DEFAULT_COLUMNS)
    return [c for c in COLUMNS if c in chosen]


def set_columns(session: Session, actor: User, chosen: list[str]) -> list[str]:
    """Keep the columns the actor shows (any of ``COLUMNS``; an empty list shows only order and task)."""
    if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
        raise InvalidInput(Msg("'columns' must be a list of column names."),
                           fields={"columns": Msg("not a list of names")})
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown:
        raise InvalidInput(Msg("'%(value)s' is not one of %(choices)s.", value=unknown[0][:40],
                               choices=", ".join(COLUMNS)), fields={"columns": Msg("unknown column")})
    actor.preferences = {**(actor.preferences or {}), "inbox_columns": [c for c in COLUMNS if c in chosen]}
    session.flush()
    return columns(actor)


# -- saved filters, private or shared with a group ----------------------------

def save_filter(session: Session, actor: User, name: str, query_string: str,
                group_id: str | None = None) -> SavedFilter:
    """Keep an inbox filter under a name, private or shared with one of the actor's groups
    (saving a name of yours again replaces it). The query string is checked and kept without its page."""
    name = saved_filters.checked_name(name)
    group_id = group_id or None
    if group_id is not None and group_id not in actor.group_ids:
        raise Forbidden(Msg("You can share a filter only with a group you belong to, not '%(group)s'.",
                            group=group_id[:64]))
    clean = InboxFilter.from_query_string(query_string or "").query_string(page=1)
    row = session.scalar(select(SavedFilter).where(SavedFilter.owner == actor.username, SavedFilter.page == PAGE,
                                                   SavedFilter.name == name))
    if row is None:
        row = SavedFilter(owner=actor.username, name=name, page=PAGE, created_at=platform_of(session).clock())
        session.add(row)
    row.query, row.group_id, row.shared = clean, group_id, False
    session.flush()
    return row


def list_filters(session: Session, actor: User) -> list[SavedFilter]:
    """The actor's own inbox filters and those shared with the actor's groups, by name."""
    mine = SavedFilter.owner == actor.username
    shared = SavedFilter.group_id.in_(sorted(actor.group_ids))
    return list(session.scalars(select(SavedFilter).where(SavedFilter.page == PAGE, or_(mine, shared))
                                .order_by(SavedFilter.name, SavedFilter.id)))


def get_filter(session: Session, actor: User, filter_id: int) -> SavedFilter:
    """An inbox filter the actor may see: their own, one shared with their group, and (for an
    administrator, who may rename and delete them) any shared with a group."""
    row = session.get(SavedFilter, filter_id)
    if row is None or row.page != PAGE or not (row.owner == actor.username or row.group_id in actor.group_ids
                                               or (row.group_id and saved_filters.ADMIN in actor.group_ids)):
        raise NotFound(Msg("There is no saved filter with id %(id)s.", id=filter_id))
    return row


def rename_filter(session: Session, actor: User, filter_id: int, name: object) -> SavedFilter:
    """Only the one who saved a filter, or an administrator, may rename it (404 for those who cannot see it)."""
    return saved_filters.rename(session, actor, get_filter(session, actor, filter_id), name)


def delete_filter(session: Session, actor: User, filter_id: int) -> None:
    """Only the one who saved a filter, or an administrator, may delete it (404 for those who cannot see it)."""
    saved_filters.delete(session, actor, get_filter(session, actor, filter_id))
