"""A form's ``$ref`` resolves only inside the form itself: never over the network, never from files.

``safe_validator`` is the one way a form schema becomes a validator (orderflow/workflow/forms.py);
its registry's ``retrieve`` refuses every URI it does not already hold, so a ``$ref`` to
``http://...`` or ``file:///...`` fails at once, without a connection or a file read.
``refs_outside`` finds such refs in a form, so deploy and the form editor refuse them
with the form and the ref named.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from orderflow.core.i18n import Msg
from orderflow.engine import linear_re
from orderflow.engine.model import ElementInfo, Problem

REF_KEYWORDS = ("$ref", "$dynamicRef")
NOT_SCHEMA = frozenset({"ui", "rules"})  # the form's own sections, not JSON Schema

__all__ = ["REF_KEYWORDS", "Unresolvable", "lint_problems", "refs_outside", "safe_validator"]


def _refuse(uri: str) -> NoReturn:
    raise NoSuchResource(uri)  # its field ``ref``, given by position: see below


# referencing marks its attrs classes with a pre-PEP 681 decorator that mypy does not read, so it
# sees none of their fields (``retrieve`` here)
_NO_REACH = Registry(retrieve=_refuse)  # type: ignore[call-arg]


def _unusable(pattern: str, exc: linear_re.RegexError) -> ValidationError:
    # a form deployed before patterns were checked: the field cannot be filled, never a 500
    return ValidationError(f"The form's pattern {pattern[:80]!r} cannot be used: {exc}", validator="pattern")


def _pattern(validator, pattern, instance, schema):
    """jsonschema's ``pattern`` (search, strings only), run by RE2: linear in the text typed."""
    if not validator.is_type(instance, "string"):
        return
    try:
        found = linear_re.compile(pattern).search(instance)
    except linear_re.RegexError as exc:
        yield _unusable(pattern, exc)
        return
    if not found:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    """jsonschema's ``patternProperties`` with RE2 matching each key (search)."""
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        try:
            regex = linear_re.compile(pattern)
        except linear_re.RegexError as exc:
            yield _unusable(pattern, exc)
            continue
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


# every form submission runs this class: a sales user's typing never meets a backtracking regex
_LinearValidator = validators.extend(
    Draft202012Validator, validators={"pattern": _pattern, "patternProperties": _pattern_properties})


def _is_regex(instance: object) -> bool:
    """``format: regex`` as RE2 reads it (re.compile of '(' * 5000 raised RecursionError: a 500)."""
    if isinstance(instance, str):
        linear_re.compile(instance)
    return True


_FORMATS: dict[FormatChecker, FormatChecker] = {}


def _linear_formats(checker: FormatChecker | None) -> FormatChecker | None:
    """``checker`` with its ``regex`` format checked by RE2, the engine a pattern runs on."""
    if checker is None or "regex" not in checker.checkers:
        return checker
    if checker not in _FORMATS:
        linear = FormatChecker(())
        linear.checkers = {**checker.checkers, "regex": (_is_regex, linear_re.RegexError)}
        _FORMATS[checker] = linear
    return _FORMATS[checker]


def safe_validator(schema: Mapping[str, Any], **kwargs: Any) -> Draft202012Validator:
    """A 2020-12 validator whose ``$ref``s resolve only within ``schema`` (and the meta-schemas)
    and whose ``pattern``/``patternProperties``/``format: regex`` run in linear time (RE2)."""
    if "format_checker" in kwargs:
        kwargs["format_checker"] = _linear_formats(kwargs["format_checker"])
    return _LinearValidator(schema, registry=_NO_REACH, **kwargs)


def _walk(node: Any, path: tuple) -> Iterator[tuple[str, tuple]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in REF_KEYWORDS and isinstance(value, str):
                yield value, path + (key,)
            elif not (not path and key in NOT_SCHEMA):
                yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, path + (index,))


def refs_outside(schema: Any) -> list[tuple[str, tuple]]:
    """(ref, JSON path) of every ``$ref``/``$dynamicRef`` that points outside the form: only
    ``#...`` (a part of this form) is allowed."""
    return [(ref, path) for ref, path in _walk(schema, ()) if not ref.startswith("#")]


def lint_problems(info: ElementInfo, form_key: str, schema: Any, file: str | None) -> list[Problem]:
    """Deploy refuses a form that refers outside itself (engine/lint.py)."""
    return [Problem(Msg("The form '%(key)s' refers to '%(ref)s' (%(path)s): a form may only "
                        "refer to its own parts ($ref starting with #); it is never fetched from a network "
                        "or a file.", key=form_key, ref=ref, path=".".join(map(str, path))),
                    info.element_id, info.line, file)
            for ref, path in refs_outside(schema)]
