"""The functions expressions may call; each spends the work it does from the running evaluation's
fuel."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from orderflow.core.i18n import Msg
from orderflow.engine import clock
from orderflow.engine.evaluator import Evaluator, running
from orderflow.engine.expression_limits import MAX_NUMBER_CHARS, MAX_ROUND_DIGITS, ExpressionError

# -- functions: each spends the work it does from the running evaluation's fuel -------------------

def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, (str, int)) or isinstance(value, bool) or len(str(value)) > 64:
        raise ValueError("not a date")
    return datetime.fromisoformat(str(value)).date()


def _days_between(start: Any, end: Any) -> int:
    return (_parse_date(end) - _parse_date(start)).days


def _add_days(value: Any, days: Any) -> str:
    return (_parse_date(value) + timedelta(days=_int(days))).isoformat()


def _sum(values: Any) -> float:
    # builtin sum concatenates lists too, which can allocate without bound: numbers only
    running().spend(running().size(values))
    values = list(values)
    kinds = set(map(type, values))
    if not kinds <= {int, float}:
        kind = next(iter(kinds - {int, float}))
        raise ExpressionError(Msg("sum() adds numbers only, not %(kind)s.", kind=kind.__name__))
    return Evaluator.bounded(sum(values))  # n bounded numbers add up to at most log2(n) more bits


def _over_all(function: Any) -> Any:
    """min/max/any/all: they run over every element (and compare them), so they cost its size."""
    def run(*args: Any, **kwargs: Any) -> Any:
        running().spend(running().size(args[0] if len(args) == 1 else args))
        return function(*args, **kwargs)
    run.__name__ = function.__name__
    return run


def _sorted(values: Any, **kwargs: Any) -> list:
    meter = running()
    meter.spend(meter.size(values))
    items = list(values)
    meter.spend(len(items) * max(1, len(items).bit_length()))  # n log n comparisons
    return sorted(items, **kwargs)


def _number_text(value: Any) -> None:
    """Reading a number from text costs its length (int() is quadratic in the digits): bound and charge it."""
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_NUMBER_CHARS:
            raise ExpressionError(Msg("The text is too long to read as a number (over %(most)s characters).",
                                      most=format(MAX_NUMBER_CHARS, ",")))
        running().spend(len(value))


def _int(value: Any = 0, *base: Any) -> int:
    _number_text(value)
    return Evaluator.bounded(int(value, *base))


def _float(value: Any = 0.0) -> float:
    _number_text(value)
    return float(value)


def _str(value: Any = "") -> str:
    meter = running()
    meter.spend(meter.size(value))  # str() walks all of a nested value
    return meter.charge(str(value))


def _round(value: Any, ndigits: Any = None) -> Any:
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise ExpressionError(Msg("round() keeps at most %(most)s decimal places.", most=MAX_ROUND_DIGITS))
    if isinstance(value, int) and isinstance(ndigits, int):  # divides by 10**-ndigits
        running().big(max(value.bit_length(), 4 * abs(ndigits)))
    return round(value, ndigits)


def _today() -> str:
    return clock.current().date().isoformat()  # the service's clock inside an engine run


def _now() -> str:
    return clock.current().isoformat()


FUNCTIONS: dict[str, Any] = {
    "round": _round, "min": _over_all(min), "max": _over_all(max), "abs": abs, "len": len, "sum": _sum,
    "int": _int, "float": _float, "str": _str, "bool": bool, "sorted": _sorted,
    "any": _over_all(any), "all": _over_all(all), "today": _today, "now": _now,
    "days_between": _days_between, "add_days": _add_days,
}


