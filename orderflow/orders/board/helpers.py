"""Small SQL helpers for the board's queries."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import literal_column


def _plus0(column):
    """``column + 0``: the same value, but SQLite no longer looks it up through an index (or the
    table's rowid), so it scans the covering index it was given instead."""
    return column + literal_column("0")


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
