"""SpiffWorkflow's parser messages, said in words a process owner can act on.

The parser's ``ValidationException`` texts embed Python reprs (``<Element … at 0x…>``) or
describe its own internals ("we found two items, perhaps a form has the same ID?"), and a
parser bug surfaces as a ``TypeError``. Each known message is rewritten here; anything else
loses its reprs and, for a raw exception, is replaced by a sentence naming the element.
"""
from __future__ import annotations

import re
from typing import Any

from lxml import etree

_REPR = re.compile(r"<(?:Element )?\{[^}]*\}(\w+)(?: at 0x[0-9a-f]+)?>|<[\w.]+ object at 0x[0-9a-f]+>")

# (pattern on the parser's message, words; {0}… are the pattern's groups)
_KNOWN: list[tuple[re.Pattern, str]] = [(re.compile(p, re.S), w) for p, w in [
    (r"^When looking for a task spec, we found two items.*\((.*)\)$",
     "A sequence flow leads to '{0}', which is not an element of this process (or two elements share that id)."),
    (r"^No start event found", "The process has no start event: add one where it begins."),
    (r"^Time Specification Error", "The timer has no valid date, duration or cycle (e.g. PT2H, P3D, R3/PT10M)."),
    (r"^Conditional event definition with missing condition", "The conditional event has no condition: write one."),
    (r"^There is no support implemented for this task type", "This kind of element is not supported by the engine."),
    (r"^A multiinstance task must specify a cardinality or a (?:collection|loop input data reference)",
     "The multi-instance task says neither how many times to run (loop cardinality) nor over which list "
     "(loop data input / camunda:collection)."),
    (r"^Process (\S+?)\.? is not executable", "The process '{0}' is not executable: set isExecutable=\"true\"."),
    (r"^Cannot resolve data(Input|Output)Association",
     "A data {0!l} association names something that is not a data object or data store of this diagram."),
]]


def _fill(words: str, groups: tuple[str, ...]) -> str:
    out = words
    for index, value in enumerate(groups):
        out = out.replace(f"{{{index}!l}}", (value or "").lower()).replace(f"{{{index}}}", value or "")
    return out


def plain(message: str) -> str:
    """The parser's message in words: known ones rewritten, reprs replaced by the tag's name."""
    text = message.strip()
    for pattern, words in _KNOWN:
        found = pattern.search(text)
        if found:
            return _fill(words, found.groups())
    text = _REPR.sub(lambda m: f"<{m.group(1)}>" if m.group(1) else "", text)
    text = text.rstrip(" .")
    return (text if text.endswith(("?", "!")) else text + ".") if text else "The diagram could not be read."


def failing_node(exc: BaseException) -> etree._Element | None:
    """The XML element the parser was reading when ``exc`` was raised (innermost frame first)."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        frame_locals: dict[str, Any] = tb.tb_frame.f_locals
        for name in ("node", "element", "el"):
            candidate = frame_locals.get(name)
            if isinstance(candidate, etree._Element) and candidate.get("id"):
                found = candidate
        owner = frame_locals.get("self")
        candidate = getattr(owner, "node", None)
        if isinstance(candidate, etree._Element) and candidate.get("id"):
            found = candidate
        tb = tb.tb_next
    return found


def crash_words(exc: BaseException) -> tuple[str, str | None, int | None]:
    """(message, element id, line) for a parser failure that is not a validation message:
    the element it was reading and what it is, never the exception's own text."""
    node = failing_node(exc)
    if node is None:
        return ("The diagram could not be read: an element is not as BPMN describes it. Open it in the modeler "
                "and check the references between elements (messages, errors, signals, data).", None, None)
    tag = etree.QName(node).localname
    return (f"The {tag} '{node.get('id')}' could not be read: check what it refers to (its message, error, "
            "signal, escalation, data or called element must exist in the diagram).", node.get("id"), node.sourceline)
