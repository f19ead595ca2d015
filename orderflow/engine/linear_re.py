"""Regular expressions that run in linear time (RE2) for anything a user wrote or uploaded.

Python's ``re`` backtracks: ``(a+)+$`` over thirty characters runs for minutes inside one C call
that holds the GIL, so every request of the process waits. RE2 never backtracks. What it cannot
do (back-references, look-around) it refuses when compiling, which callers turn into a deploy
error naming the form field or element.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TypeAlias

import re2

MAX_PATTERN_CHARS = 1_000   # a form's pattern or a service pattern; RE2's program size grows with it
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is our 4xx, not a line on stderr
_OPTIONS.max_mem = 8 << 20   # RE2 falls back to a slower (still linear) matcher past this


# what ``compile`` and its searches return: RE2's own classes (re2 ships no types: Any to mypy)
Pattern: TypeAlias = re2._Regexp
Match: TypeAlias = re2._Match


class RegexError(ValueError):
    """A pattern RE2 cannot run: too long, malformed, or using back-references or look-around."""


@lru_cache(maxsize=2048)
def compile(pattern: str) -> Pattern:
    """A compiled RE2 pattern (``search``/``match``/``fullmatch``/``sub``/``finditer`` as in ``re``)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RegexError(f"The pattern is longer than {MAX_PATTERN_CHARS} characters.")
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RegexError(f"The pattern cannot be used ({reason}); back-references and look-arounds "
                         "are not supported.") from None
