"""SpiffWorkflow's parser messages, said in words a process owner can act on.

The parser's ``ValidationException`` texts embed Python reprs (``<Element … at 0x…>``) or
describe its own internals ("we found two items, perhaps a form has the same ID?"), and a
parser bug surfaces as a ``TypeError``. Each known message is rewritten here; anything else
loses its reprs and, for a raw exception, is replaced by a sentence naming the element.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

from orderflow.core.i18n import N_, Msg
from orderflow.engine import linear_re

# parser messages quote uploaded text: every pattern here runs on RE2 (linear time)
_REPR = linear_re.compile(r"<(?:Element )?\{[^}]*\}(\w+)(?: at 0x[0-9a-f]+)?>|<[\w.]+ object at 0x[0-9a-f]+>")

# (pattern on the parser's message, words (a catalog template: %(value)s is the pattern's group,
# lowered where the words say "lower"), whether the value is lowered)
_KNOWN: list[tuple[Any, str, bool]] = [(linear_re.compile("(?s)" + p), w, low) for p, w, low in [
    (r"^When looking for a task spec, we found two items.*\((.*)\)$",
     N_("A sequence flow leads to '%(value)s', which is not an element of this process (or two elements share "
        "that id)."), False),
    (r"^No start event found", N_("The process has no start event: add one where it begins."), False),
    (r"^Time Specification Error", N_("The timer has no valid date, duration or cycle (e.g. PT2H, P3D, R3/PT10M)."),
     False),
    (r"^Conditional event definition with missing condition", N_("The conditional event has no condition: write "
                                                                 "one."), False),
    (r"^There is no support implemented for this task type", N_("This kind of element is not supported by the "
                                                                "engine."), False),
    (r"^A multiinstance task must specify a cardinality or a (?:collection|loop input data reference)",
     N_("The multi-instance task says neither how many times to run (loop cardinality) nor over which list "
        "(loop data input / camunda:collection)."), False),
    (r"^Process (\S+?)\.? is not executable", N_("The process '%(value)s' is not executable: set "
                                                 "isExecutable=\"true\"."), False),
    (r"^The process '([^']*)' was not found", N_("The process '%(value)s' was not found: it is neither in the upload "
                                                 "nor deployed (check the calledElement id)."), False),
    (r"^(\w+) identifier is missing from bpmn xml", N_("A %(value)s definition has no id: give it one in the "
                                                      "modeler."), True),
    (r"^Invalid Script Task", N_("This script task has no script: write 'name = expression' lines or make it a "
                                 "task."), False),
    (r"^Malformed Output Expression '([^']*)'", N_("The decision table output '%(value)s' is not a valid "
                                                   "expression."), False),
    (r"^Unknown type in decision table: '?\{?[^}']*\}?(\w+)'?", N_("The decision table holds a <%(value)s>, which "
                                                                  "the engine does not know."), False),
    (r"^A Service Task must have an operator", N_("This service task names no handler (serviceTaskOperator, or a "
                                                  "Camunda external task's topic)."), False),
    (r"^A SubWorkflow Must contain an End event", N_("The sub-process has no end event: add one."), False),
    (r"^Multiple decision tables are not current", N_("A decision with several decision tables is not supported."),
     False),
    (r"^No \"calledElement\" attribute", N_("This call activity names no process to call (calledElement)."), False),
    (r"^Non-default exclusive outgoing sequence flow without condition", N_(
        "An outgoing flow of this exclusive gateway has no condition and is not the default: give it a condition "
        "or make it the default flow."), False),
    (r"^Correlation is missing correlation property retrieval expressions: (.*)", N_(
        "The correlation property '%(value)s' says nowhere where a message carries its value (retrieval "
        "expression)."), False),
    (r"^Could not find messageRef from message event definition: (.*)", N_(
        "The event names the message '%(value)s', which the file does not define."), False),
    (r"^Message identifier is missing from correlation property: (.*)", N_(
        "The correlation property '%(value)s' names no message."), False),
    (r"^Duplicate process ID: (.*)", N_("Two processes have the id '%(value)s': process ids must be unique in an "
                                        "upload."), False),
    (r"^Exactly one start event is required in a SubWorkflow Task; found (\d+)", N_(
        "A sub-process needs exactly one start event; this one has %(value)s."), False),
    (r"^A loopMaximum or loopCondition must be specified", N_("A loop needs a loop condition or a maximum number of "
                                                              "loops."), False),
    (r"^Expected an? (\w+) node", N_("The event refers to something that is not the %(value)s it should name."),
     True),
    (r"^\w+(?:Error|Exception)\(", N_("The decision table could not be read: check its inputs, outputs and rules."),
     False),
    (r"^Cannot resolve data(Input|Output)Association", N_(
        "A data %(value)s association names something that is not a data object or data store of this diagram."),
     True),
]]


def plain(message: str) -> Msg:
    """The parser's message in words: known ones rewritten, reprs replaced by the tag's name (an
    unknown message stays in the engine's English, quoted into a sentence that can be translated)."""
    text = message.strip()
    for pattern, words, lower in _KNOWN:
        found = pattern.search(text)
        if found:
            value = found.group(1) if found.groups() else None
            return Msg(words, value=(value or "").lower() if lower else value or "") if "%(value)s" in words \
                else Msg(words)
    text = _REPR.sub(lambda m: f"<{m.group(1)}>" if m.group(1) else "", text)
    text = text.rstrip(" .")
    if not text:
        return Msg("The diagram could not be read.")
    return Msg("%(text)s", text=text if text.endswith(("?", "!")) else text + ".")


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


def crash_words(exc: BaseException) -> tuple[Msg, str | None, int | None]:
    """(message, element id, line) for a parser failure that is not a validation message:
    the element it was reading and what it is, never the exception's own text."""
    node = failing_node(exc)
    if node is None:
        return (Msg("The diagram could not be read: an element is not as BPMN describes it. Open it in the modeler "
                    "and check the references between elements (messages, errors, signals, data)."), None, None)
    tag = etree.QName(node).localname
    return (Msg("The %(tag)s '%(id)s' could not be read: check what it refers to (its message, error, signal, "
                "escalation, data or called element must exist in the diagram).", tag=tag, id=node.get("id") or ""),
            node.get("id"), node.sourceline)
