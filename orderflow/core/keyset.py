"""Keyset paging: a list's next page starts after the last row shown, not after a count of rows.

With ``OFFSET n`` a page is "skip n rows": a task completed (or an order started) between two page
reads shifts every later row, so a client working through its inbox page by page skips work, and
the database walks all n rows again for each page. Here a query is ordered by ``ordered(query,
*keys)``, the last key unique (the id), and the next page is the rows strictly *after* the last
row's values in that order (``after``), read through the same index as the first page.

NULLs sort after every value (``NULLS LAST``) in either direction, written out so SQLite and
PostgreSQL agree (their defaults differ).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, false, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

OPTION = "orderflow_keyset"   # the execution option that carries a query's keys to its pager


@dataclass(frozen=True)
class Key:
    column: Any               # a mapped attribute or column (ColumnElement)
    descending: bool = False

    @property
    def nullable(self) -> bool:
        column = getattr(self.column, "expression", self.column)
        return bool(getattr(column, "nullable", True))

    @property
    def name(self) -> str:
        return str(getattr(self.column, "expression", self.column))

    def clause(self) -> ColumnElement:
        found = self.column.desc() if self.descending else self.column.asc()
        return found.nulls_last() if self.nullable else found


def ordered(query: Select, *keys: Key) -> Select:
    """``query`` ordered by ``keys`` and carrying them for ``page``; the last key must be unique."""
    if not keys or keys[-1].nullable:
        raise ValueError("keyset paging needs a last key that is unique and never NULL (the id)")
    return query.order_by(*(key.clause() for key in keys)).execution_options(**{OPTION: keys})


def keys_of(query: Select) -> tuple[Key, ...]:
    keys = query.get_execution_options().get(OPTION)
    if not keys:
        raise ValueError("the query was not ordered by keyset.ordered")
    return tuple(keys)


def after(keys: tuple[Key, ...], values: tuple[Any, ...]) -> ColumnElement[bool]:
    """Rows strictly after the row whose key values are ``values``, in the keys' order."""
    terms = []
    for k, key in enumerate(keys):
        value = values[k]
        if value is None:   # NULLS LAST: nothing sorts after a NULL in this column but more NULLs
            later = None
        else:
            later = key.column < value if key.descending else key.column > value
            if key.nullable:
                later = or_(later, key.column.is_(None))
        if later is not None:
            same = [keys[j].column.is_(None) if values[j] is None else keys[j].column == values[j] for j in range(k)]
            terms.append(and_(*same, later))
    return or_(*terms) if terms else false()


def page(session: Session, query: Select, limit: int, start_after: tuple[Any, ...] | None
         ) -> tuple[list[Any], tuple[Any, ...] | None]:
    """Up to ``limit`` rows of ``query`` after ``start_after`` (None: from the first), and the key
    values to start the next page after (None: this was the last page)."""
    keys = keys_of(query)
    if start_after is not None:
        query = query.where(after(keys, start_after))
    found = session.execute(query.add_columns(*(key.column for key in keys)).limit(limit + 1)).all()
    rows = [row[0] for row in found[:limit]]
    more = len(found) > limit
    return rows, (tuple(found[limit - 1][1:]) if more else None)
