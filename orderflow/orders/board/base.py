"""The board's filter as SQL conditions and the building blocks its queries share."""
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
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from orderflow.access.permissions import is_overseer, participation
from orderflow.core.models import HumanTask, Instance, ProcessVersion, User
from orderflow.core.platform import platform_of
from orderflow.orders.board import limits
from orderflow.orders.board.filters import _UNKNOWN, OPEN_STATUSES, BoardFilter, _Unknown
from orderflow.orders.board.helpers import _plus0


class _Base:
    """One filter, for one actor, at one moment: its conditions and the building blocks of
    its queries (the phases and totals are in ``sql._Board``)."""

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
        if len(ids) <= limits.CHUNK:
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
        are then found by index probes), else None. Stops reading at limits.FEW_ORDERS + 1."""
        if self._few is _UNKNOWN:
            ids = list(self.session.scalars(self._orders().limit(limits.FEW_ORDERS + 1)))
            self._few = ids if len(ids) <= limits.FEW_ORDERS else None
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
