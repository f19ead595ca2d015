"""ISO-8601 values are literals in every expression: durations, dates(-times) and cycles,
recognised in linear time (RE2)."""
from __future__ import annotations

from functools import lru_cache

from orderflow.engine import linear_re

# ISO-8601 values are literals: users write PT2H, not "PT2H" (Camunda Modeler's way). RE2 (linear
# time, no look-around): "P names at least one part" and "T is followed by a time part" are checked
# in code on the captured part after P.
_NUM = r"\d+(?:[.,]\d+)?"
_PARTS = rf"(?:{_NUM}Y)?(?:{_NUM}M)?(?:\d+W)?(?:{_NUM}D)?(?:T(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?"
_DATETIME = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_ISO = linear_re.compile(rf"^(?:P(?P<duration>{_PARTS})|{_DATETIME}|"
                         rf"R\d*/(?:(?:{_DATETIME})/)?P(?P<cycle>{_PARTS})(?:/{_DATETIME})?)$")


class _IsoLiteral:
    """``ISO_LITERAL.match(text)``: a match object when all of ``text`` is an ISO-8601 duration,
    date(-time) or cycle, else None."""

    def match(self, text: str) -> linear_re.Match | None:
        if text[:1] not in _ISO_FIRST:  # most expressions: no call into RE2 (a few microseconds)
            return None
        try:
            found = _ISO.match(text)
        except UnicodeError:  # unpaired surrogates are no date; the parser refuses them in words
            return None
        if found is None:
            return None
        parts = found.group("duration") if found.group("duration") is not None else found.group("cycle")
        if parts is not None and (not parts or parts.endswith("T")):  # "P", "PT", "P1DT" name no duration
            return None
        return found


_ISO_FIRST = frozenset("PR0123456789")
ISO_LITERAL = _IsoLiteral()


def is_iso(text: str) -> bool:
    """ISO_LITERAL.match as a yes/no, cached for short texts: evaluate asks it for every condition."""
    return _is_iso_short(text) if len(text) <= 300 else ISO_LITERAL.match(text) is not None


@lru_cache(maxsize=4096)
def _is_iso_short(text: str) -> bool:
    return ISO_LITERAL.match(text) is not None


