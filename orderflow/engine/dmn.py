"""DMN decision tables: the FEEL a modeler writes in cells, checked and rewritten before parsing.

SpiffWorkflow evaluates every DMN cell as an expression of the script engine (ours: the
safe expression language). Camunda's modeler writes FEEL unary tests — ``"A","B"``,
``[1..10]``, ``not("X")``, ``true`` — so those are rewritten into expressions here, each
cell is vetted like any other expression, and what cannot run (a DRG with several
decisions, hit policies the engine lacks) is refused with the rule or table it concerns.
"""
from __future__ import annotations

from lxml import etree

from orderflow.core.i18n import Msg
from orderflow.engine.expressions import ExpressionError, check_expression
from orderflow.engine.model import Problem
from orderflow.engine.xmlinfo import local

_SUPPORTED_POLICIES = {"UNIQUE", "FIRST", "COLLECT"}
_FEEL_WORDS = {"true": "True", "false": "False", "null": "None"}


def _split_list(text: str) -> list[str]:
    """Split ``"a","b",3`` on commas outside quotes."""
    parts, current, quote = [], "", None
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current += ch
        elif ch == ",":
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts


def _range(value: str) -> tuple[str, str, str, str] | None:
    """``[1..10]``, ``]1..10[`` as (opening bracket, low, high, closing bracket), or None.

    Read by hand: the regex it replaces (``\\s*(.+?)\\s*\\.\\.``) backtracked for minutes over a
    cell of a few hundred spaces."""
    if len(value) < 2 or value[0] not in "[]" or value[-1] not in "[]" or "\n" in value:
        return None
    inner = value[1:-1]
    first = len(inner) - len(inner.lstrip())  # the low end starts here and holds one character at least
    dots = inner.find("..", first + 1)
    if first >= len(inner) or dots < 0:
        return None
    low, high = inner[:dots].strip(), inner[dots + 2:].strip()
    return (value[0], low, high, value[-1]) if high else None


def _negated(value: str) -> str | None:
    """The inside of ``not(...)``, or None."""
    rest = value[3:].lstrip() if value.startswith("not") else ""
    return rest[1:-1] if rest.startswith("(") and rest.endswith(")") and len(rest) >= 2 else None


def _literal(value: str) -> str:
    return _FEEL_WORDS.get(value.strip(), value.strip())


def unary_test(text: str) -> str:
    """A FEEL unary test as the engine's match expression; ``?`` stands for the input value.

    Every test is written with ``?`` so SpiffWorkflow never has to guess whether to add ``==``.
    """
    value = text.strip()
    if value in {"", "-"} or "?" in value:
        return "" if value == "-" else value
    negate = False
    inside = _negated(value)
    if inside is not None:
        negate, value = True, inside.strip()
    ranged = _range(value)
    items = _split_list(value)
    if ranged:
        low_open, low, high, high_close = ranged
        test = (f"{_literal(low)} {'<' if low_open == ']' else '<='} ? "
                f"{'<' if high_close == '[' else '<='} {_literal(high)}")
    elif len(items) > 1:
        test = f"? in ({', '.join(_literal(i) for i in items)},)"
    elif value.startswith(("<", ">", "==", "!=")):
        test = f"? {value}"
    else:
        test = f"? == ({_literal(value)})"
    return f"not ({test})" if negate else test


def rewrite(root: etree._Element, file: str | None) -> list[Problem]:
    """Rewrite FEEL cells in place; return what cannot run, pointing at the rule or table."""
    problems: list[Problem] = []
    decisions = [el for el in root if local(el) == "decision"]
    if len(decisions) > 1:
        return [Problem(Msg("This DMN file holds %(count)s decisions (a decision requirements graph); only "
                            "single-decision tables run here. Put each decision in its own file.",
                            count=len(decisions)), decisions[1].get("id"), decisions[1].sourceline, file)]
    for table in root.iter():
        if local(table) != "decisionTable":
            continue
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy not in _SUPPORTED_POLICIES or table.get("aggregation"):
            aggregation = table.get("aggregation")
            written = f"{policy} {aggregation}" if aggregation else policy
            problems.append(Problem(Msg(
                "The hit policy '%(policy)s' is not supported; use UNIQUE, FIRST or COLLECT (without aggregation).",
                policy=written),
                table.get("id"), table.sourceline, file))
        for el in table.iter():
            tag = local(el)
            text_el = el.find("{*}text")
            if tag not in {"inputExpression", "inputEntry", "outputEntry"} or text_el is None:
                continue
            raw = text_el.text or ""
            if tag == "inputEntry":
                rewritten = unary_test(raw)
                probe = rewritten.replace("?", "v")
            else:
                rewritten = _literal(raw) if raw.strip() else raw
                probe = rewritten
            text_el.text = rewritten or None
            if not rewritten.strip():
                continue
            try:
                check_expression(probe)
            except ExpressionError as exc:
                owner = el.getparent()
                problems.append(Problem(Msg("DMN cell '%(cell)s': %(reason)s", cell=raw.strip(), reason=exc.message),
                                        owner.get("id") if owner is not None else None, el.sourceline, file))
    return problems
