"""The API's lists: whole-number query parameters, ``limit`` and the opaque ``cursor`` it hands out,
and the page of items with the next cursor.

A cursor names the last row shown by its values in the list's order (``core/keyset.py``), so the
next page starts right after it however many rows were added or removed before it meanwhile; it
also names the order, so a cursor used with another sort is refused rather than misread. A cursor
given out before (a row count, ``{"o": n}``) still reads as that count.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, current_app, jsonify, request

from orderflow.core import keyset
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.engine import json_clean
from orderflow.web.db_session import get_session
from orderflow.web.security import MAX_INT


def int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        number = int(raw)
    except ValueError:
        raise InvalidInput(Msg("'%(name)s' must be a whole number, not '%(value)s'.", name=name, value=raw[:40]),
                           fields={name: Msg("Enter a whole number.")}) from None
    if abs(number) > MAX_INT:  # the database's integers end there
        raise InvalidInput(Msg("'%(name)s' is too large.", name=name), fields={name: Msg("out of range")})
    return number


@dataclass(frozen=True)
class Page:
    """``limit`` and where the page starts: the cursor as sent (a row's key values, or a count)."""

    limit: int
    cursor: dict[str, Any] | None


def page_args() -> Page:
    cfg = current_app.config
    limit = int_arg("limit")
    if limit is None:
        limit = cfg["ORDERFLOW_PAGE_SIZE"]
    if not 1 <= limit <= cfg["ORDERFLOW_MAX_PAGE_SIZE"]:
        raise InvalidInput(Msg("'limit' must be between 1 and %(max)s.", max=cfg["ORDERFLOW_MAX_PAGE_SIZE"]),
                           fields={"limit": Msg("out of range")})
    cursor = request.args.get("cursor")
    if not cursor:
        return Page(limit, None)
    try:  # a forged cursor (bad base64, Infinity, NaN, huge or nested values) is a 422, never a 500
        if len(cursor) > 600:
            raise ValueError(len(cursor))
        found = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(found, dict):
            raise ValueError(found)
    except (ValueError, TypeError, RecursionError, IndexError):
        raise _forged() from None
    return Page(limit, found)


def _forged() -> InvalidInput:
    return InvalidInput(Msg("The cursor is not one this service gave out."), fields={"cursor": Msg("invalid")})


def _order_mark(keys: tuple[keyset.Key, ...]) -> str:
    named = ",".join(f"{key.name} {'desc' if key.descending else 'asc'}" for key in keys)
    return hashlib.sha256(named.encode()).hexdigest()[:12]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode(value: Any, key: keyset.Key) -> Any:
    """A value of the cursor back as the key's column holds it; anything else raises ValueError."""
    if value is None:
        if not key.nullable:
            raise ValueError("null")
        return None
    kind = _python_type(key)
    if kind is datetime and isinstance(value, dict) and isinstance(value.get("t"), str):
        moment = datetime.fromisoformat(value["t"])
        if moment.tzinfo is None:   # the service's times carry their zone; a naive one was never given out
            raise ValueError(value)
        return moment
    if kind is date and isinstance(value, dict) and isinstance(value.get("d"), str):
        return date.fromisoformat(value["d"])
    if kind is Decimal and isinstance(value, dict) and isinstance(value.get("n"), str) and len(value["n"]) < 60:
        found = Decimal(value["n"])
        if not found.is_finite():
            raise ValueError(value)
        return found
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INT:
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    if kind is str and isinstance(value, str) and len(value) <= 400 and json_clean.problem(value) is None:
        return value
    raise ValueError(value)


def _python_type(key: keyset.Key) -> type:
    """What the key's column holds (a type decorator such as UtcDateTime: its underlying type's)."""
    column_type = getattr(key.column, "type", None)
    for candidate in (column_type, getattr(column_type, "impl", None)):
        try:
            found = candidate.python_type  # type: ignore[union-attr]
        except (AttributeError, NotImplementedError):
            continue
        if found is not object:
            return found
    return str


def paged_rows(query, page: Page) -> tuple[list, str | None]:
    """One page of ``query``'s rows (ordered by ``keyset.ordered``) and the cursor of the next
    (None on the last page)."""
    keys = keyset.keys_of(query)
    mark = _order_mark(keys)
    start_after = None
    if page.cursor is not None and "o" in page.cursor:   # a cursor from before: a row count
        offset = page.cursor["o"]
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_INT:
            raise _forged()
        query = query.offset(offset)
    elif page.cursor is not None:
        if page.cursor.get("s") != mark:
            raise InvalidInput(Msg("The cursor belongs to a list in another order; start again from the first page."),
                               fields={"cursor": Msg("another order")})
        values = page.cursor.get("k")
        if not isinstance(values, list) or len(values) != len(keys):
            raise _forged()
        try:
            start_after = tuple(_decode(value, key) for value, key in zip(values, keys, strict=True))
        except (ValueError, TypeError, InvalidOperation):
            raise _forged() from None
    rows, last = keyset.page(get_session(), query, page.limit, start_after)
    if last is None:
        return rows, None
    cursor = {"s": mark, "k": [_encode(value) for value in last]}
    return rows, base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()


def paged_json(query, item, page: Page) -> Response:
    rows, cursor = paged_rows(query, page)
    return jsonify(items=[item(r) for r in rows], next_cursor=cursor)
