"""Helping a process owner write a condition: the names a process's scripts and service calls set,
the names a condition uses that nothing sets (with the closest known one), and the condition read
out in plain words ("Decision is “Approve” and Amount is more than 100,000"), in English or Chinese.

Only text that ``check_expression`` accepted comes here: its length, nesting and node count are
bounded already. Forms are read by the caller (workflow/process_fields.py): the engine knows the
diagram, the service knows the forms.
"""
from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping
from typing import Any

from orderflow.engine.expression_functions import FUNCTIONS
from orderflow.engine.expression_limits import MAX_SCRIPT_CHARS
from orderflow.engine.xmlinfo import NS, process_element

_B, _S = f"{{{NS['bpmn']}}}", f"{{{NS['spiff']}}}"

WORDS = {
    "en": {ast.Eq: "is", ast.NotEq: "is not", ast.Gt: "is more than", ast.GtE: "is at least", ast.Lt: "is less than",
           ast.LtE: "is at most", ast.In: "is one of", ast.NotIn: "is not one of", "none": "is empty",
           "some": "is filled in", ast.And: "and", ast.Or: "or", "not": "not", True: "yes", False: "no",
           None: "empty", "quote": "“{}”", "group": "({})"},
    "zh": {ast.Eq: "等于", ast.NotEq: "不等于", ast.Gt: "大于", ast.GtE: "不少于", ast.Lt: "小于", ast.LtE: "不超过",
           ast.In: "属于", ast.NotIn: "不属于", "none": "为空", "some": "已填写", ast.And: "并且", ast.Or: "或者",
           "not": "并非", True: "是", False: "否", None: "空", "quote": "“{}”", "group": "（{}）"},
}


def assigned_names(sources: Mapping[str, str], key: str) -> dict[str, str]:
    """Names the process's scripts assign and its service calls store (``resultVariable``): name -> element."""
    found: dict[str, str] = {}
    process = process_element(sources, key)   # a draft that does not parse has no names to offer
    for element in process.iter() if process is not None else ():
        if element.tag in (f"{_B}script", f"{_S}preScript", f"{_S}postScript"):
            for name in _script_targets(element.text or ""):
                found.setdefault(name, _element_of(element))
        elif element.get("resultVariable"):
            found.setdefault(element.get("resultVariable"), _element_of(element))
    return found


def _element_of(node: Any) -> str:
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node.get("id") if node is not None else ""


def _script_targets(script: str) -> list[str]:
    if len(script) > MAX_SCRIPT_CHARS:
        return []
    try:
        tree = ast.parse(script)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For) else [])
        for target in targets:
            names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


def unknown_names(text: str, known: set[str]) -> list[dict[str, str | None]]:
    """The names ``text`` reads that are neither ``known`` nor a function, each with the closest known one."""
    tree = ast.parse(text.strip(), mode="eval")
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    read = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    unknown = sorted({name for name in read if name not in known and name not in FUNCTIONS and name not in bound})
    return [{"name": name, "suggestion": next(iter(difflib.get_close_matches(name, sorted(known), 1, 0.75)), None)}
            for name in unknown]


def reading(text: str, fields: Mapping[str, Mapping[str, Any]], lang: str = "en") -> str:
    """``text`` in plain words. ``fields``: name -> {title, title_zh, choices: {value: (en, zh)}}."""
    words = WORDS["zh" if lang == "zh" else "en"]
    return _Reader(fields, words, lang == "zh").say(ast.parse(text.strip(), mode="eval").body)


class _Reader:
    def __init__(self, fields: Mapping[str, Mapping[str, Any]], words: dict, chinese: bool) -> None:
        self.fields, self.words, self.chinese = fields, words, chinese

    def say(self, node: ast.AST, field: str | None = None) -> str:
        w = self.words
        if isinstance(node, ast.BoolOp):
            joiner = f" {w[type(node.op)]} "
            return joiner.join(self.part(v) for v in node.values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return f"{w['not']} {w['group'].format(self.say(node.operand))}"
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Constant):
            return self.value(node.value, field)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return ", ".join(self.say(e, field) for e in node.elts)
        return ast.unparse(node)

    def part(self, node: ast.AST) -> str:
        """One side of and/or: a nested and/or in brackets, so the reading keeps its grouping."""
        text = self.say(node)
        return self.words["group"].format(text) if isinstance(node, ast.BoolOp) else text

    def compare(self, node: ast.Compare) -> str:
        w, parts = self.words, [self.say(node.left)]
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            field = left.id if isinstance(left, ast.Name) else None
            if isinstance(op, ast.Is | ast.IsNot) and isinstance(right, ast.Constant) and right.value is None:
                parts.append(w["none" if isinstance(op, ast.Is) else "some"])
            else:
                parts.append(w.get(type(op), ast.unparse(node)))
                parts.append(self.say(right, field))
            left = right
        return " ".join(parts)

    def name(self, name: str) -> str:
        field = self.fields.get(name) or {}
        title = (field.get("title_zh") if self.chinese else None) or field.get("title")
        return title or name

    def value(self, value: Any, field: str | None) -> str:
        if value is None or isinstance(value, bool):
            return self.words[value]
        if isinstance(value, int | float):
            return f"{value:,}"
        choices = (self.fields.get(field or "") or {}).get("choices") or {}
        if isinstance(value, str) and value in choices:
            english, chinese = choices[value]
            value = (chinese if self.chinese else None) or english or value
        return self.words["quote"].format(value)
