"""Why a step could not use the order's data, in words naming the data field.

SpiffWorkflow reports data problems in its own terms ("Missing data input", "A data object
could not be set; 'x' not exist in the task") or, for a multi-instance whose count is not a
number, as a bare TypeError (or a NameError from a typo in 3.2's own code). The run-time
error (a 409 naming the element) carries this sentence instead, so the person starting or
completing the step knows which field to give or fix.
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException

from orderflow.engine import linear_re

# over an engine message that quotes order data: linear time (RE2)
_DATA_OBJECT = linear_re.compile(r"(?i)data object could not be (?:set|read|retrieved)\W+'([^']+)'")


def _id(spec: Any) -> str | None:
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)


def explain(exc: BaseException, task: Any) -> str | None:
    """Words for a data failure of ``task``'s step, or None when it is not about data."""
    text = str(exc.args[0]) if exc.args else ""
    if isinstance(exc, WorkflowDataException):
        found = _data_words(text, _id(exc.data_input), _id(exc.data_output))
        if found:
            return found
    found = _DATA_OBJECT.search(text)
    if found:
        return (f"the step writes the data object '{found.group(1)}', but the order's data has no "
                f"'{found.group(1)}' to copy into it")
    spec = getattr(task, "task_spec", None)
    if spec is not None and hasattr(spec, "cardinality") and isinstance(exc, (TypeError, ValueError, NameError)):
        return _multi_instance_words(spec)
    if isinstance(exc, (TypeError, ValueError, KeyError, IndexError, AttributeError, NameError)):
        return "the engine could not run this step with the order's data as it is (a value of an unexpected type?)"
    return None


def _data_words(text: str, data_input: str | None, data_output: str | None) -> str | None:
    lowered = text.lower()
    if "multiinstance" in lowered and "input item" in lowered:
        name = text.split("item", 1)[1].split("already")[0].strip()
        return (f"'{name}' is already in the order's data, but it is the name of each item of this "
                "multi-instance step: give the element variable a name of its own")
    if "missing data input for multiinstance" in lowered:
        return f"the list '{data_input}' this step runs once per item of is not in the order's data"
    if "must be iterable" in lowered:
        return f"'{data_input}' must be a list (or a record) for this step to run once per item"
    if "output" in lowered and ("mutable" in lowered or "must be empty" in lowered or "must be a map" in lowered):
        return (f"'{data_output}', where this multi-instance step collects its results, must be absent, an empty "
                "list or a record")
    if "call activity" in lowered and data_input:
        return f"the called process needs '{data_input}' in the order's data (one of its data inputs)"
    if "subprocess output" in lowered and data_output:
        return f"the called process did not leave '{data_output}' in its data (one of its data outputs)"
    if "missing data input" in lowered and data_input:
        return f"the step needs '{data_input}' in the order's data (one of its data inputs), and it is not there"
    if "missing data ouput" in lowered or "missing data output" in lowered:
        return f"the step should leave '{data_output}' in the order's data (one of its data outputs), and did not"
    return None


def _multi_instance_words(spec: Any) -> str:
    count = getattr(spec, "cardinality", None)
    output = _id(getattr(spec, "data_output", None))
    words = f"the number of instances ('{count}') must be a whole number" if count else \
        "the list this step runs over must be a list or a record"
    if output:
        words += f", and '{output}' (where the results are collected) absent, an empty list or a record"
    return words
