"""What the board shows: the filter read from a query string, and its rows."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from enum import Enum, auto
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.orders.keys import ALL_PROCESSES

OPEN_STATUSES = ("running", "error", "suspended")
SORTS = ("business_key", "customer", "order_total", "promised_date", "step", "group", "assignee", "ready_at",
         "due_at", "started_at")
TASK_SORTS = frozenset({"step", "group", "assignee", "ready_at", "due_at"})
DIRECTIONS = ("asc", "desc")
DEFAULT_SORT, DEFAULT_DIR = "due_at", "asc"
PER_PAGE, MAX_PER_PAGE = 50, 200
MAX_PAGE = 1_000_000
# The board counts and pages through at most this many rows of one filter (as search engines
# do): a count or an OFFSET past it would read every open task at a million orders. Beyond it
# the total reads "more than"; the CSV export streams every row.
MAX_ROWS = 10_000
MAX_TEXT = 200
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class _Unknown(Enum):
    """A cached answer not computed yet (None is an answer); an enum so that ``is`` narrows it."""
    UNKNOWN = auto()


_UNKNOWN: Final = _Unknown.UNKNOWN


@dataclass(frozen=True)
class BoardFilter:
    """What the board shows; ``from_args`` reads it from a query string, ``to_args`` writes it back."""

    process: str | None = None
    version: int | None = None
    element: str | None = None
    group: str | None = None
    customer: str | None = None
    amount_min: float | None = None
    amount_max: float | None = None
    overdue: bool = False
    at_risk: bool = False
    started_from: date | None = None
    started_to: date | None = None
    q: str | None = None
    sort: str = DEFAULT_SORT
    dir: str = DEFAULT_DIR
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> BoardFilter:
        """Parse a query-string mapping (a werkzeug MultiDict, a dict of str or of lists).

        Empty values mean "no filter"; unknown keys are ignored. Raises ``InvalidInput`` with
        one message per bad field.
        """
        problems: dict[str, Msg] = {}
        values: dict[str, Any] = {}

        def raw(name: str) -> str | None:
            value = args.get(name)
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            if value is None:
                return None
            return str(value).strip() or None

        for name in ("process", "element", "group", "customer", "q"):
            text = raw(name)
            if text is not None and len(text) > MAX_TEXT:
                problems[name] = Msg("Enter at most %(max)s characters.", max=MAX_TEXT)
            else:
                values[name] = text
        for name, low, high in (("version", 1, MAX_PAGE), ("page", 1, MAX_PAGE), ("per_page", 1, MAX_PER_PAGE)):
            text = raw(name)
            if text is None:
                continue
            number = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None
            if number is None or not low <= number <= high:
                problems[name] = Msg("'%(value)s' is not a whole number from %(min)s to %(max)s.",
                                     value=text[:40], min=low, max=high)
            else:
                values[name] = number
        for name in ("amount_min", "amount_max"):
            text = raw(name)
            if text is None:
                continue
            try:
                amount = float(text)
            except ValueError:
                amount = math.nan
            if not math.isfinite(amount):
                problems[name] = Msg("'%(value)s' is not a number.", value=text[:40])
            else:
                values[name] = amount
        for name in ("started_from", "started_to"):
            text = raw(name)
            if text is None:
                continue
            try:
                day = date.fromisoformat(text)
            except ValueError:
                day = None
            if day is None or not FIRST_DAY <= day <= LAST_DAY:  # (far ends would overflow as times)
                problems[name] = Msg("'%(value)s' is not a date (YYYY-MM-DD).", value=text[:40])
            else:
                values[name] = day
        for name in ("overdue", "at_risk"):
            text = raw(name)
            if text is None or text.lower() in _FALSE:
                continue
            if text.lower() in _TRUE:
                values[name] = True
            else:
                problems[name] = Msg("'%(value)s' is not yes or no (1 or 0).", value=text[:40])
        sort = raw("sort")
        if sort is not None:
            if sort in SORTS:
                values["sort"] = sort
            else:
                problems["sort"] = Msg("Sort by one of %(choices)s, not '%(value)s'.", choices=", ".join(SORTS),
                                       value=sort[:40])
        direction = raw("dir")
        if direction is not None:
            if direction.lower() in DIRECTIONS:
                values["dir"] = direction.lower()
            else:
                problems["dir"] = Msg("The direction is asc or desc, not '%(value)s'.", value=direction[:40])
        least, most = values.get("amount_min"), values.get("amount_max")
        if least is not None and most is not None and most < least:
            problems["amount_max"] = Msg("The maximum is below the minimum.")
        start, end = values.get("started_from"), values.get("started_to")
        if start is not None and end is not None and end < start:
            problems["started_to"] = Msg("The end date is before the start date.")
        page, per_page = values.get("page", 1), values.get("per_page", PER_PAGE)
        if "page" not in problems and (page - 1) * per_page >= MAX_ROWS:
            problems["page"] = Msg("The board pages through the first %(max)s rows of a filter; narrow the filter, "
                                   "or download it as CSV, to see the rest.", max=f"{MAX_ROWS:,}")
        if problems:
            name, problem = next(iter(problems.items()))
            raise InvalidInput(Msg("The board filter '%(field)s' is not valid: %(problem)s", field=name,
                                   problem=problem), fields=problems)
        return cls(**{k: v for k, v in values.items() if v is not None})

    @classmethod
    def from_query_string(cls, query: str) -> BoardFilter:
        return cls.from_args(dict(parse_qsl(query.lstrip("?"), keep_blank_values=True)))

    def to_args(self, **changes: Any) -> dict[str, str]:
        """The query-string form of this filter (defaults left out) after applying ``changes``."""
        current = replace(self, **changes) if changes else self
        out: dict[str, str] = {}
        for item in fields(current):
            value = getattr(current, item.name)
            if value is None or value == item.default:
                continue
            if isinstance(value, bool):
                out[item.name] = "1"
            elif isinstance(value, float):
                out[item.name] = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
            elif isinstance(value, date):
                out[item.name] = value.isoformat()
            else:
                out[item.name] = str(value)
        return out

    def query_string(self, **changes: Any) -> str:
        return urlencode(self.to_args(**changes))

    @property
    def process_key(self) -> str | None:
        """The one process shown, or None for every process (no filter, or ``process=all``)."""
        return None if self.process in (None, ALL_PROCESSES) else self.process

    @property
    def task_filtered(self) -> bool:
        """Only rows with a step can match (orders waiting on no person drop out)."""
        return bool(self.element or self.group or self.overdue)


@dataclass(frozen=True)
class BoardRow:
    instance_id: int
    business_key: str | None
    process: str
    customer: str | None
    order_total: float | None
    promised_date: date | None
    status: str
    started_at: datetime
    task_id: int | None
    element_id: str | None
    step: str | None          # the element's name as drawn: 'English 中文'
    group: str | None
    assignee: str | None
    ready_at: datetime | None
    due_at: datetime | None
    overdue: bool
    at_risk: bool             # not delivered, promised within ORDERFLOW_RISK_DAYS or already late
    late: bool = False        # not delivered and the promised date has passed


@dataclass(frozen=True)
class BoardPage:
    rows: list[BoardRow]
    total: int            # exact up to MAX_ROWS; MAX_ROWS when more match (then ``exact`` is False)
    page: int
    pages: int
    exact: bool = True
