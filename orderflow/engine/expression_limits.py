"""The bounds of the expression language, counted and never timed, and its one error."""
from __future__ import annotations

import ast

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

TOO_MUCH_WORK = f"The expression does too much work (over {FUEL:,} steps); simplify it."
TOO_MUCH_DATA = f"The expression builds too much data (over {FUEL:,} steps of work); simplify it."
TOO_LARGE = f"A number grows too large (over {INT_DIGITS:,} digits)."
TOO_DEEP = (f"The expression is nested too deeply (over {MAX_NESTING} brackets or signs inside each "
             "other); split it into script lines.")

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
CONSTRUCTS = {"Lambda": "A lambda function", "JoinedStr": "An f-string", "FormattedValue": "An f-string",
               "NamedExpr": "An assignment (:=)", "Starred": "Unpacking with *", "Await": "await",
               "Yield": "yield", "YieldFrom": "yield", "BitAnd": "The & operator (write 'and')",
               "BitOr": "The | operator (write 'or')", "BitXor": "The ^ operator", "Invert": "The ~ operator",
               "LShift": "The << operator", "RShift": "The >> operator", "MatMult": "The @ operator"}


class ExpressionError(Exception):
    """An expression that is unsafe, malformed, or failed while evaluating."""

    def __init__(self, message: str, expression: str = "", line: int | None = None):
        super().__init__(message)
        self.message = message
        self.expression = shortened(expression)  # quoted back in deploy problems: never megabytes
        self.line = line


def shortened(text: str, most: int = 200) -> str:
    return text if len(text) <= most else f"{text[:most]}…"


