"""Deploy-time compilation: hardened parse, SpiffBpmnParser, lint, and a spec cache.

A *bundle* is the set of files deployed together (BPMN, DMN, form JSON). Compiling it
yields one ``ProcessDef`` per executable process, or the list of problems that stop it.
Compiled specs are cached by the sha256 of their sources, so loading an instance never
parses XML twice in a process's life.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from orderflow.core.i18n import Msg
from orderflow.engine import camunda, data_io, dmn, linear_re, lint_refs
from orderflow.engine.form_checks import form_text_problem
from orderflow.engine.lint import lint_process
from orderflow.engine.model import ElementInfo, Problem
from orderflow.engine.problem_words import crash_words, plain
from orderflow.engine.service_tasks import OrderflowParser
from orderflow.engine.xmlinfo import NS, describe_elements, line_of, local, message_keys
from orderflow.engine.xmlsafe import UnsafeXml, parse_xml

FormLoader = Callable[[str], "dict | None"]


@dataclass
class ProcessDef:
    key: str
    name: str
    sha256: str
    sources: dict[str, str]                      # filename -> XML text, all files it needs
    elements: dict[str, ElementInfo]
    forms: dict[str, dict]                       # form key -> JSON Schema
    spec: Any = field(repr=False, default=None)  # BpmnProcessSpec
    subprocess_specs: dict[str, Any] = field(repr=False, default_factory=dict)
    message_keys: dict[str, list[str]] = field(default_factory=dict)  # message -> correlation property ids
    warnings: list[Problem] = field(default_factory=list)             # shown at deploy, not blocking

    @property
    def start(self) -> ElementInfo | None:
        starts = [e for e in self.elements.values() if e.kind == "startEvent" and e.form_key is not None]
        plain = [e for e in self.elements.values() if e.kind == "startEvent"]
        return next(iter(starts or plain), None)


class DeployRejected(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems[:3]))
        self.problems = problems


_QUOTED = linear_re.compile(r"""['"]([^'"]{1,200})['"]""")  # over parser messages quoting uploads
_NAMED = linear_re.compile(r"name (\w+)")
PROCESS_ID = re.compile(r"[^\W\d][\w.\-]{0,199}\Z")


def sources_sha(sources: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    return digest.hexdigest()


def _spiff_problem(exc: Exception, roots: dict[str, etree._Element]) -> Problem:
    element_id = getattr(exc, "id", None) or None
    file = getattr(exc, "file_name", None) or None
    line = getattr(exc, "line_number", None) or None
    if element_id and not line:
        for name, root in roots.items():
            found = line_of(root, element_id)
            if found:
                line, file = found, file or name
                break
    message = str(exc.args[0]) if exc.args else ""
    if not element_id:
        element_id, line, file = _locate(message, roots) or (None, line, file)
    return Problem(plain(message), element_id, line if isinstance(line, int) else None, file)


def _crash_problem(exc: Exception, roots: dict[str, etree._Element]) -> Problem:
    """A parser bug (TypeError and the like) as a problem on the element it was reading."""
    message, element_id, line = crash_words(exc)
    file = next((name for name, root in roots.items() if element_id and line_of(root, element_id)), None)
    return Problem(message, element_id, line, file)


def _locate(message: str, roots: dict[str, etree._Element]) -> tuple[str, int, str] | None:
    """The element a parser message is about when it names only a value ("The process 'X' was
    not found" → the call activity calling X)."""
    wanted = {m.group(1) for m in _QUOTED.finditer(message)} | {m.group(1) for m in _NAMED.finditer(message)}
    for name, root in roots.items():
        for el in root.iter():
            if not isinstance(el.tag, str) or not el.get("id"):
                continue
            if any(el.get(attr) in wanted for attr in ("calledElement", "name", "dataStoreRef")) \
                    or _decision_ref(el) in wanted:
                return el.get("id"), el.sourceline, name
    return None


def _decision_ref(el: etree._Element) -> str | None:
    called = el.find("bpmn:extensionElements/spiff:calledDecisionId", NS)
    return called.text.strip() if called is not None and called.text else None


def compile_bundle(files: Mapping[str, bytes | str], handlers: Mapping[str, Any],
                   load_form: FormLoader, lint: bool = True) -> list[ProcessDef]:
    """Parse and lint every file; return the executable processes or raise DeployRejected."""
    with warnings.catch_warnings():
        # SpiffWorkflow 3.2 warns about messageVariable on <bpmn:message>, where it reads it from
        warnings.filterwarnings("ignore", message="spiffworkflow:messagePayload", category=DeprecationWarning)
        return _compile(files, handlers, load_form, lint)


def _compile(files: Mapping[str, bytes | str], handlers: Mapping[str, Any],
             load_form: FormLoader, lint: bool) -> list[ProcessDef]:
    problems: list[Problem] = []
    roots: dict[str, etree._Element] = {}
    texts: dict[str, str] = {}
    bundle_forms: dict[str, dict] = {}
    for name, content in files.items():
        if name.endswith(".json"):
            form_key = name[:-5].rsplit("/", 1)[-1]
            too_much = form_text_problem(content)  # before parsing: every later step recurses
            if too_much:
                problems.append(Problem(Msg("The form '%(key)s' %(problem)s", key=form_key, problem=too_much),
                                        file=name))
                continue
            try:
                bundle_forms[form_key] = json.loads(content)
            except (ValueError, UnicodeDecodeError) as exc:
                problems.append(Problem(Msg("The form is not valid JSON: %(error)s", error=str(exc)), file=name))
            continue
        try:
            roots[name] = parse_xml(content)
            texts[name] = content.decode("utf-8") if isinstance(content, bytes) else content
        except UnsafeXml as exc:
            problems.append(Problem(exc.message, line=exc.line, file=name))
        except UnicodeDecodeError:
            problems.append(Problem(Msg("The file is not UTF-8 text."), file=name))
    if problems:
        raise DeployRejected(problems)
    if not roots:
        raise DeployRejected([Problem(Msg("No BPMN file was uploaded."))])
    generated: dict[str, dict] = {}
    for name, root in roots.items():
        try:
            problems.extend(_rewrite(root, name, generated))
        except Exception as exc:  # a checker's own bug must be a 422 on the element, never a 500
            problems.append(_crash_problem(exc, roots))
    if any(p.severity == "error" for p in problems):
        raise DeployRejected([p for p in problems if p.severity == "error"])

    def find_form(key: str) -> dict | None:
        if key in bundle_forms:
            return bundle_forms[key]
        return generated[key] if key in generated else load_form(key)

    parser = OrderflowParser()
    try:
        for name, root in roots.items():
            if _is_dmn(root):
                parser.add_dmn_xml(root, filename=name)
            elif root.tag == f"{{{NS['bpmn']}}}definitions":
                parser.add_bpmn_xml(root, filename=name)
            else:
                problems.append(Problem(Msg("'%(tag)s' is not a BPMN or DMN document.",
                                            tag=etree.QName(root).localname), file=name))
        if any(p.severity == "error" for p in problems):
            raise DeployRejected([p for p in problems if p.severity == "error"])
        process_ids = parser.get_process_ids()
    except ValidationException as exc:
        raise DeployRejected([_spiff_problem(exc, roots)]) from None
    except (KeyError, AttributeError, TypeError, ValueError, IndexError) as exc:  # the parser's own bugs
        raise DeployRejected([_crash_problem(exc, roots)]) from None
    if not process_ids:
        raise DeployRejected([Problem(Msg("The upload has no executable process (isExecutable=\"true\")."),
                                      file=", ".join(sorted(roots)))])

    bpmn_sources = dict(texts)
    defs: list[ProcessDef] = []
    for key in process_ids:
        root_name, process_el = _find_process(roots, key)
        if not PROCESS_ID.match(key):  # it becomes a URL path, a download's file name and a log field
            problems.append(Problem(Msg("The process id %(id)s may hold only letters, digits, '_', '-' and '.' "
                                        "(at most 200, starting with a letter or '_').", id=repr(key[:100])),
                                    key[:200], process_el.sourceline, root_name))
            continue
        try:
            elements = describe_elements(process_el)
            if lint:
                problems.extend(lint_process(process_el, elements, handlers, find_form, root_name))
            spec = parser.get_spec(key)
            subprocess_specs = parser.get_subprocess_specs(key)
        except (ValidationException, SpiffWorkflowException) as exc:
            problems.append(_spiff_problem(exc, roots))
            continue
        except Exception as exc:  # the parser's own bugs must not become a 500
            problems.append(_crash_problem(exc, roots))
            continue
        elements.update({k: v for k, v in _called_elements(roots, subprocess_specs).items() if k not in elements})
        forms = {e.form_key: find_form(e.form_key) for e in elements.values() if e.form_key}
        # a version holds only the files it runs on, so re-deploying an unchanged called process,
        # alone or beside its caller, hashes the same and stays the same version
        own = _needed_files(roots, root_name, list(subprocess_specs))
        sources = {n: t for n, t in bpmn_sources.items() if n in own}
        defs.append(ProcessDef(
            key=key, name=process_el.get("name") or key, sha256=sources_sha(sources),
            sources=sources, elements=elements,
            forms={k: v for k, v in forms.items() if v is not None},
            spec=spec, subprocess_specs=subprocess_specs, message_keys=message_keys(roots[root_name]),
        ))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DeployRejected(errors)
    for pdef in defs:
        pdef.warnings = [p for p in problems if p.severity != "error"]
    return defs


def _rewrite(root: etree._Element, name: str, generated: dict[str, dict]) -> list[Problem]:
    """One file's checks and rewrites before parsing (DMN cells; references, Camunda, data mappings)."""
    if _is_dmn(root):
        return dmn.rewrite(root, name)
    problems = lint_refs.check(root, name)
    for rewrite in (camunda.rewrite, data_io.rewrite):
        found, forms = rewrite(root, name)
        problems += found
        generated.update(forms)
    return problems


def _needed_files(roots: dict[str, etree._Element], main: str, called: list[str]) -> set[str]:
    """The file defining the process, those defining the processes it calls (at any depth) and the
    DMN files defining the decisions any of them call."""
    needed = {main}
    for name in called:
        for file, root in roots.items():
            if any(p.get("id") == name for p in root.iter(f"{{{NS['bpmn']}}}process")):
                needed.add(file)
    decisions = {el.text.strip() for file in needed for el in roots[file].iter(f"{{{NS['spiff']}}}calledDecisionId")
                 if el.text and el.text.strip()}
    for file, root in roots.items():
        if _is_dmn(root) and any(local(el) == "decision" and el.get("id") in decisions for el in root.iter()):
            needed.add(file)
    return needed


def _is_dmn(root: etree._Element) -> bool:
    return root.tag == f"{{{NS['dmn']}}}definitions" or "dmn" in (root.nsmap.get(None) or "").lower()


def _called_elements(roots: dict[str, etree._Element], called: Mapping[str, Any]) -> dict[str, ElementInfo]:
    """The elements of the processes a process calls, but their start events (the caller starts
    through its own): their user tasks run inside its instances and need their groups, forms and
    time limits there too. The caller's own ids win a clash."""
    found: dict[str, ElementInfo] = {}
    for key in called:
        try:
            _, process_el = _find_process(roots, key)
        except KeyError:
            continue
        for element_id, info in describe_elements(process_el).items():
            if info.kind != "startEvent":
                found.setdefault(element_id, info)
    return found


def _find_process(roots: dict[str, etree._Element], key: str) -> tuple[str, etree._Element]:
    for name, root in roots.items():
        for process in root.iter(f"{{{NS['bpmn']}}}process"):
            if process.get("id") == key:
                return name, process
    raise KeyError(key)


class Kept:
    """A few decoded values by key, the least recently used dropped first (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._limit = limit

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Any) -> Any:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return value


class SpecCache:
    """Compiled process definitions by (key, sha256); a deploy or a cold load fills it. Beside them,
    each stored version's decoded forms (``definitions.forms_of``), for the versions in use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._defs: dict[tuple[str, str], ProcessDef] = {}
        self.version_forms = Kept(64)

    def put(self, pdef: ProcessDef) -> None:
        with self._lock:
            self._defs[(pdef.key, pdef.sha256)] = pdef

    def get(self, key: str, sha256: str, sources: Callable[[], dict[str, str]],
            forms: Callable[[], dict[str, dict]], handlers: Mapping[str, Any]) -> ProcessDef:
        found = self._defs.get((key, sha256))
        if found is not None:
            return found
        stored_forms = forms()
        defs = compile_bundle(sources(), handlers, lambda k: stored_forms.get(k), lint=False)
        for pdef in defs:
            pdef.forms = {**stored_forms, **pdef.forms}
            self.put(pdef)
            if pdef.key == key:  # a version stored before versions kept only their own files hashed them all
                with self._lock:
                    self._defs[(key, sha256)] = pdef
        return self._defs[(key, sha256)]

