"""SpiffWorkflow's parser messages, said in words a process owner can act on.

The parser's ``ValidationException`` texts embed Python reprs (``<Element … at 0x…>``) or
describe its own internals ("we found two items, perhaps a form has the same ID?"), and a
parser bug surfaces as a ``TypeError``. Each known message is rewritten here; anything else
loses its reprs and, for a raw exception, is replaced by a sentence naming the element.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

from orderflow.engine import linear_re

# parser messages quote uploaded text: every pattern here runs on RE2 (linear time)
_REPR = linear_re.compile(r"<(?:Element )?\{[^}]*\}(\w+)(?: at 0x[0-9a-f]+)?>|<[\w.]+ object at 0x[0-9a-f]+>")

# (pattern on the parser's message, words; {0}… are the pattern's groups)
_KNOWN: list[tuple[Any, str]] = [(linear_re.compile("(?s)" + p), w) for p, w in [
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
    (r"^The process '([^']*)' was not found", "The process '{0}' was not found: it is neither in the upload nor "
     "deployed (check the calledElement id)."),
    (r"^(\w+) identifier is missing from bpmn xml", "A {0!l} definition has no id: give it one in the modeler."),
    (r"^Invalid Script Task", "This script task has no script: write 'name = expression' lines or make it a task."),
    (r"^Malformed Output Expression '([^']*)'", "The decision table output '{0}' is not a valid expression."),
    (r"^Unknown type in decision table: '?\{?[^}']*\}?(\w+)'?", "The decision table holds a <{0}>, which the engine "
     "does not know."),
    (r"^A Service Task must have an operator", "This service task names no handler (serviceTaskOperator, or a "
     "Camunda external task's topic)."),
    (r"^A SubWorkflow Must contain an End event", "The sub-process has no end event: add one."),
    (r"^Multiple decision tables are not current", "A decision with several decision tables is not supported."),
    (r"^No \"calledElement\" attribute", "This call activity names no process to call (calledElement)."),
    (r"^Non-default exclusive outgoing sequence flow without condition", "An outgoing flow of this exclusive gateway "
     "has no condition and is not the default: give it a condition or make it the default flow."),
    (r"^Correlation is missing correlation property retrieval expressions: (.*)", "The correlation property '{0}' "
     "says nowhere where a message carries its value (retrieval expression)."),
    (r"^Could not find messageRef from message event definition: (.*)", "The event names the message '{0}', which "
     "the file does not define."),
    (r"^Message identifier is missing from correlation property: (.*)", "The correlation property '{0}' names no "
     "message."),
    (r"^Duplicate process ID: (.*)", "Two processes have the id '{0}': process ids must be unique in an upload."),
    (r"^Exactly one start event is required in a SubWorkflow Task; found (\d+)", "A sub-process needs exactly one "
     "start event; this one has {0}."),
    (r"^A loopMaximum or loopCondition must be specified", "A loop needs a loop condition or a maximum number of "
     "loops."),
    (r"^Expected an? (\w+) node", "The event refers to something that is not the {0!l} it should name."),
    (r"^\w+(?:Error|Exception)\(", "The decision table could not be read: check its inputs, outputs and rules."),
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
