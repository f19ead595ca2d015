"""The board's SQL (see the package docstring for why it is shaped this way)."""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    distinct,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from orderflow.access.permissions import is_overseer, participation
from orderflow.core.models import HumanTask, Instance, ProcessVersion, User
from orderflow.core.platform import platform_of
from orderflow.orders.board import filters
from orderflow.orders.board.filters import _UNKNOWN, OPEN_STATUSES, TASK_SORTS, BoardFilter, BoardRow, _Unknown
from orderflow.orders.board.helpers import _chunks, _plus0

_CHUNK = 500  # ids per IN list
FEW_ORDERS = 5_000  # order-level filters matching at most this many orders are resolved to ids first
SAMPLE_MAX = 20_000  # most task rows read at once when many orders pass the order-level filters


class _Board:
    """The SQL for one filter, for one actor, at one moment."""

    def __init__(self, session: Session, actor: User, f: BoardFilter):
        self.session, self.f = session, f
        platform = platform_of(session)
        config = platform.config
        self.now = platform.clock()
        self.zone = ZoneInfo(str(config.get("ORDERFLOW_DISPLAY_TIMEZONE") or "UTC"))
        today = self.now.astimezone(self.zone).date()
        self.today = today
        self.risk_until = today + timedelta(days=int(config.get("ORDERFLOW_RISK_DAYS", 7)))
        self.delivery = str(config.get("ORDERFLOW_DELIVERY_STEP") or "ship_order")
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self.t = aliased(HumanTask, name="t")
        self.version_ids: list[int] | None = None
        if f.version is not None:
            query = select(ProcessVersion.id).where(ProcessVersion.version == f.version)
            if f.process_key:
                query = query.where(ProcessVersion.key == f.process_key)
            self.version_ids = list(session.scalars(query))
        # conditions on the ready task row (process and version are copied onto it)
        self.task_conds = self._task_conds(self.t)
        # conditions on the order row, process and version included
        self.scope_conds: list[ColumnElement[bool]] = [Instance.status.in_(OPEN_STATUSES)]
        if f.process_key:
            self.scope_conds.append(Instance.process_key == f.process_key)
        if self.version_ids is not None:
            self.scope_conds.append(Instance.process_version_id.in_(self.version_ids))
        # order-level filters: these need the orders' index
        self.order_conds: list[ColumnElement[bool]] = []
        if f.customer:
            self.order_conds.append(self._contains(Instance.customer, f.customer))
        if f.q:
            self.order_conds.append(or_(self._contains(Instance.business_key, f.q),
                                        self._contains(Instance.customer, f.q)))
        if f.amount_min is not None:
            self.order_conds.append(Instance.order_total >= f.amount_min)
        if f.amount_max is not None:
            self.order_conds.append(Instance.order_total <= f.amount_max)
        if f.started_from is not None:
            self.order_conds.append(Instance.started_at >= self._local_midnight(f.started_from))
        if f.started_to is not None:
            self.order_conds.append(Instance.started_at < self._local_midnight(f.started_to + timedelta(days=1)))
        if f.at_risk:
            self.order_conds.append(and_(Instance.promised_date.is_not(None),
                                         Instance.promised_date <= self.risk_until,
                                         ~self._shipped(Instance.id)))
        if not is_overseer(actor):
            self.order_conds.append(participation(actor))
        self._count_a: int | None = None
        self._few: list[int] | Literal[_Unknown.UNKNOWN] | None = _UNKNOWN
        self._every: list[tuple[int, int | None]] | Literal[_Unknown.UNKNOWN] | None = _UNKNOWN

    # -- building blocks -------------------------------------------------------

    def _task_conds(self, t) -> list[ColumnElement[bool]]:
        f = self.f
        conds: list[ColumnElement[bool]] = [t.status == "ready"]
        if f.process_key:
            conds.append(t.process_key == f.process_key)
        if self.version_ids is not None:
            conds.append(t.process_version_id.in_(self.version_ids))
        if f.element:
            conds.append(t.element_id == f.element)
        if f.group:
            conds.append(t.group_id == f.group)
        if f.overdue:
            conds.append(t.due_at < self.now)
        return conds

    def _contains(self, column, text: str) -> ColumnElement[bool]:
        """Substring match, any case, % and _ taken literally. SQLite's LIKE already ignores
        ASCII case, and lower() on both sides would double the scan's cost."""
        if self.sqlite:
            return column.contains(text, autoescape=True)
        return column.icontains(text, autoescape=True)

    def _local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone)

    def _shipped(self, instance_id) -> ColumnElement[bool]:
        # SELECT 1, not SELECT *: SQLite then answers from ix_human_tasks_board alone
        done = aliased(HumanTask, name="delivered")
        return (select(literal_column("1")).select_from(done)
                .where(done.status == "completed", done.instance_id == instance_id, done.element_id == self.delivery)
                .exists())

    def _id_in(self, column, ids: list[int]) -> ColumnElement[bool]:
        """``column IN ids``; a long list goes as one parameter, much cheaper to bind and plan
        than thousands: a JSON array on SQLite (json_each), an array on PostgreSQL (= ANY)."""
        if len(ids) <= _CHUNK:
            return column.in_(ids)
        if self.sqlite:
            each = func.json_each(json.dumps(ids)).table_valued("value")
            return column.in_(select(each.c.value))
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))

    def _orders(self) -> Select:
        """Ids of the open orders that pass the order-level filters."""
        return select(Instance.id).where(*self.scope_conds, *self.order_conds)

    def _few_orders(self) -> list[int] | None:
        """With order-level filters: the matching ids when at most FEW_ORDERS match (their tasks
        are then found by index probes), else None. Stops reading at FEW_ORDERS + 1."""
        if self._few is _UNKNOWN:
            ids = list(self.session.scalars(self._orders().limit(FEW_ORDERS + 1)))
            self._few = ids if len(ids) <= FEW_ORDERS else None
        return self._few

    def _many_orders(self) -> Select:
        """The matching orders when many match; with task filters, only orders with such a task
        (the set SQLite builds for IN then stays as small as the tasks that match)."""
        query = self._orders()
        if self.f.task_filtered:
            t2 = aliased(HumanTask, name="t2")
            query = query.where(_plus0(Instance.id).in_(select(t2.instance_id).where(*self._task_conds(t2))))
        return query

    def _tasks(self, *columns) -> Select:
        """Ready tasks passing the task filters, and (if any) the order-level filters."""
        query = select(*columns).where(*self.task_conds)
        if self.order_conds:
            few = self._few_orders()
            if few is not None:
                query = query.where(self._id_in(self.t.instance_id, few))
            else:
                # "+ 0": SQLite then scans the tasks' index once and checks each task against
                # the set of matching ids, rather than probing the tasks once per order
                query = query.where(_plus0(self.t.instance_id).in_(self._many_orders()))
        return query

    def _passing(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are open orders passing the order-level filters. SQLite: one scan of
        the orders' index checked against the list; PostgreSQL: a probe per id (its primary key),
        as a scan would read every order."""
        ids = sorted(set(ids))
        if not ids:
            return set()
        probe = _plus0(Instance.id) if self.sqlite else Instance.id  # PostgreSQL: by primary key
        return set(self.session.scalars(select(Instance.id).where(*self.scope_conds, *self.order_conds,
                                                                  self._id_in(probe, ids))))

    def _idle_ids(self, offset: int, limit: int) -> list[int]:
        """Open orders passing the filters that wait on no person, by id."""
        few = self._few_orders() if self.order_conds else None
        if few is not None:
            busy = set(self.session.scalars(select(self.t.instance_id).where(*self.task_conds,
                                                                             self._id_in(self.t.instance_id, few))))
            idle = sorted(set(few) - busy, reverse=self.f.dir == "desc")
            return idle[offset:offset + limit]
        waiting = select(HumanTask.instance_id).where(HumanTask.status == "ready")
        query = (select(Instance.id).where(*self.scope_conds, *self.order_conds, Instance.id.not_in(waiting))
                 .order_by(*self._by(Instance.id, nulls_last=False)).offset(offset).limit(limit))
        return list(self.session.scalars(query))

    def _by(self, column, *, nulls_last: bool = True) -> list:
        """ORDER BY terms for ``column`` in the filter's direction, empty values last either way.
        On SQLite ``column IS NULL`` first, which also keeps it from walking a one-column index in
        order and reading each order row for the filters. On PostgreSQL ``NULLS LAST``: an index in
        that order (``ix_human_tasks_board_due`` for the default sort) hands out the page's rows
        first instead of sorting every open task (420 ms at 100,000 orders, seconds at a million)."""
        ordered = column.desc() if self.f.dir == "desc" else column.asc()
        if not nulls_last:
            return [ordered]
        return [column.is_(None), ordered] if self.sqlite else [ordered.nulls_last()]

    def _task_sort_column(self):
        t = self.t
        return {"step": t.element_id, "group": t.group_id, "assignee": t.assignee, "ready_at": t.ready_at,
                "due_at": t.due_at}[self.f.sort]

    def _order_sort_column(self):
        return {"business_key": Instance.business_key, "customer": Instance.customer,
                "order_total": Instance.order_total, "promised_date": Instance.promised_date,
                "started_at": Instance.started_at}[self.f.sort]

    # -- phase one: the page's keys ----------------------------------------------

    def page_keys(self, offset: int, limit: int) -> list[tuple[int, int | None]]:
        if self.f.sort in TASK_SORTS:
            return self._keys_by_task(offset, limit)
        return self._keys_by_order(offset, limit)

    def _task_order(self) -> list:
        return [*self._by(self._task_sort_column()), *self._ties()]

    def _ties(self) -> list:
        """After the sort column: the order, then the task, both in the filter's direction (so a
        descending page is an ascending one read backwards, and one index serves both)."""
        t = self.t
        return [*self._by(t.instance_id, nulls_last=False), *self._by(t.id, nulls_last=False)]

    def _in_order(self, query: Select, offset: int, limit: int) -> list[tuple[int, int | None]]:
        """One page of ``query``'s (order id, task id) rows in the board's task order."""
        return [(i, k) for i, k in self._ordered(query, self._task_sort_column(), self._ties(), offset, limit)]

    def _ordered(self, query: Select, column, ties: list, offset: int, limit: int) -> list:
        """One page of ``query``'s rows by ``column`` in the filter's direction, empty values last
        both ways, then by ``ties``.

        On PostgreSQL an index on (column, ties) gives ascending pages in its order, empty values
        last; read backwards it gives empty values *first*, so a descending page reads the rows
        with a value, then those without, each in index order (one ORDER BY ... DESC NULLS LAST
        would sort every open order or task for each page: a second or more at a million orders).
        SQLite: one query (``column IS NULL`` leads)."""
        if self.sqlite or self.f.dir != "desc":
            return list(self.session.execute(query.order_by(*self._by(column), *ties).offset(offset).limit(limit)))
        valued = query.where(column.is_not(None)).order_by(column.desc(), *ties)
        rows = list(self.session.execute(valued.offset(offset).limit(limit)))
        if len(rows) == limit:
            return rows
        # past the rows with a value: how many there are (at most ``offset`` when none came back)
        before = offset + len(rows) if rows or offset == 0 else self._capped_count(valued, offset)
        # all empty: ordering by the column too changes nothing, and lets the planner see the index's order
        empty = query.where(column.is_(None)).order_by(column.desc().nulls_first(), *ties)
        return rows + list(self.session.execute(empty.offset(max(0, offset - before)).limit(limit - len(rows))))

    def _keys_by_task(self, offset: int, limit: int) -> list[tuple[int, int | None]]:
        t = self.t
        keys: list[tuple[int, int | None]] | None = None
        if self.order_conds and self._few_orders() is None:
            if self.f.task_filtered:
                every = self._every_task_key()
                keys = None if every is None else every[offset:offset + limit]
            else:
                keys = self._sampled_task_keys(offset, limit)
        if keys is None:
            keys = self._in_order(self._tasks(t.instance_id, t.id), offset, limit)
        if len(keys) == limit or self.f.task_filtered:
            return keys
        # the orders waiting on no person follow every row with a step
        if keys or offset == 0:
            self._count_a = offset + len(keys)
        rows_before = self.count_a()
        return keys + [(i, None) for i in self._idle_ids(max(0, offset - rows_before), limit - len(keys))]

    def _every_task_key(self) -> list[tuple[int, int | None]] | None:
        """Many orders pass the order-level filters but few tasks the task filters: read those
        tasks in the board's order and keep the ones whose order passes. None if too many."""
        if self._every is _UNKNOWN:
            t = self.t
            order = self._task_order() if self.f.sort in TASK_SORTS else [t.id]  # (only counted then)
            query = select(t.instance_id, t.id).where(*self.task_conds).order_by(*order)
            rows = list(self.session.execute(query.limit(SAMPLE_MAX + 1)))
            if len(rows) > SAMPLE_MAX:
                self._every = None
            else:
                passing = self._passing(i for i, _ in rows)
                self._every = [(i, k) for i, k in rows if i in passing]
                self._count_a = len(self._every)
        return self._every

    def _sampled_task_keys(self, offset: int, limit: int) -> list[tuple[int, int | None]] | None:
        """Many orders pass the order-level filters: take the first rows of the whole board
        (tasks only, cheap) and keep those whose order passes. The survivors keep the board's
        order, so if enough survive they are the page. The sample grows by the share that passed
        so far, up to SAMPLE_MAX; None when that is not enough."""
        t = self.t
        want = offset + limit
        query = select(t.instance_id, t.id).where(*self.task_conds)
        candidates: list = []
        kept: list[tuple[int, int | None]] = []
        size = min(want * 2 + 100, SAMPLE_MAX)
        while True:
            more = self._in_order(query, len(candidates), size - len(candidates))
            passing = self._passing(i for i, _ in more)
            kept += [(i, k) for i, k in more if i in passing]
            candidates += more
            if len(kept) >= want:
                return kept[offset:want]
            if len(candidates) < size:  # the sample was every task: these are all the rows with a step
                self._count_a = len(kept)
                return kept[offset:want]
            if size >= SAMPLE_MAX:
                return None
            share = max(len(kept), 1) / len(candidates)
            size = min(max(int(want / share * 2) + 100, size * 2), SAMPLE_MAX)

    def _keys_by_order(self, offset: int, limit: int) -> list[tuple[int, int | None]]:
        """Orders in order, then their tasks: an order gives at least one row, so the first
        ``offset + limit`` orders hold the page."""
        orders = self._orders()
        if self.f.task_filtered:
            orders = orders.where(_plus0(Instance.id).in_(select(self.t.instance_id).where(*self.task_conds)))
        ids = [row[0] for row in self._ordered(orders, self._order_sort_column(),
                                                self._by(Instance.id, nulls_last=False), 0, offset + limit)]
        tasks: dict[int, list[int]] = {}
        t = self.t
        if ids:
            query = select(t.instance_id, t.id).where(*self.task_conds, self._id_in(t.instance_id, ids))
            for instance_id, task_id in self.session.execute(query):
                tasks.setdefault(instance_id, []).append(task_id)
        keys: list[tuple[int, int | None]] = []
        for instance_id in ids:
            found = sorted(tasks.get(instance_id, ()))
            if found:
                keys += [(instance_id, task_id) for task_id in found]
            elif not self.f.task_filtered:
                keys.append((instance_id, None))
            if len(keys) >= offset + limit:
                break
        return keys[offset:offset + limit]

    # -- totals ------------------------------------------------------------------

    def count_a(self) -> int:
        """Rows with a step, counted up to ``MAX_ROWS + 1`` (more says only "more than MAX_ROWS")."""
        if self._count_a is None and self.f.task_filtered and self.order_conds and self._few_orders() is None:
            self._every_task_key()  # counts them when they are few
        if self._count_a is None:
            self._count_a = self._capped_count(self._tasks(literal_column("1")).select_from(self.t),
                                               filters.MAX_ROWS)
        return self._count_a

    def _capped_count(self, query: Select, cap: int) -> int:
        """How many rows ``query`` gives, reading at most ``cap + 1`` of them."""
        return self.session.scalar(select(func.count()).select_from(query.limit(cap + 1).subquery())) or 0

    def count(self) -> tuple[int, bool]:
        """The board's rows and whether that is exact: past MAX_ROWS, (MAX_ROWS, False). Every
        count here reads at most about 2 × MAX_ROWS index entries, however many orders are open."""
        cap = filters.MAX_ROWS
        ids = None
        if self.order_conds and not self.f.task_filtered:
            ids = self._few_orders()
            if ids is None:  # each matching order gives at least one row
                ids = list(self.session.scalars(self._orders().limit(cap + 1)))
                if len(ids) > cap:
                    return cap, False
        if ids is not None:  # rows with a step of these orders + those orders waiting on no one
            t = self.t
            tasks, busy = self.session.execute(select(func.count(), func.count(distinct(t.instance_id)))
                                               .where(*self.task_conds, self._id_in(t.instance_id, ids))).one()
            return self._within(tasks + len(ids) - busy, cap)
        with_step = self.count_a()
        if with_step > cap or self.f.task_filtered:
            return self._within(with_step, cap)
        # no order-level filters: rows with a step (at most cap of them) + open orders less those with one
        busy = self.session.scalar(select(func.count(distinct(self.t.instance_id))).where(*self.task_conds)) or 0
        room = cap - with_step + busy  # open orders that still fit under the cap
        open_orders = self._capped_count(select(Instance.id).where(*self.scope_conds), room)
        return self._within(with_step + open_orders - busy, cap)

    @staticmethod
    def _within(rows: int, cap: int) -> tuple[int, bool]:
        return (rows, True) if rows <= cap else (cap, False)

    # -- phase two: the rows -------------------------------------------------------

    _ORDER_COLUMNS = (Instance.id, Instance.business_key, Instance.process_key, Instance.customer,
                      Instance.order_total, Instance.promised_date, Instance.status, Instance.started_at)

    def _task_columns(self, t):
        return (t.id.label("task_id"), t.element_id, t.name, t.group_id, t.assignee, t.ready_at, t.due_at)

    def materialize(self, keys: list[tuple[int, int | None]]) -> list[BoardRow]:
        if not keys:
            return []
        ids = sorted({i for i, _ in keys})
        task_ids = sorted({k for _, k in keys if k is not None})
        orders = {r.id: r for chunk in _chunks(ids, _CHUNK)
                  for r in self.session.execute(select(*self._ORDER_COLUMNS).where(Instance.id.in_(chunk)))}
        tasks = {}
        for chunk in _chunks(task_ids, _CHUNK):
            query = select(*self._task_columns(HumanTask)).where(HumanTask.id.in_(chunk))
            tasks.update({r.task_id: r for r in self.session.execute(query)})
        near = [i for i in ids if i in orders and self._near(orders[i].promised_date)]
        shipped: set[int] = set()
        for chunk in _chunks(near, _CHUNK):
            shipped.update(self.session.scalars(
                select(HumanTask.instance_id).where(HumanTask.status == "completed", HumanTask.instance_id.in_(chunk),
                                                    HumanTask.element_id == self.delivery)))
        out = []
        for instance_id, task_id in keys:
            order = orders.get(instance_id)
            if order is None:
                continue
            task = tasks.get(task_id) if task_id is not None else None
            out.append(self._row(order, task, instance_id in shipped))
        return out

    def _near(self, promised: date | None) -> bool:
        return promised is not None and promised <= self.risk_until

    def _row(self, order, task, shipped: bool) -> BoardRow:
        due = task.due_at if task is not None else None
        return BoardRow(
            instance_id=order.id, business_key=order.business_key, process=order.process_key,
            customer=order.customer, order_total=order.order_total, promised_date=order.promised_date,
            status=order.status, started_at=order.started_at,
            task_id=task.task_id if task is not None else None,
            element_id=task.element_id if task is not None else None,
            step=task.name if task is not None else None,
            group=task.group_id if task is not None else None,
            assignee=task.assignee if task is not None else None,
            ready_at=task.ready_at if task is not None else None, due_at=due,
            overdue=due is not None and due < self.now,
            at_risk=self._near(order.promised_date) and not shipped,
            late=order.promised_date is not None and order.promised_date < self.today and not shipped)

    # -- every row at once (CSV) ---------------------------------------------------

    def full_query(self) -> Select:
        """One LEFT JOIN in the board's order; only used to export, so one full scan is fine."""
        t = self.t
        join_on = [t.instance_id == Instance.id, t.status == "ready"]
        query = (select(*self._ORDER_COLUMNS, *self._task_columns(t), self._shipped(Instance.id).label("shipped"))
                 .select_from(Instance).outerjoin(t, and_(*join_on))
                 .where(*self.scope_conds, *self.order_conds))
        if self.f.task_filtered:
            query = query.where(*self.task_conds)
        if self.f.sort in TASK_SORTS:  # the pages' order: rows with a step, then orders waiting on no one
            return query.order_by(t.id.is_(None), *self._by(self._task_sort_column()),
                                  *self._by(Instance.id, nulls_last=False), *self._by(t.id, nulls_last=False))
        return query.order_by(*self._by(self._order_sort_column()), *self._by(Instance.id, nulls_last=False), t.id)

    def make_row(self, row, shipped: bool) -> BoardRow:
        return self._row(row, row if row.task_id is not None else None, bool(shipped))
