"""The safe expression language every diagram uses.

Conditions, script lines, timer values, service parameters and correlations are all
evaluated here with simpleeval over the task data: no builtins, no attribute access
(``record.field`` reads a key of a dict; only a short list of harmless methods may be
called after a dot), no underscore names. The same checks run at deploy time
(``check_expression``/``parse_script``) so a diagram with an unsafe or malformed expression
is refused before any order reaches it.

Every evaluation runs on a counted work budget (``FUEL``), because one C call over a big
operand holds the GIL and stalls every request of the process; a timer would make results
depend on the machine, a count does not. Each evaluated node costs ``NODE_COST``; building
text or lists costs their size; comprehension rounds, str methods, ``sorted``/``sum``/``min``,
``in`` and comparisons cost the size they run over. Integers are bounded by bit length
before a product or power is computed, text formatting with ``%`` is refused, and number
text is bounded before ``int``/``float`` read it. All lines of one script share one budget.
Before parsing, length and nesting are bounded (``ast.parse`` and the recursive evaluator
fail with RecursionError/MemoryError past a few hundred levels); after parsing, the node
count and depth. What a script stores must be clean JSON of bounded size (``json_clean``).
Every refusal is an ExpressionError that names the bound, never Python's exception text.
"""
from __future__ import annotations

import ast
import operator as op
import threading
from collections.abc import Callable, ItemsView, Iterator, KeysView, ValuesView
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import chain
from typing import Any

import simpleeval

from orderflow.engine import clock, json_clean, linear_re

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


def _is_iso(text: str) -> bool:
    """ISO_LITERAL.match as a yes/no, cached for short texts: evaluate asks it for every condition."""
    return _is_iso_short(text) if len(text) <= 300 else ISO_LITERAL.match(text) is not None


@lru_cache(maxsize=4096)
def _is_iso_short(text: str) -> bool:
    return ISO_LITERAL.match(text) is not None


# -- bounds (counted, never timed: the same expression passes or fails on every machine) ----------
MAX_EXPRESSION_CHARS = 20_000   # one expression; a lookup table of a few hundred entries fits
MAX_SCRIPT_CHARS = 100_000      # one script, all its lines
MAX_NESTING = 50                # brackets plus prefix signs/not inside each other, scanned before parsing
MAX_DEPTH = 100                 # syntax-tree levels: the evaluator recurses about 3 Python frames a level
MAX_NODES = 5_000               # syntax-tree nodes of one expression (each costs NODE_COST when evaluated)
# Work units one evaluation (or one whole script) may spend. Measured once on the 2-core machine this
# was written on (process CPU time of ~40 hostile expressions and scripts run to the refusal): the
# costliest take 0.12-0.14 s -- node-heavy comprehension rounds and dict copies, about 0.13 us a
# unit at NODE_COST 4; big-integer arithmetic (a unit per 32 bits) 0.03-0.06 s; comparisons, in,
# sorted, max and weighing nested lists 0.03-0.05 s; building text under 0.02 s. An ordinary
# condition spends a few dozen units, a 500-line sum a few thousand.
FUEL = 1_000_000
NODE_COST = 4                   # one evaluated node, or one round of a comprehension
ALLOCATION_BUDGET = FUEL        # kept for readers of the old name: building data spends the same fuel
INT_BITS = 4096                 # far beyond any amount of money; big-int C calls stay microseconds
INT_DIGITS = len(str(2 ** INT_BITS))
MAX_NUMBER_CHARS = 1_300        # text int()/float() may read (a number of INT_DIGITS digits, sign, exponent)
MAX_ROUND_DIGITS = 300          # round(5, -10**9) would compute 10**(10**9)
VALUE_LIMIT = 100_000           # characters plus elements one script line may store in a field

_TOO_MUCH_WORK = f"The expression does too much work (over {FUEL:,} steps); simplify it."
_TOO_MUCH_DATA = f"The expression builds too much data (over {FUEL:,} steps of work); simplify it."
_TOO_LARGE = f"A number grows too large (over {INT_DIGITS:,} digits)."
_TOO_DEEP = (f"The expression is nested too deeply (over {MAX_NESTING} brackets or signs inside each "
             "other); split it into script lines.")

SAFE_METHODS = frozenset({
    "get", "keys", "values", "items", "lower", "upper", "strip", "startswith",
    "endswith", "split", "count", "isdigit",
})  # no join/replace/format: each can build a huge string from small inputs
_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp,
    ast.Call, ast.Constant, ast.Name, ast.Load, ast.Subscript, ast.Slice,
    ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Attribute, ast.keyword,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.Store,
    ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub, ast.Mult, ast.Div,
    ast.FloorDiv, ast.Mod, ast.Pow, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.In, ast.NotIn, ast.Is, ast.IsNot,
)


# Python constructs an expression may not use, named as a process owner would know them
_CONSTRUCTS = {"Lambda": "A lambda function", "JoinedStr": "An f-string", "FormattedValue": "An f-string",
               "NamedExpr": "An assignment (:=)", "Starred": "Unpacking with *", "Await": "await",
               "Yield": "yield", "YieldFrom": "yield", "BitAnd": "The & operator (write 'and')",
               "BitOr": "The | operator (write 'or')", "BitXor": "The ^ operator", "Invert": "The ~ operator",
               "LShift": "The << operator", "RShift": "The >> operator", "MatMult": "The @ operator"}


class ExpressionError(Exception):
    """An expression that is unsafe, malformed, or failed while evaluating."""

    def __init__(self, message: str, expression: str = "", line: int | None = None):
        super().__init__(message)
        self.message = message
        self.expression = _shortened(expression)  # quoted back in deploy problems: never megabytes
        self.line = line


def _shortened(text: str, most: int = 200) -> str:
    return text if len(text) <= most else f"{text[:most]}…"


# -- functions: each spends the work it does from the running evaluation's fuel -------------------

def _meter() -> _Evaluator:
    return _evaluator()  # the evaluation running on this thread


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
    _meter().spend(_meter().size(values))
    values = list(values)
    kinds = set(map(type, values))
    if not kinds <= {int, float}:
        kind = next(iter(kinds - {int, float}))
        raise ExpressionError(f"sum() adds numbers only, not {kind.__name__}.")
    return _Evaluator.bounded(sum(values))  # n bounded numbers add up to at most log2(n) more bits


def _over_all(function: Any) -> Any:
    """min/max/any/all: they run over every element (and compare them), so they cost its size."""
    def run(*args: Any, **kwargs: Any) -> Any:
        _meter().spend(_meter().size(args[0] if len(args) == 1 else args))
        return function(*args, **kwargs)
    run.__name__ = function.__name__
    return run


def _sorted(values: Any, **kwargs: Any) -> list:
    meter = _meter()
    meter.spend(meter.size(values))
    items = list(values)
    meter.spend(len(items) * max(1, len(items).bit_length()))  # n log n comparisons
    return sorted(items, **kwargs)


def _number_text(value: Any) -> None:
    """Reading a number from text costs its length (int() is quadratic in the digits): bound and charge it."""
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_NUMBER_CHARS:
            raise ExpressionError(f"The text is too long to read as a number (over {MAX_NUMBER_CHARS:,} characters).")
        _meter().spend(len(value))


def _int(value: Any = 0, *base: Any) -> int:
    _number_text(value)
    return _Evaluator.bounded(int(value, *base))


def _float(value: Any = 0.0) -> float:
    _number_text(value)
    return float(value)


def _str(value: Any = "") -> str:
    meter = _meter()
    meter.spend(meter.size(value))  # str() walks all of a nested value
    return meter.charge(str(value))


def _round(value: Any, ndigits: Any = None) -> Any:
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise ExpressionError(f"round() keeps at most {MAX_ROUND_DIGITS} decimal places.")
    if isinstance(value, int) and isinstance(ndigits, int):  # divides by 10**-ndigits
        _meter().big(max(value.bit_length(), 4 * abs(ndigits)))
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


# -- reading an expression: bounded before and after parsing --------------------------------------

def _string_end(text: str, start: int) -> int:
    """Index after the string literal opening at ``start`` (escapes and triple quotes respected)."""
    quote = text[start] * 3 if text.startswith(text[start] * 3, start) else text[start]
    at = start + len(quote)
    while True:
        end = text.find(quote, at)
        if end < 0:
            return len(text)  # unterminated: the parser says so
        slashes = end
        while slashes > at and text[slashes - 1] == "\\":
            slashes -= 1
        if (end - slashes) % 2 == 0:
            return end + len(quote)
        at = end + 1


def _check_nesting(text: str) -> None:
    """Refuse brackets and prefix signs (-, +, not) nested beyond MAX_NESTING, in one linear pass:
    ast.parse and the evaluator recurse on them and fail with RecursionError or MemoryError."""
    depth = run = 0  # open brackets; prefix signs/not in a row (a run goes on into a bracket)
    at, size = 0, len(text)
    while at < size:
        char = text[at]
        if char in "'\"":
            at, run = _string_end(text, at), 0
            continue
        if char.isalnum() or char in "_.":
            end = at + 1
            while end < size and (text[end].isalnum() or text[end] in "_."):
                end += 1
            run = run + 1 if text[at:end] == "not" else 0
            at = end
        else:
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth, run = depth - 1, 0
            elif char in "+-~":
                run += 1
            elif not char.isspace():
                run = 0
            at += 1
        if depth + run > MAX_NESTING:
            raise ExpressionError(_TOO_DEEP, text)


def compile_expression(expression: str) -> ast.Expression:
    """Parse and vet one expression; cached because diagrams repeat the same few."""
    text = expression.strip()
    # the big cache holds the usual short expressions; long ones get a few slots (trees are large)
    return _compile_short(text) if len(text) <= 300 else _compile_long(text)


def _compile(text: str) -> ast.Expression:
    if not text:
        raise ExpressionError("The expression is empty.", text)
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"The expression is longer than {MAX_EXPRESSION_CHARS:,} characters; "
                              "split it into script lines.", text)
    _check_nesting(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(_unreadable(text, exc), text) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(_TOO_DEEP, text) from None
    except ValueError:  # NUL characters, unpaired surrogates
        raise ExpressionError("The expression contains characters that cannot be read "
                              "(NUL or unpaired surrogates).", text) from None
    _vet(tree, text)
    return tree


_compile_short = lru_cache(maxsize=4096)(_compile)
_compile_long = lru_cache(maxsize=64)(_compile)


def _vet(tree: ast.Expression, text: str) -> None:
    """Every node allowed; the tree within MAX_NODES and MAX_DEPTH (walked without recursion)."""
    called: set[int] = set()
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"The expression is too long (over {MAX_NODES:,} parts); "
                                  "split it into script lines.", text)
        if depth > MAX_DEPTH:
            raise ExpressionError(f"The expression is nested too deeply (over {MAX_DEPTH} levels); "
                                  "split it into script lines.", text)
        if isinstance(node, ast.Call):
            called.add(id(node.func))  # the parent is vetted before its children
        _vet_node(node, node_called=id(node) in called, text=text)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _vet_node(node: ast.AST, node_called: bool, text: str) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        kind = type(node).__name__
        what = f"{_CONSTRUCTS[kind]} ({kind})" if kind in _CONSTRUCTS else f"This construct ({kind})"
        raise ExpressionError(f"{what} is not allowed in an expression.", text)
    if isinstance(node, ast.Constant):
        _vet_constant(node.value, text)
    if isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in {"self", "globals", "locals"}):
        raise ExpressionError(f"The name '{node.id}' is not allowed.", text)
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(f"'.{node.attr}' is not allowed.", text)
    if isinstance(node, ast.Attribute) and node_called and node.attr not in SAFE_METHODS:
        raise ExpressionError(
            f"'.{node.attr}()' is not allowed; only {', '.join(sorted(SAFE_METHODS))} may be called "
            f"after a dot (a plain '.{node.attr}' reads that field of a record).", text)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id not in FUNCTIONS:
            raise ExpressionError(
                f"The function '{func.id}' is not available; use one of: {', '.join(sorted(FUNCTIONS))}.", text)
        if not isinstance(func, (ast.Name, ast.Attribute)):
            raise ExpressionError("Only named functions may be called.", text)


def _vet_constant(value: Any, text: str) -> None:
    if isinstance(value, int) and value.bit_length() > INT_BITS:
        raise ExpressionError(_TOO_LARGE, text)
    if isinstance(value, complex):
        raise ExpressionError("Imaginary numbers (such as 2j) are not allowed.", text)
    if isinstance(value, bytes):
        raise ExpressionError("Byte strings (b'...') are not allowed; write text in quotes.", text)


# what other languages' expressions look like, so the refusal says which language it saw
_JAVASCRIPT = linear_re.compile(r"===|!==|&&|\|\||;\s*$|^\s*(?:var|let|const|function)\b|\bnew\s+[A-Z]|=>")


def _looks_like_javascript(text: str) -> bool:
    try:
        return _JAVASCRIPT.search(text) is not None
    except UnicodeError:
        return False


def _unreadable(text: str, exc: SyntaxError) -> str:
    """Why an expression does not parse, in words (never Python's own SyntaxError text)."""
    if _looks_like_javascript(text):
        return ("JavaScript is not supported: write the expression in the engine's language, e.g. "
                "amount > 1000 and approved (and/or/not, ==, no semicolons).")
    if "too many nested" in (exc.msg or "") or "too complex" in (exc.msg or ""):
        return _TOO_DEEP
    if "never closed" in (exc.msg or "") or "unmatched" in (exc.msg or "") or "does not match" in (exc.msg or ""):
        return f"The brackets do not match (near character {exc.offset or 1})."
    return f"This is not a valid expression (near character {exc.offset or 1}): e.g. amount > 1000 and approved."


def check_expression(expression: str) -> None:
    """Raise ExpressionError if the expression would be refused at run time."""
    if _is_iso(expression.strip()):
        return
    compile_expression(expression)


def _logical_lines(script: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) per statement: an open bracket continues onto the next line."""
    pending: list[str] = []  # joined once per statement: += on a long open bracket is quadratic
    start = depth = 0
    for number, raw in enumerate(script.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        pending.append(line)
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        if depth <= 0:
            yield start, " ".join(pending)
            pending, depth = [], 0
    if pending:
        yield start, " ".join(pending)


# name = expression; RE2 has no look-ahead, so "= not followed by =" is a character class
_SCRIPT_LINE = linear_re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*=([^=].*)$")


def parse_script(script: str) -> tuple[tuple[int, str, ast.Expression], ...]:
    """A script is lines of ``name = expression``; anything else is refused.
    Returns (line number, name, parsed expression) per assignment."""
    if len(script) > MAX_SCRIPT_CHARS:
        raise ExpressionError(f"The script is longer than {MAX_SCRIPT_CHARS:,} characters; "
                              "split it into several script tasks.", script)
    return _parse_short(script) if len(script) <= 2_000 else _parse_long(script)


def _parse(script: str) -> tuple[tuple[int, str, ast.Expression], ...]:
    assignments = []
    for number, line in _logical_lines(script):
        try:
            match = _SCRIPT_LINE.match(line)
        except UnicodeError:
            match = None
        if not match or not match.group(2).strip():
            raise ExpressionError(
                "A script line must read 'name = expression' (no statements, loops or imports).",
                line, number)
        name, expression = match.group(1), match.group(2).strip()
        try:
            assignments.append((number, name, compile_expression(expression)))
        except ExpressionError as exc:
            raise ExpressionError(exc.message, line, number) from None
    return tuple(assignments)


_parse_short = lru_cache(maxsize=1024)(_parse)
_parse_long = lru_cache(maxsize=8)(_parse)


# -- evaluating: every node and every bulk operation spends fuel ----------------------------------

_SEQUENCES = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)


def _weight(value: Any, cap: int) -> int:
    """Elements in nested containers plus string lengths (keys too), counted up to ``cap``.
    Walked a level at a time with C-level map/sum/chain: weighing must cost far less than the
    work it prices (a per-element Python loop made it the slowest part of an evaluation)."""
    total, level = 0, [value]
    while level and total <= cap:
        kinds = set(map(type, level))
        groups: list[tuple[type, list[Any]]] = [
            (kind, level if len(kinds) == 1 else [x for x in level if type(x) is kind]) for kind in kinds]
        containers = []
        for kind, group in groups:
            if issubclass(kind, (str, bytes, dict)) or issubclass(kind, _SEQUENCES):
                total += sum(map(len, group))
                if not issubclass(kind, (str, bytes)):
                    containers.append((kind, group))
        if total > cap:  # before the next level is listed: it holds as many references as counted
            break
        level = []
        for kind, group in containers:
            level.extend(chain.from_iterable(group))  # a dict's keys
            if issubclass(kind, dict):
                level.extend(chain.from_iterable(map(kind.values, group)))
    return total


_SCALARS = frozenset({int, float, bool, type(None)})
_KEY_BITS = 63  # ints past this can share a hash (n*(2**61-1) all do): n such keys cost n*n to insert


def _key(value: Any) -> Any:
    """A dict key or set element: no integer (also inside a tuple) beyond _KEY_BITS bits."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is int and item.bit_length() > _KEY_BITS:
            raise ExpressionError(f"A number beyond {_KEY_BITS} bits cannot be a key or a set element.")
        if type(item) is tuple:
            stack.extend(item)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int)  # bool too: True * 10**5000 is as large


_Operators = dict[type[ast.AST], Callable[..., Any]]  # simpleeval's: operator node class -> function


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    operators: _Operators

    def __init__(self) -> None:
        super().__init__(functions=dict(FUNCTIONS))
        self.functions = dict(FUNCTIONS)  # not simpleeval's list/dict/set/tuple: only what the compiler allows
        compare: _Operators = {kind: self._compared(fn) for kind, fn in
                               [(ast.Eq, op.eq), (ast.NotEq, op.ne), (ast.Lt, op.lt), (ast.LtE, op.le),
                                (ast.Gt, op.gt), (ast.GtE, op.ge)]}
        self.operators = {**self.operators, **compare, ast.Add: self._add, ast.Sub: self._sub,
                          ast.Mult: self._mult, ast.Pow: self._pow, ast.Mod: self._mod,
                          ast.Div: self._divided(op.truediv), ast.FloorDiv: self._divided(op.floordiv),
                          ast.In: self._contains, ast.NotIn: lambda a, b: not self._contains(a, b)}
        self.spent = 0

    # fuel
    def spend(self, units: int, building: bool = False) -> None:
        self.spent += units
        if self.spent > FUEL:
            raise ExpressionError(_TOO_MUCH_DATA if building else _TOO_MUCH_WORK)

    def size(self, value: Any) -> int:
        """What running over ``value`` costs: its length, nested elements counted (up to what is left)."""
        kind = type(value)
        if kind is str or kind is bytes:
            return len(value)
        if kind in _SCALARS:  # the usual operand of a condition: no walk
            return 1
        return _weight(value, FUEL - self.spent + 1)

    def charge(self, result: Any) -> Any:
        """Spend what building ``result`` cost (text and nested elements)."""
        if isinstance(result, (str, list, tuple, dict, set)):
            self.spend(self.size(result), building=True)
        return result

    @staticmethod
    def bounded(value: Any) -> Any:
        if _is_int(value) and value.bit_length() > INT_BITS:
            raise ExpressionError(_TOO_LARGE)
        return value

    def _eval(self, node: ast.AST) -> Any:
        self.spend(NODE_COST)
        return super()._eval(node)

    # operators: sizes checked before the work where the work is the danger
    def _add(self, a: Any, b: Any) -> Any:
        return self.bounded(self.charge(simpleeval.safe_add(a, b)))

    def _sub(self, a: Any, b: Any) -> Any:
        if not (_is_int(a) or isinstance(a, float)) or not (_is_int(b) or isinstance(b, float)):
            for side in (a, b):  # set differences (of keys views) hash every element of both sides
                if isinstance(side, (list, tuple, set, frozenset, KeysView)):
                    self.spend(self.size(side))
                    for element in side:
                        _key(element)
        return self.bounded(self.charge(a - b))

    def big(self, bits: int) -> None:
        """Big-integer arithmetic costs a unit per 32 bits of its operands (a few machine words)."""
        if bits > INT_BITS:
            raise ExpressionError(_TOO_LARGE)
        self.spend(bits >> 5)

    def _mult(self, a: Any, b: Any) -> Any:
        if _is_int(a) and _is_int(b):  # the product has at most the sum of the operands' bits
            self.big(a.bit_length() + b.bit_length())
            return a * b
        seq, times = (a, b) if isinstance(a, (str, list, tuple)) else (b, a)
        if isinstance(seq, (str, list, tuple)) and _is_int(times) and \
                self.size(seq) * max(times, 0) > FUEL - self.spent:
            raise ExpressionError(_TOO_MUCH_DATA)
        return self.charge(simpleeval.safe_mult(a, b))

    def _pow(self, a: Any, b: Any) -> Any:
        # the result has at least (bits(base) - 1) * exponent + 1 bits and under twice that: refused
        # beyond the cap before computing, checked exactly after; 0, 1 and -1 stay small for any exponent
        if _is_int(a) and _is_int(b) and b > 0 and abs(a) > 1:
            self.big((abs(a).bit_length() - 1) * b + 1)
        return self.bounded(a ** b)

    def _divided(self, divide: Any) -> Any:
        def run(a: Any, b: Any) -> Any:  # long division costs the dividend's size
            if _is_int(a) and _is_int(b):
                self.big(max(a.bit_length(), b.bit_length()))
            return divide(a, b)
        return run

    def _mod(self, a: Any, b: Any) -> Any:
        if isinstance(a, (str, bytes)):  # printf padding ("%0999999999d") builds any size from a few characters
            raise ExpressionError("Formatting text with % is not supported (its padding builds text beyond any "
                                  "limit); join texts with + and str(), e.g. 'Order ' + str(number).")
        return self._divided(op.mod)(a, b)

    def _compared(self, compare: Any) -> Any:
        def run(a: Any, b: Any) -> Any:  # long texts or lists compare element by element
            self.spend(min(self.size(a), self.size(b)))
            return compare(a, b)
        return run

    def _contains(self, item: Any, container: Any) -> bool:
        if isinstance(container, (dict, set, frozenset, KeysView)):
            self.spend(self.size(_key(item)))  # hashed: costs the item, not the container
        else:
            self.spend(self.size(container) + (len(item) if isinstance(item, str) else 0))
        return item in container

    # nodes
    def _eval_call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Attribute):
            return self._call_method(node, node.func)
        return super()._eval_call(node)

    def _call_method(self, node: ast.Call, func: ast.Attribute) -> Any:  # func: node.func
        name = func.attr  # one of SAFE_METHODS: the compiler refused any other
        receiver = self._eval(func.value)
        args = [self._eval(arg) for arg in node.args]
        kwargs = dict(self._eval(k) for k in node.keywords)
        # get hashes its key; the others run over the whole receiver (and their text arguments)
        self.spend((0 if name == "get" else self.size(receiver)) + sum(self.size(_key(arg)) for arg in args[:1])
                   + sum(self.size(arg) for arg in args[1:]))
        method = getattr(receiver, name, None)
        if not callable(method) or isinstance(receiver, type(simpleeval)):
            raise ExpressionError(f"'.{name}()' does not apply to this value ({type(receiver).__name__}).")
        return self.charge(method(*args, **kwargs))

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        # record.field reads a key (SpiffWorkflow diagrams write it so); methods only run when called
        # (_call_method), so no object's attributes are ever exposed and no method escapes its cost
        value = self._eval(node.value)
        if isinstance(value, dict) and node.attr in value:
            return value[node.attr]
        if node.attr in SAFE_METHODS:
            raise ExpressionError(f"'.{node.attr}' must be called, e.g. .{node.attr}().")
        raise ExpressionError(f"The value has no field '{node.attr}'.")

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        key = self._eval(node.slice)
        if isinstance(key, (str, tuple)) or isinstance(container, dict):  # hashed (a tuple's hash is
            self.spend(self.size(_key(key)))                              # not kept: each look-up pays)
        result = container[key]
        if isinstance(key, slice):  # a slice copies
            self.spend(len(result) if hasattr(result, "__len__") else 1, building=True)
        return result

    def _eval_dict(self, node: ast.Dict) -> Any:
        result: dict = {}
        for key, value in zip(node.keys, node.values):
            if key is None:  # {**record}: its keys were checked when it was built (or are JSON text)
                result.update(self._eval(value))
            else:
                result[_key(self._eval(key))] = self._eval(value)
        return self.charge(result)  # keys hashed, {**record} copied

    def _eval_set(self, node: ast.Set) -> Any:
        return self.charge({_key(self._eval(element)) for element in node.elts})  # elements hashed

    def _eval_comprehension(self, node: Any) -> Any:
        # simpleeval's, with every round spending fuel (one that builds nothing costs as much)
        result: Any = {} if isinstance(node, ast.DictComp) else []
        scope: dict[str, Any] = {}
        outer = self.nodes[ast.Name]

        def read(name: ast.Name) -> Any:
            return scope[name.id] if name.id in scope else outer(name)

        def bind(target: ast.AST, value: Any) -> None:
            if isinstance(target, ast.Name):
                scope[target.id] = value
            elif isinstance(target, (ast.Tuple, ast.List)):
                for part, item in zip(target.elts, value):
                    bind(part, item)
            else:
                raise ExpressionError("A comprehension can only name its items (for a in ..., for a, b in ...).")

        def rounds(index: int) -> None:
            generator = node.generators[index]
            for item in self._eval(generator.iter):
                self.spend(NODE_COST)
                bind(generator.target, item)
                if all(self._eval(condition) for condition in generator.ifs):
                    if index + 1 < len(node.generators):
                        rounds(index + 1)
                    elif isinstance(result, dict):
                        key = _key(self._eval(node.key))
                        self.spend(self.size(key))  # hashed
                        result[key] = self._eval(node.value)
                    else:
                        result.append(self._eval(node.elt))

        self.nodes[ast.Name] = read
        try:
            rounds(0)
        finally:
            self.nodes[ast.Name] = outer
        return result

    def _check_disallowed_items(self, item: Any) -> None:
        # simpleeval walks every nested element on every node (quadratic on big lists); task
        # data is JSON and the names hold only allow-listed functions, so the top level suffices
        if isinstance(item, type(simpleeval)) or (callable(item) and item in simpleeval.DISALLOW_FUNCTIONS):
            raise ExpressionError("That value is not available in expressions.")

    def _eval_name(self, node: ast.Name) -> Any:
        try:
            return super()._eval_name(node)
        except simpleeval.NameNotDefined:
            raise ExpressionError(f"'{node.id}' is not in the order data yet.") from None


_local = threading.local()


def _evaluator() -> _Evaluator:
    # Building a SimpleEval costs more than evaluating a condition: keep one per thread.
    ev = getattr(_local, "ev", None)
    if ev is None:
        ev = _local.ev = _Evaluator()
    return ev


_FAILURES = (simpleeval.InvalidExpression, ArithmeticError, TypeError, ValueError, KeyError,
             IndexError, AttributeError, RecursionError, MemoryError)


def evaluate(expression: str, data: dict[str, Any]) -> Any:
    """Evaluate an expression over ``data`` on a fresh budget; ISO-8601 literals evaluate to themselves."""
    text = expression.strip()
    if _is_iso(text):
        return text
    tree = compile_expression(text)
    ev = _evaluator()
    ev.names, ev.spent = data, 0
    try:
        return ev.eval(text, previously_parsed=tree.body)
    except ExpressionError as exc:
        exc.expression = _shortened(text)
        raise
    except _FAILURES as exc:
        raise ExpressionError(failure_words(exc), text) from None
    finally:
        ev.names = {}


def failure_words(exc: BaseException) -> str:
    """Why an evaluation failed, in words: never Python's exception name or text."""
    if isinstance(exc, ZeroDivisionError):
        return "It divides by zero."
    if isinstance(exc, ArithmeticError):
        return "A number grows too large."
    if isinstance(exc, KeyError):
        return f"The record has no field '{_shortened(str(exc.args[0]) if exc.args else '', 60)}'."
    if isinstance(exc, IndexError):
        return "A list is shorter than the position the expression reads."
    if isinstance(exc, TypeError):
        return "It combines values that do not fit together (e.g. a number and a text, or nothing)."
    if isinstance(exc, ValueError):
        return "A value is not in the form it needs (e.g. a date or a number written differently)."
    if isinstance(exc, (RecursionError, MemoryError)):
        return "The data is too large or too deeply nested for it."
    if isinstance(exc, simpleeval.NameNotDefined):
        return f"'{getattr(exc, 'name', '')}' is not in the order data yet."
    if isinstance(exc, simpleeval.NumberTooHigh):
        return "A number grows too large (over the service's limit)."
    if isinstance(exc, simpleeval.IterableTooLong):
        return f"It builds too long a list or text (over {simpleeval.MAX_STRING_LENGTH:,} characters or items)."
    return "It cannot be evaluated on the order's data as it is."


def run_script(script: str, data: dict[str, Any]) -> None:
    """Run ``name = expression`` lines, each seeing the assignments before it. All lines share one
    budget, and each stored value must be clean JSON of at most VALUE_LIMIT characters and items."""
    ev = _evaluator()
    ev.spent = 0
    for number, name, tree in parse_script(script):
        ev.names = data
        try:
            value = ev.eval(name, previously_parsed=tree.body)
            ev.spend(_weight(value, min(VALUE_LIMIT, FUEL - ev.spent) + 1))  # what the check below walks
        except ExpressionError as exc:
            raise ExpressionError(exc.message, f"{name} = …", number) from None
        except _FAILURES as exc:
            raise ExpressionError(failure_words(exc), name, number) from None
        finally:
            ev.names = {}
        found = json_clean.problem(value, name, limit=VALUE_LIMIT)
        if found:
            raise ExpressionError(f"'{found[0]}' cannot be stored: {found[1]}", f"{name} = …", number)
        data[name] = value
