"""The API's lists: whole-number query parameters, ``limit`` and the opaque ``cursor`` it hands out,
and the page of items with the next cursor."""
from __future__ import annotations

import base64
import json

from flask import Response, current_app, jsonify, request

from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
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


def page_args() -> tuple[int, int]:
    cfg = current_app.config
    limit = int_arg("limit")
    if limit is None:
        limit = cfg["ORDERFLOW_PAGE_SIZE"]
    if not 1 <= limit <= cfg["ORDERFLOW_MAX_PAGE_SIZE"]:
        raise InvalidInput(Msg("'limit' must be between 1 and %(max)s.", max=cfg["ORDERFLOW_MAX_PAGE_SIZE"]),
                           fields={"limit": Msg("out of range")})
    cursor = request.args.get("cursor")
    offset = 0
    if cursor:
        try:  # a forged cursor (bad base64, Infinity, NaN, huge or nested numbers) is a 422, never a 500
            if len(cursor) > 200:
                raise ValueError(len(cursor))
            offset = int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["o"])
            if offset > MAX_INT:
                raise ValueError(offset)
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError, IndexError):
            raise InvalidInput(Msg("The cursor is not one this service gave out."),
                               fields={"cursor": Msg("invalid")}) from None
    return limit, max(offset, 0)


def paged_rows(query, limit: int, offset: int) -> tuple[list, str | None]:
    """One page of ``query``'s rows and the cursor of the next (None on the last page)."""
    rows = list(get_session().scalars(query.offset(offset).limit(limit + 1)))
    more = len(rows) > limit
    cursor = base64.urlsafe_b64encode(json.dumps({"o": offset + limit}).encode()).decode() if more else None
    return rows[:limit], cursor


def paged_json(query, item, limit: int, offset: int) -> Response:
    rows, cursor = paged_rows(query, limit, offset)
    return jsonify(items=[item(r) for r in rows], next_cursor=cursor)
