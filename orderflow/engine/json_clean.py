"""Everything written into an order's data is JSON the service can store and show again.

Python lets a script, a handler or a decoded request hold values JSON cannot carry (NaN,
Infinity, sets), integers no database column or JavaScript number holds, and text PostgreSQL
refuses (NUL) or UTF-8 cannot encode (lone surrogates). Stored once, such a value makes the
order's pages fail for good, so every point that writes order data asks ``problem`` first and
refuses the write with its answer.
"""
from __future__ import annotations

import math
import re
from typing import Any

from ..errors import InvalidInput
from ..i18n import Msg

MAX_INT = 2**63 - 1        # what a 64-bit column holds; beyond it JavaScript loses digits too
MAX_DEPTH = 64             # the engine copies data recursively, per task
MAX_WEIGHT = 1_000_000     # characters plus elements of one written value (about a megabyte)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, lone surrogates (a str never holds paired ones)


def problem(value: Any, path: str = "", limit: int = MAX_WEIGHT) -> tuple[str, Msg] | None:
    """(path like ``lines.0.spec``, why) of the first value that is not clean JSON, else None."""
    weight, stack = 0, [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return where, Msg("The data is nested more than %(count)s levels deep.", count=MAX_DEPTH)
        if isinstance(item, str):
            weight += len(item)
            if _UNSTORABLE.search(item):
                return where, Msg("Text may not contain NUL characters or unpaired surrogates.")
        elif isinstance(item, bool) or item is None:
            weight += 1
        elif isinstance(item, int):
            weight += 1
            if abs(item) > MAX_INT:
                return where, Msg("The number is beyond what the service stores (64-bit integers).")
        elif isinstance(item, float):
            weight += 1
            if not math.isfinite(item):
                return where, Msg("The number is not finite (NaN or Infinity cannot be stored).")
        elif isinstance(item, dict):
            weight += len(item)
            for key, child in item.items():
                if not isinstance(key, str):
                    return where, Msg("A record's field names must be text.")
                if _UNSTORABLE.search(key):
                    return where, Msg("Text may not contain NUL characters or unpaired surrogates.")
                stack.append((child, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(item, (list, tuple)):
            weight += len(item)
            stack.extend((child, f"{where}.{i}" if where else str(i), depth + 1) for i, child in enumerate(item))
        else:
            return where, Msg("A value of this kind (%(kind)s) cannot be stored; use text, a number, "
                              "a list or a record.", kind=type(item).__name__)
        if weight > limit:
            return where, Msg("The value is too large to store (over %(count)s characters and items).",
                              count=limit)
    return None


def require(value: Any, field: str = "data", limit: int = MAX_WEIGHT) -> None:
    """Refuse a write of ``value`` (the request's ``field``) with a 422 naming the first unclean part."""
    found = problem(value, field, limit)
    if found is not None:
        where, why = found
        raise InvalidInput(Msg("'%(field)s' cannot be stored: %(why)s", field=where, why=why), fields={where: why})


def readable(value: Any, depth: int = 1) -> Any:
    """A JSON-clean copy of data stored before writes were checked, for showing it: what JSON
    cannot carry becomes text, unencodable characters become U+FFFD; nothing is raised."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {readable(k if isinstance(k, str) else str(k)): readable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [readable(v, depth + 1) for v in value]
    return readable(str(value))
