"""Everything written into an order's data is JSON the service can store and show again.

Python lets a script, a handler or a decoded request hold values JSON cannot carry (NaN,
Infinity, sets), integers no database column or JavaScript number holds, and text PostgreSQL
refuses (NUL) or UTF-8 cannot encode (lone surrogates). Stored once, such a value makes the
order's pages fail for good, so every point that writes order data asks ``problem`` first and
refuses the write with its answer.
"""
from __future__ import annotations

import copy
import math
import re
from typing import Any

from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg

MAX_INT = 2**63 - 1        # what a 64-bit column holds; beyond it JavaScript loses digits too
MAX_DEPTH = 64             # the engine copies data recursively, per task
MAX_WEIGHT = 1_000_000     # characters plus elements of one written value (about a megabyte)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, lone surrogates (a str never holds paired ones)


_TEXT = Msg("Text may not contain NUL characters or unpaired surrogates.")
_HUGE = Msg("The number is beyond what the service stores (64-bit integers).")
_NOT_FINITE = Msg("The number is not finite (NaN or Infinity cannot be stored).")
_KEY = Msg("A record's field names must be text.")


def problem(value: Any, path: str = "", limit: float = MAX_WEIGHT) -> tuple[str, Msg] | None:
    """(path like ``lines.0.spec``, why) of the first value that is not clean JSON, else None.

    One pass, stopping at the first problem or once ``limit`` is passed; scalars are checked in
    place and paths are only spelled out for the answer, so a request-sized value costs little."""
    weight = 0
    stack: list[tuple[Any, tuple | None, int]] = [(value, None, 1)]  # (item, its (parent, key) chain, depth)
    while stack:
        item, node, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.items()
            for key in item:
                if not isinstance(key, str) or _UNSTORABLE.search(key):
                    return _spelled(path, node), _TEXT if isinstance(key, str) else _KEY
        elif isinstance(item, (list, tuple)):
            children = enumerate(item)
        else:
            weight, why = _scalar(item, weight)
            if why is not None or weight > limit:
                return _spelled(path, node), why or _too_large(limit)
            continue
        if depth > MAX_DEPTH or (depth == MAX_DEPTH and item):
            return _spelled(path, node), Msg("The data is nested more than %(count)s levels deep.", count=MAX_DEPTH)
        weight += len(item)
        for key, child in children:
            if isinstance(child, (dict, list, tuple)):
                stack.append((child, (node, key), depth + 1))
                continue
            weight, why = _scalar(child, weight)
            if why is not None or weight > limit:
                return _spelled(path, (node, key)), why or _too_large(limit)
        if weight > limit:
            return _spelled(path, node), _too_large(limit)
    return None


def _scalar(item: Any, weight: int) -> tuple[int, Msg | None]:
    """The weight so far with this scalar, and why it cannot be stored (None: it can)."""
    if isinstance(item, str):
        return weight + len(item), (_TEXT if _UNSTORABLE.search(item) else None)
    if item is None or isinstance(item, bool):
        return weight + 1, None
    if isinstance(item, int):
        return weight + 1, (_HUGE if abs(item) > MAX_INT else None)
    if isinstance(item, float):
        return weight + 1, (None if math.isfinite(item) else _NOT_FINITE)
    return weight, Msg("A value of this kind (%(kind)s) cannot be stored; use text, a number, a list or a record.",
                       kind=type(item).__name__)


def _too_large(limit: float) -> Msg:
    return Msg("The value is too large to store (over %(count)s characters and items).", count=limit)


def _spelled(base: str, node: tuple | None) -> str:
    """``lines.0.spec`` from the chain of (parent, key) pairs the walk keeps."""
    keys: list[str] = []
    while node is not None:
        node, key = node
        keys.append(str(key))
    return ".".join(([base] if base else []) + keys[::-1])


def plain(value: Any) -> Any:
    """A copy of a clean value as JSON would give it back: tuples become lists, and no list or record
    is shared with another value (an expression's result may be a variable's own list). Data kept in
    memory between steps then behaves exactly as data loaded from its stored state."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


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


def copy_json(value: Any) -> Any:
    """A deep copy of decoded JSON (dicts, lists and scalars), a few times faster than
    ``copy.deepcopy``, which looks up how to copy each value and keeps a memo: forms are handed out
    as copies on every task page and completion. Anything else is copied by ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if kind is list:
        return [copy_json(item) for item in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)
