"""The managers' order board: every open order, where it waits and since when.

One row per ready human task of an open order (running, error, suspended); an open order
that waits on no person (a timer, a service call, an incident) appears once, without a step.
Rows with a step come first in every sort on a task column; in sorts on an order column the
rows of one order stay together.

How it stays fast with 100,000 orders on SQLite and a million on PostgreSQL:

- Only the page's own rows are read from the tables; filtering, sorting and counting read
  two covering indexes: ``ix_instances_board`` (open orders' filter and sort columns) and
  ``ix_human_tasks_board`` (ready tasks by instance, with their filter and sort columns).
- A ready task always belongs to an open order (ending or terminating an order cancels its
  tasks), so without order-level filters the rows with a step are found in ``human_tasks``
  alone (process and version are copied onto the task).
- Order-level filters (customer, total, dates, search, at risk, a non-manager's own orders)
  are answered by ``ix_instances_board``. If at most FEW_ORDERS orders match, their ids go
  to the task queries as a list (index probes). If more match, the page is cut from the
  first rows of the board without those filters, keeping the rows whose order passes (a
  sample that grows by the share passing, up to SAMPLE_MAX; with task filters: all matching
  tasks, when at most SAMPLE_MAX). Only when that does not suffice does the database scan
  the ready tasks against the set of matching ids. A long id list is one parameter (a JSON
  array on SQLite, an array on PostgreSQL), not thousands.
- Phase one finds the page's (order id, task id) keys; phase two reads those rows' columns
  by primary key, in three small queries. Totals come from COUNTs over the same indexes,
  skipped when the first page is not full.
- A filter is counted and paged through up to MAX_ROWS rows (10,000), as search engines do:
  past that the total says "more than", and no request reads every open task of a million
  orders to count them or to skip them with OFFSET. The CSV export streams every row.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from orderflow.core.errors import NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import SavedFilter, User
from orderflow.core.platform import platform_of
from orderflow.orders.board import limits  # noqa: F401 (tests tune the limits)
from orderflow.orders.board.filters import (  # noqa: F401 (re-exported)
    DIRECTIONS,
    MAX_TEXT,
    OPEN_STATUSES,
    SORTS,
    TASK_SORTS,
    BoardFilter,
    BoardPage,
    BoardRow,
)
from orderflow.orders.board.sql import _Board
from orderflow.workflow import saved_filters

PAGE = "board"   # saved_filters.page: the inbox keeps its own (orderflow/workflow/inbox.py)


def rows(session: Session, actor: User, f: BoardFilter) -> BoardPage:
    """One page of the board: overseers see every open order, others the orders they take part in."""
    board = _Board(session, actor, f)
    offset = (f.page - 1) * f.per_page
    keys = board.page_keys(offset, f.per_page)
    if f.page == 1 and len(keys) < f.per_page:
        total, exact = len(keys), True
    else:
        total, exact = board.count()
    return BoardPage(board.materialize(keys), total, f.page, max(1, math.ceil(total / f.per_page)), exact)


def csv_rows(session: Session, actor: User, f: BoardFilter) -> Iterator[BoardRow]:
    """Every row of the board for ``f`` (all pages, the page order), streamed."""
    board = _Board(session, actor, f)
    query = board.full_query().execution_options(yield_per=1000)
    for row in session.execute(query):
        yield board.make_row(row, row.shipped)


# -- saved filters ---------------------------------------------------------------

def save_filter(session: Session, actor: User, name: str, query: str, shared: bool = False) -> SavedFilter:
    """Keep a board filter under a name (saving an existing name of yours replaces it).

    The query string is checked and stored without its page number.
    """
    name = saved_filters.checked_name(name)
    clean = BoardFilter.from_query_string(query or "").query_string(page=1)
    row = session.scalar(select(SavedFilter).where(SavedFilter.owner == actor.username, SavedFilter.page == PAGE,
                                                   SavedFilter.name == name))
    if row is None:
        row = SavedFilter(owner=actor.username, name=name, page=PAGE, created_at=platform_of(session).clock())
        session.add(row)
    row.query, row.shared = clean, bool(shared)
    session.flush()
    return row


def list_filters(session: Session, actor: User) -> list[SavedFilter]:
    """The actor's own board filters and those others shared, by name (the inbox's are its own)."""
    return list(session.scalars(select(SavedFilter)
                                .where(SavedFilter.page == PAGE,
                                       or_(SavedFilter.owner == actor.username, SavedFilter.shared.is_(True)))
                                .order_by(SavedFilter.name, SavedFilter.id)))


def get_filter(session: Session, actor: User, filter_id: int) -> SavedFilter:
    """A board filter the actor sees (their own, or shared), else 404."""
    row = session.get(SavedFilter, filter_id)
    if row is None or row.page != PAGE or (row.owner != actor.username and not row.shared):
        raise NotFound(Msg("There is no saved filter with id %(id)s.", id=filter_id))
    return row


def rename_filter(session: Session, actor: User, filter_id: int, name: object) -> SavedFilter:
    """Only the one who saved a filter, or an administrator, may rename it."""
    return saved_filters.rename(session, actor, get_filter(session, actor, filter_id), name)


def delete_filter(session: Session, actor: User, filter_id: int) -> None:
    """Only the one who saved a filter, or an administrator, may delete it."""
    saved_filters.delete(session, actor, get_filter(session, actor, filter_id))
