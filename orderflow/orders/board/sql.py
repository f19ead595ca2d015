"""The board's SQL (see the package docstring for why it is shaped this way)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Select,
    and_,
    distinct,
    func,
    literal_column,
    select,
)

from orderflow.core.models import HumanTask, Instance
from orderflow.orders.board import filters, limits
from orderflow.orders.board.base import _Base
from orderflow.orders.board.filters import _UNKNOWN, TASK_SORTS, BoardRow
from orderflow.orders.board.helpers import _chunks, _plus0


class _Board(_Base):
    """The SQL for one filter, for one actor, at one moment: the page's keys, its rows, the totals."""

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
            rows = list(self.session.execute(query.limit(limits.SAMPLE_MAX + 1)))
            if len(rows) > limits.SAMPLE_MAX:
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
        size = min(want * 2 + 100, limits.SAMPLE_MAX)
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
            if size >= limits.SAMPLE_MAX:
                return None
            share = max(len(kept), 1) / len(candidates)
            size = min(max(int(want / share * 2) + 100, size * 2), limits.SAMPLE_MAX)

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
        orders = {r.id: r for chunk in _chunks(ids, limits.CHUNK)
                  for r in self.session.execute(select(*self._ORDER_COLUMNS).where(Instance.id.in_(chunk)))}
        tasks = {}
        for chunk in _chunks(task_ids, limits.CHUNK):
            query = select(*self._task_columns(HumanTask)).where(HumanTask.id.in_(chunk))
            tasks.update({r.task_id: r for r in self.session.execute(query)})
        near = [i for i in ids if i in orders and self._near(orders[i].promised_date)]
        shipped: set[int] = set()
        for chunk in _chunks(near, limits.CHUNK):
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
