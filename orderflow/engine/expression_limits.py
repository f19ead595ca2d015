"""The bounds of the expression language, counted and never timed, and its one error."""
from __future__ import annotations

import ast

from orderflow.core.i18n import Msg

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

TOO_MUCH_WORK = Msg("The expression does too much work (over %(most)s steps); simplify it.", most=format(FUEL, ","))
TOO_MUCH_DATA = Msg("The expression builds too much data (over %(most)s steps of work); simplify it.",
                    most=format(FUEL, ","))
TOO_LARGE = Msg("A number grows too large (over %(most)s digits).", most=format(INT_DIGITS, ","))
TOO_DEEP = Msg("The expression is nested too deeply (over %(most)s brackets or signs inside each other); "
               "split it into script lines.", most=MAX_NESTING)

SAFE_METHODS = frozenset({
    "get", "keys", "values", "items", "lower", "upper", "strip", "startswith",
    "endswith", "split", "count", "isdigit",
})  # no join/replace/format: each can build a huge string from small inputs
ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp,
    ast.Call, ast.Constant, ast.Name, ast.Load, ast.Subscript, ast.Slice,
    ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Attribute, ast.keyword,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.Store,
    ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub, ast.Mult, ast.Div,
    ast.FloorDiv, ast.Mod, ast.Pow, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.In, ast.NotIn, ast.Is, ast.IsNot,
)


# Python constructs an expression may not use, named as a process owner would know them
CONSTRUCTS: dict[str, Msg] = {
    "Lambda": Msg("A lambda function"), "JoinedStr": Msg("An f-string"), "FormattedValue": Msg("An f-string"),
    "NamedExpr": Msg("An assignment (:=)"), "Starred": Msg("Unpacking with *"), "Await": Msg("await"),
    "Yield": Msg("yield"), "YieldFrom": Msg("yield"), "BitAnd": Msg("The & operator (write 'and')"),
    "BitOr": Msg("The | operator (write 'or')"), "BitXor": Msg("The ^ operator"), "Invert": Msg("The ~ operator"),
    "LShift": Msg("The << operator"), "RShift": Msg("The >> operator"), "MatMult": Msg("The @ operator")}


class ExpressionError(Exception):
    """An expression that is unsafe, malformed, or failed while evaluating."""

    def __init__(self, message: str, expression: str = "", line: int | None = None):
        super().__init__(message)
        self.message = message
        self.expression = shortened(expression)  # quoted back in deploy problems: never megabytes
        self.line = line


def shortened(text: str, most: int = 200) -> str:
    return text if len(text) <= most else f"{text[:most]}…"


