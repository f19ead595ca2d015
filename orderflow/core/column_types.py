"""The declarative base and the column types every table uses (orderflow/core/models/)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """Stores UTC, always hands back an aware datetime (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """The model's ``Table``, for Core statements: ``__table__`` is typed as any ``FromClause``."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


class json_list(GenericFunction):
    """An aggregate: the column's values of the group as a JSON list (None over no rows on
    PostgreSQL, [] on SQLite), one spelling for both databases."""

    type = JSON()
    inherit_cache = True


@compiles(json_list, "sqlite")
def _json_list_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_list, "postgresql")
def _json_list_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"json_agg({compiler.process(element.clauses, **kw)})"
