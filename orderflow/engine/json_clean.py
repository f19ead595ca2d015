"""Everything written into an order's data is JSON the service can store and show again.

Python lets a script, a handler or a decoded request hold values JSON cannot carry (NaN,
Infinity, sets), integers no database column or JavaScript number holds, and text PostgreSQL
refuses (NUL) or UTF-8 cannot encode (lone surrogates). Stored once, such a value makes the
order's pages fail for good, so every point that writes order data asks ``problem`` first and
refuses the write with its answer.
"""
from __future__ import annotations

import math
from typing import Any

from ..i18n import Msg

MAX_INT = 2**63 - 1        # what a 64-bit column holds; beyond it JavaScript loses digits too
MAX_DEPTH = 64             # the engine copies data recursively, per task
MAX_WEIGHT = 1_000_000     # characters plus elements of one written value (about a megabyte)


def problem(value: Any, path: str = "", limit: int = MAX_WEIGHT) -> tuple[str, Msg] | None:
    """(path like ``lines.0.spec``, why) of the first value that is not clean JSON, else None."""
    weight, stack = 0, [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return where, Msg("The data is nested more than %(count)s levels deep.", count=MAX_DEPTH)
        if isinstance(item, str):
            weight += len(item)
            if "\x00" in item or not _encodes(item):
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
                if "\x00" in key or not _encodes(key):
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


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
