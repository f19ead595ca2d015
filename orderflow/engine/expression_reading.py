"""Reading an expression or a script: bounded before parsing (length, nesting) and vetted after
(allowed constructs, names, methods, functions, node count and depth)."""
from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from functools import lru_cache, partial
from typing import Any

from orderflow.core.i18n import Msg
from orderflow.engine import linear_re
from orderflow.engine.expression_functions import FUNCTIONS
from orderflow.engine.expression_limits import (
    ALLOWED_NODES,
    CONSTRUCTS,
    INT_BITS,
    MAX_DEPTH,
    MAX_EXPRESSION_CHARS,
    MAX_NESTING,
    MAX_NODES,
    MAX_SCRIPT_CHARS,
    SAFE_METHODS,
    TOO_DEEP,
    TOO_LARGE,
    ExpressionError,
)
from orderflow.engine.iso_literal import is_iso

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
            raise ExpressionError(TOO_DEEP, text)


def compile_expression(expression: str) -> ast.Expression:
    """Parse and vet one expression; cached because diagrams repeat the same few."""
    text = expression.strip()
    # the big cache holds the usual short expressions; long ones get a few slots (trees are large)
    return _compile_short(text) if len(text) <= 300 else _compile_long(text)


def _compile(text: str) -> ast.Expression:
    if not text:
        raise ExpressionError(Msg("The expression is empty."), text)
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(Msg("The expression is longer than %(most)s characters; split it into script lines.",
                                  most=format(MAX_EXPRESSION_CHARS, ",")), text)
    _check_nesting(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(_unreadable(text, exc), text) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(TOO_DEEP, text) from None
    except ValueError:  # NUL characters, unpaired surrogates
        raise ExpressionError(Msg("The expression contains characters that cannot be read "
                                  "(NUL or unpaired surrogates)."), text) from None
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
            raise ExpressionError(Msg("The expression is too long (over %(most)s parts); "
                                      "split it into script lines.", most=format(MAX_NODES, ",")), text)
        if depth > MAX_DEPTH:
            raise ExpressionError(Msg("The expression is nested too deeply (over %(most)s levels); "
                                      "split it into script lines.", most=MAX_DEPTH), text)
        if isinstance(node, ast.Call):
            called.add(id(node.func))  # the parent is vetted before its children
        _vet_node(node, node_called=id(node) in called, text=text)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _vet_node(node: ast.AST, node_called: bool, text: str) -> None:
    if not isinstance(node, ALLOWED_NODES):
        kind = type(node).__name__
        if kind in CONSTRUCTS:
            raise ExpressionError(Msg("%(construct)s (%(kind)s) is not allowed in an expression.",
                                      construct=CONSTRUCTS[kind], kind=kind), text)
        raise ExpressionError(Msg("This construct (%(kind)s) is not allowed in an expression.", kind=kind), text)
    if isinstance(node, ast.Constant):
        _vet_constant(node.value, text)
    if isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in {"self", "globals", "locals"}):
        raise ExpressionError(Msg("The name '%(name)s' is not allowed.", name=node.id), text)
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(Msg("'.%(name)s' is not allowed.", name=node.attr), text)
    if isinstance(node, ast.Attribute) and node_called and node.attr not in SAFE_METHODS:
        raise ExpressionError(Msg(
            "'.%(name)s()' is not allowed; only %(methods)s may be called "
            "after a dot (a plain '.%(name)s' reads that field of a record).",
            name=node.attr, methods=", ".join(sorted(SAFE_METHODS))), text)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id not in FUNCTIONS:
            raise ExpressionError(Msg("The function '%(name)s' is not available; use one of: %(functions)s.",
                                      name=func.id, functions=", ".join(sorted(FUNCTIONS))), text)
        if not isinstance(func, (ast.Name, ast.Attribute)):
            raise ExpressionError(Msg("Only named functions may be called."), text)


def _vet_constant(value: Any, text: str) -> None:
    if isinstance(value, int) and value.bit_length() > INT_BITS:
        raise ExpressionError(TOO_LARGE, text)
    if isinstance(value, complex):
        raise ExpressionError(Msg("Imaginary numbers (such as 2j) are not allowed."), text)
    if isinstance(value, bytes):
        raise ExpressionError(Msg("Byte strings (b'...') are not allowed; write text in quotes."), text)


# what other languages' expressions look like, so the refusal says which language it saw
_JAVASCRIPT = linear_re.compile(r"===|!==|&&|\|\||;\s*$|^\s*(?:var|let|const|function)\b|\bnew\s+[A-Z]|=>")


def _looks_like_javascript(text: str) -> bool:
    try:
        return _JAVASCRIPT.search(text) is not None
    except UnicodeError:
        return False


def _unreadable(text: str, exc: SyntaxError) -> Msg:
    """Why an expression does not parse, in words (never Python's own SyntaxError text)."""
    fixed = _did_you_mean(text)
    hint: str = ""
    if fixed is not None:  # the hint carries its own leading space, so a translation may leave it out
        hint = Msg(" Did you mean: %(expression)s (%(reasons)s)", expression=fixed[0], reasons=fixed[1])
    if _looks_like_javascript(text):
        return Msg("JavaScript is not supported: write the expression in the engine's language, e.g. "
                   "amount > 1000 and approved (and/or/not, ==, no semicolons).%(hint)s", hint=hint)
    if "too many nested" in (exc.msg or "") or "too complex" in (exc.msg or ""):
        return TOO_DEEP
    if "never closed" in (exc.msg or "") or "unmatched" in (exc.msg or "") or "does not match" in (exc.msg or ""):
        return Msg("The brackets do not match (near character %(at)s).", at=exc.offset or 1)
    if fixed is not None:
        return Msg("This is not a valid expression (near character %(at)s).%(hint)s", at=exc.offset or 1, hint=hint)
    return Msg("This is not a valid expression (near character %(at)s): e.g. amount > 1000 and approved.",
               at=exc.offset or 1)


# common slips from other languages: (what to write instead, why), tried in order on the text outside quotes
_SLIPS = (("===", "==", Msg("== compares")), ("!==", "!=", Msg("!= compares")),
          ("<>", "!=", Msg("!= means 'is not'")), ("&&", " and ", Msg("write and")), ("||", " or ", Msg("write or")))
_LONE_EQUALS = Msg("== compares; a single = only sets a value in a script line")
_BANG = Msg("write not")


def _did_you_mean(text: str) -> tuple[str, Msg] | None:
    """A corrected expression for a common slip (= for ==, &&, ||, !, <>, ===), when it then parses."""
    if len(text) > 2_000:
        return None
    candidate, reasons = text, list[Msg]()
    for slip, fix, why in _SLIPS:
        replaced = _outside_quotes(candidate, partial(_swap, slip=slip, fix=fix))
        if replaced != candidate:
            candidate, reasons = replaced, [*reasons, why]
    replaced = _outside_quotes(candidate, _lone_equals)
    if replaced != candidate:
        candidate, reasons = replaced, [*reasons, _LONE_EQUALS]
    replaced = _outside_quotes(candidate, _bang)
    if replaced != candidate:
        candidate, reasons = replaced, [*reasons, _BANG]
    candidate = " ".join(candidate.split())
    if not reasons or candidate == text:
        return None
    try:
        ast.parse(candidate, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return candidate, _listed(reasons)


def _listed(reasons: list[Msg]) -> Msg:
    """The reasons one after another, "a; b; c", each translated and the separator too."""
    joined = reasons[0]
    for reason in reasons[1:]:
        joined = Msg("%(first)s; %(second)s", first=joined, second=reason)
    return joined


def _outside_quotes(text: str, change: Callable[[str], str]) -> str:
    """``change`` applied to the parts of ``text`` outside '...' and "..." (quotes kept as written)."""
    parts, start, quote = [], 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                parts.append(text[start:i + 1])
                start, quote = i + 1, ""
        elif ch in "'\"":
            parts.append(change(text[start:i]))
            start, quote = i, ch
    parts.append(text[start:] if quote else change(text[start:]))
    return "".join(parts)


def _swap(part: str, slip: str, fix: str) -> str:
    return part.replace(slip, fix)


def _lone_equals(part: str) -> str:
    out = []
    for i, ch in enumerate(part):
        lone = ch == "=" and (i == 0 or part[i - 1] not in "=!<>") and (i + 1 == len(part) or part[i + 1] != "=")
        out.append("==" if lone else ch)
    return "".join(out)


def _bang(part: str) -> str:
    out = []
    for i, ch in enumerate(part):
        out.append(" not " if ch == "!" and (i + 1 == len(part) or part[i + 1] != "=") else ch)
    return "".join(out)


def check_expression(expression: str) -> None:
    """Raise ExpressionError if the expression would be refused at run time."""
    if is_iso(expression.strip()):
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
        raise ExpressionError(Msg("The script is longer than %(most)s characters; split it into several script tasks.",
                                  most=format(MAX_SCRIPT_CHARS, ",")), script)
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
                Msg("A script line must read 'name = expression' (no statements, loops or imports)."),
                line, number)
        name, expression = match.group(1), match.group(2).strip()
        try:
            assignments.append((number, name, compile_expression(expression)))
        except ExpressionError as exc:
            raise ExpressionError(exc.message, line, number) from None
    return tuple(assignments)


_parse_short = lru_cache(maxsize=1024)(_parse)
_parse_long = lru_cache(maxsize=8)(_parse)


