"""The safe expression language every diagram uses.

Conditions, script lines, timer values, service parameters and correlations are all
evaluated here with simpleeval over the task data: no builtins, no attribute access
(``record.field`` reads a key of a dict; only a short list of harmless methods may be
called after a dot), no underscore names, bounded sizes. The same
checks run at deploy time (``check_expression``/``parse_script``) so a diagram with an
unsafe or malformed expression is refused before any order reaches it.
"""
from __future__ import annotations

import ast
import re
import threading
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import simpleeval

from . import clock

# ISO-8601 values are literals: users write PT2H, not "PT2H" (Camunda Modeler's way).
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = rf"P(?!$)(?:{_NUM}Y)?(?:{_NUM}M)?(?:\d+W)?(?:{_NUM}D)?(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?"
_DATETIME = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_CYCLE = rf"R\d*/(?:(?:{_DATETIME})/)?{_DURATION}(?:/{_DATETIME})?"
ISO_LITERAL = re.compile(rf"^(?:{_DURATION}|{_DATETIME}|{_CYCLE})$")

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
        self.expression = expression
        self.line = line


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def _days_between(start: Any, end: Any) -> int:
    return (_parse_date(end) - _parse_date(start)).days


def _add_days(value: Any, days: int) -> str:
    return (_parse_date(value) + timedelta(days=int(days))).isoformat()


def _sum(values: Any) -> float:
    # builtin sum concatenates lists too, which can allocate without bound
    total = 0
    for value in values:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ExpressionError(f"sum() adds numbers only, not {type(value).__name__}.")
        total += value
    return total


def _today() -> str:
    return clock.current().date().isoformat()  # the service's clock inside an engine run


def _now() -> str:
    return clock.current().isoformat()


FUNCTIONS: dict[str, Any] = {
    "round": round, "min": min, "max": max, "abs": abs, "len": len, "sum": _sum,
    "int": int, "float": float, "str": str, "bool": bool, "sorted": sorted,
    "any": any, "all": all, "today": _today, "now": _now,
    "days_between": _days_between, "add_days": _add_days,
}


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> ast.Expression:
    """Parse and vet one expression; cached because diagrams repeat the same few."""
    text = expression.strip()
    if not text:
        raise ExpressionError("The expression is empty.", expression)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(_unreadable(text, exc), expression) from None
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            kind = type(node).__name__
            what = f"{_CONSTRUCTS[kind]} ({kind})" if kind in _CONSTRUCTS else f"This construct ({kind})"
            raise ExpressionError(f"{what} is not allowed in an expression.", expression)
        if isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in {"self", "globals", "locals"}):
            raise ExpressionError(f"The name '{node.id}' is not allowed.", expression)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"'.{node.attr}' is not allowed.", expression)
        if isinstance(node, ast.Attribute) and id(node) in called and node.attr not in SAFE_METHODS:
            raise ExpressionError(
                f"'.{node.attr}()' is not allowed; only {', '.join(sorted(SAFE_METHODS))} may be called "
                f"after a dot (a plain '.{node.attr}' reads that field of a record).", expression)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id not in FUNCTIONS:
                raise ExpressionError(
                    f"The function '{func.id}' is not available; use one of: {', '.join(sorted(FUNCTIONS))}.",
                    expression)
            if not isinstance(func, (ast.Name, ast.Attribute)):
                raise ExpressionError("Only named functions may be called.", expression)
    return tree


# what other languages' expressions look like, so the refusal says which language it saw
_JAVASCRIPT = re.compile(r"===|!==|&&|\|\||;\s*$|^\s*(?:var|let|const|function)\b|\bnew\s+[A-Z]|=>")


def _unreadable(text: str, exc: SyntaxError) -> str:
    """Why an expression does not parse, in words (never Python's own SyntaxError text)."""
    if _JAVASCRIPT.search(text):
        return ("JavaScript is not supported: write the expression in the engine's language, e.g. "
                "amount > 1000 and approved (and/or/not, ==, no semicolons).")
    if "never closed" in (exc.msg or "") or "unmatched" in (exc.msg or "") or "does not match" in (exc.msg or ""):
        return f"The brackets do not match (near character {exc.offset or 1})."
    return f"This is not a valid expression (near character {exc.offset or 1}): e.g. amount > 1000 and approved."


def check_expression(expression: str) -> None:
    """Raise ExpressionError if the expression would be refused at run time."""
    if ISO_LITERAL.match(expression.strip()):
        return
    compile_expression(expression)


def _logical_lines(script: str):
    """(first line number, text) per statement: an open bracket continues onto the next line."""
    pending, start, depth = "", 0, 0
    for number, raw in enumerate(script.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        pending = f"{pending} {line}" if pending else line
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        if depth <= 0:
            yield start, pending
            pending, depth = "", 0
    if pending:
        yield start, pending


@lru_cache(maxsize=1024)
def parse_script(script: str) -> tuple[tuple[str, ast.Expression], ...]:
    """A script is lines of ``name = expression``; anything else is refused."""
    assignments = []
    for number, line in _logical_lines(script):
        match = re.match(r"^([A-Za-z][A-Za-z0-9_]*)\s*=(?!=)\s*(.+)$", line)
        if not match:
            raise ExpressionError(
                "A script line must read 'name = expression' (no statements, loops or imports).",
                line, number)
        name, expression = match.groups()
        try:
            assignments.append((name, compile_expression(expression)))
        except ExpressionError as exc:
            raise ExpressionError(exc.message, line, number) from None
    return tuple(assignments)


# Elements (and characters) one evaluation may build in all; stops nested repetition such as
# [[1]*99999]*99999, which simpleeval's per-operation limits let through.
ALLOCATION_BUDGET = 1_000_000


def _weight(value: Any, cap: int) -> int:
    """Elements in nested containers plus string lengths, counted up to ``cap``."""
    total, stack = 0, [value]
    while stack and total <= cap:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.values())
    return total


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.operators = {**self.operators, ast.Mult: self._mult, ast.Add: self._add}
        self.spent = 0

    def _charge(self, result: Any) -> Any:
        if isinstance(result, (str, list, tuple, dict, set)):
            self.spent += _weight(result, ALLOCATION_BUDGET - self.spent + 1)
            if self.spent > ALLOCATION_BUDGET:
                raise ExpressionError("The expression builds too much data; simplify it.")
        return result

    def _mult(self, a: Any, b: Any) -> Any:
        seq, times = (a, b) if isinstance(a, (str, list, tuple)) else (b, a)
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and \
                _weight(seq, ALLOCATION_BUDGET) * max(times, 0) > ALLOCATION_BUDGET:
            raise ExpressionError("The expression builds too much data; simplify it.")
        return self._charge(simpleeval.safe_mult(a, b))

    def _add(self, a: Any, b: Any) -> Any:
        return self._charge(simpleeval.safe_add(a, b))

    def _check_disallowed_items(self, item: Any) -> None:
        # simpleeval walks every nested element on every node (quadratic on big lists); task
        # data is JSON and the names hold only allow-listed functions, so the top level suffices
        if isinstance(item, type(simpleeval)) or (callable(item) and item in simpleeval.DISALLOW_FUNCTIONS):
            raise ExpressionError("That value is not available in expressions.")

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        # record.field reads a key (SpiffWorkflow diagrams write it so); only the allow-listed
        # methods reach getattr, so no object's attributes are ever exposed
        if node.attr in SAFE_METHODS:
            return super()._eval_attribute(node)
        value = self._eval(node.value)
        if isinstance(value, dict) and node.attr in value:
            return value[node.attr]
        raise ExpressionError(f"The value has no field '{node.attr}'.")

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
        ev = _local.ev = _Evaluator(functions=dict(FUNCTIONS))
    return ev


def evaluate(expression: str, data: dict[str, Any]) -> Any:
    """Evaluate an expression over ``data``; ISO-8601 literals evaluate to themselves."""
    text = expression.strip()
    if ISO_LITERAL.match(text):
        return text
    tree = compile_expression(text)
    ev = _evaluator()
    ev.names, ev.spent = data, 0
    try:
        return ev.eval(text, previously_parsed=tree.body)
    except ExpressionError as exc:
        exc.expression = text
        raise
    except (simpleeval.InvalidExpression, ArithmeticError, TypeError, ValueError, KeyError,
            IndexError, AttributeError, RecursionError, MemoryError) as exc:
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
        return f"The record has no field '{exc.args[0] if exc.args else ''}'."
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
        return "It builds too long a list or text (over the service's limit)."
    return "It cannot be evaluated on the order's data as it is."


def run_script(script: str, data: dict[str, Any]) -> None:
    """Run ``name = expression`` lines, each seeing the assignments before it."""
    for number, (name, tree) in enumerate(parse_script(script), start=1):
        ev = _evaluator()
        ev.names, ev.spent = data, 0
        try:
            data[name] = ev.eval(name, previously_parsed=tree.body)
        except ExpressionError as exc:
            raise ExpressionError(exc.message, f"{name} = …", number) from None
        except (simpleeval.InvalidExpression, ArithmeticError, TypeError, ValueError, KeyError,
                IndexError, AttributeError, RecursionError, MemoryError) as exc:
            raise ExpressionError(failure_words(exc), name, number) from None
        finally:
            ev.names = {}
