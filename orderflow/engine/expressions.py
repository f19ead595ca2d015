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

This module is the language's face (evaluate, run_script, and what the others need); the parts
live beside it: ``iso_literal`` (ISO-8601 literals), ``expression_limits`` (the bounds and the
error), ``expression_reading`` (parse and vet), ``expression_functions`` (what may be called) and
``evaluator`` (the metered simpleeval).
"""
from __future__ import annotations

from typing import Any

import simpleeval

from orderflow.core.i18n import Msg
from orderflow.engine import json_clean
from orderflow.engine.evaluator import Evaluator, for_thread, weight
from orderflow.engine.expression_functions import FUNCTIONS
from orderflow.engine.expression_limits import (
    FUEL,
    INT_DIGITS,
    MAX_DEPTH,
    MAX_EXPRESSION_CHARS,
    MAX_NODES,
    MAX_SCRIPT_CHARS,
    VALUE_LIMIT,
    ExpressionError,
    shortened,
)
from orderflow.engine.expression_reading import check_expression, compile_expression, parse_script
from orderflow.engine.iso_literal import ISO_LITERAL, is_iso

__all__ = ["FUEL", "FUNCTIONS", "INT_DIGITS", "ISO_LITERAL", "MAX_DEPTH", "MAX_EXPRESSION_CHARS", "MAX_NODES",
           "MAX_SCRIPT_CHARS", "VALUE_LIMIT", "ExpressionError", "check_expression", "compile_expression", "evaluate",
           "failure_words", "parse_script", "run_script"]


def _evaluator() -> Evaluator:
    return for_thread(FUNCTIONS)


_FAILURES = (simpleeval.InvalidExpression, ArithmeticError, TypeError, ValueError, KeyError,
             IndexError, AttributeError, RecursionError, MemoryError)


def evaluate(expression: str, data: dict[str, Any]) -> Any:
    """Evaluate an expression over ``data`` on a fresh budget; ISO-8601 literals evaluate to themselves."""
    text = expression.strip()
    if is_iso(text):
        return text
    tree = compile_expression(text)
    ev = _evaluator()
    ev.names, ev.spent = data, 0
    try:
        return ev.eval(text, previously_parsed=tree.body)
    except ExpressionError as exc:
        exc.expression = shortened(text)
        raise
    except _FAILURES as exc:
        raise ExpressionError(failure_words(exc), text) from None
    finally:
        ev.names = {}


def failure_words(exc: BaseException) -> Msg:
    """Why an evaluation failed, in words: never Python's exception name or text."""
    if isinstance(exc, ZeroDivisionError):
        return Msg("It divides by zero.")
    if isinstance(exc, ArithmeticError):
        return Msg("A number grows too large.")
    if isinstance(exc, KeyError):
        return Msg("The record has no field '%(name)s'.",
                   name=shortened(str(exc.args[0]) if exc.args else '', 60))
    if isinstance(exc, IndexError):
        return Msg("A list is shorter than the position the expression reads.")
    if isinstance(exc, TypeError):
        return Msg("It combines values that do not fit together (e.g. a number and a text, or nothing).")
    if isinstance(exc, ValueError):
        return Msg("A value is not in the form it needs (e.g. a date or a number written differently).")
    if isinstance(exc, (RecursionError, MemoryError)):
        return Msg("The data is too large or too deeply nested for it.")
    if isinstance(exc, simpleeval.NameNotDefined):
        return Msg("'%(name)s' is not in the order data yet.", name=str(getattr(exc, 'name', '')))
    if isinstance(exc, simpleeval.NumberTooHigh):
        return Msg("A number grows too large (over the service's limit).")
    if isinstance(exc, simpleeval.IterableTooLong):
        return Msg("It builds too long a list or text (over %(most)s characters or items).",
                   most=format(simpleeval.MAX_STRING_LENGTH, ","))
    return Msg("It cannot be evaluated on the order's data as it is.")


def run_script(script: str, data: dict[str, Any]) -> None:
    """Run ``name = expression`` lines, each seeing the assignments before it. All lines share one
    budget, and each stored value must be clean JSON of at most VALUE_LIMIT characters and items."""
    ev = _evaluator()
    ev.spent = 0
    for number, name, tree in parse_script(script):
        ev.names = data
        try:
            value = ev.eval(name, previously_parsed=tree.body)
            ev.spend(weight(value, min(VALUE_LIMIT, FUEL - ev.spent) + 1))  # what the check below walks
        except ExpressionError as exc:
            raise ExpressionError(exc.message, f"{name} = …", number) from None
        except _FAILURES as exc:
            raise ExpressionError(failure_words(exc), name, number) from None
        finally:
            ev.names = {}
        found = json_clean.problem(value, name, limit=VALUE_LIMIT)
        if found:
            raise ExpressionError(Msg("'%(name)s' cannot be stored: %(reason)s", name=found[0], reason=found[1]),
                                  f"{name} = …", number)
        data[name] = json_clean.plain(value)
