"""The corpus of real BPMN files (tests/corpus) and what this service says of each: runs, or is refused with these words."""
from __future__ import annotations

import csv
import re
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


REFUSED = {
    # no executable process (isExecutable="false", or only called processes)
    "spiff/example-cli/camunda/call_activity.bpmn": "no executable process",
    "spiff/example-cli/camunda/call_activity_multi.bpmn": "no executable process",
    "spiff/example-cli/camunda/call_activity_script.bpmn": "no executable process",
    # Python in timers and scripts: only the safe expression language runs
    "spiff/example-cli/camunda/events.bpmn": "Timer value 'timedelta",
    "spiff/example-cli/camunda/multiinstance.bpmn": "Timer value 'timedelta",
    "spiff/example-cli/camunda/top_level_script.bpmn": "is not available",
    "spiff/example-cli/tutorial/call_activity_multi.bpmn": "A script line must read",
    "spiff/example-cli/tutorial/call_activity_script.bpmn": "is not available",
    "spiff/example-cli/tutorial/call_activity_service_task.bpmn": "is not available",
    "spiff/example-cli/tutorial/dangerous.bpmn": "A script line must read",
    "spiff/example-cli/tutorial/signal_event.bpmn": "is not available",
    "spiff/example-cli/tutorial/top_level_multi.bpmn": "A script line must read",
    "spiff/example-cli/tutorial/top_level_script.bpmn": "is not available",
    "spiff/tests/bpmn/call_activity_call_activity.bpmn": "A script line must read",
    "spiff/tests/bpmn/call_activity_with_error.bpmn": "A script line must read",
    "spiff/tests/bpmn/inclusive_gateway.bpmn": "A script line must read",
    "spiff/tests/bpmn/io_spec.bpmn": "A script line must read",
    "spiff/tests/bpmn/io_spec_parent.bpmn": "A script line must read",
    "spiff/tests/bpmn/timer-cycle-start.bpmn": "the shortest period allowed",  # R2/PT0.1S
    "spiff/tests/bpmn/timer-date-start.bpmn": "'.isoformat()' is not allowed",
    "spiff/tests/bpmn/transaction.bpmn": "A script line must read",
    "spiff/tests/camunda/random_fact.bpmn": "A script line must read",
    "spiff/tests/camunda/external_message.bpmn": "Scripts in 'reset' cannot run here",
    "spiff/example-cli/tutorial/top_level_service_task.bpmn": "Unknown handler 'lookup_shipping_cost'",
    # service tasks whose handler is not registered here (or names none)
    "spiff/example-cli/tutorial/event_handler.bpmn": "Unknown handler 'read_file'",
    "spiff/example-cli/tutorial/threaded_service_task.bpmn": "Unknown handler 'wait'",
    "spiff/tests/bpmn/service_task.bpmn": "names no handler",
    "spiff/tests/spiff/service_task.bpmn": "Unknown handler 'bamboohr/GetPayRate'",
    # forms or called elements the corpus does not contain
    "spiff/tests/spiff/spiff_properties.bpmn": "The form 'my_json_jschema'",
    "spiff/tests/spiff/user_task_variable.bpmn": "The form 'pizza_form'",
    "spiff/tests/bpmn/call_activity_nested/call_activity_level_2.bpmn": "The process 'Level2b' was not found",
    "spiff/tests/bpmn/call_activity_nested/call_activity_nested.bpmn": "No DMN Diagram available",
    # not runnable as drawn
    "spiff/tests/bpmn/data_store.bpmn": "Data Store with name TestDataStore has no implementation",
    "spiff/tests/bpmn/exclusive_gateway_no_default.bpmn": "no default flow",
    "spiff/tests/bpmn/ScriptTest.bpmn": "A script line must read",
}


def _manifest() -> list[dict[str, str]]:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        return []
    with open(CORPUS / "MANIFEST.tsv", encoding="utf-8") as f:
        return [row for row in csv.DictReader(f, delimiter="\t") if row["path"].endswith((".bpmn", ".dmn"))]


ROWS = _manifest()


def _bundle(row: dict[str, str]) -> dict[str, bytes]:
    path = CORPUS / row["path"]
    files = {row["path"]: path.read_bytes()}
    for need in filter(None, row["needs"].split(";")):
        files[need] = (CORPUS / need).read_bytes()
    for name in list(files):  # the forms the diagrams name (spiff formJsonSchemaFilename)
        folder = (CORPUS / name).parent / "forms"
        for form in re.findall(rb'value="([\w\-]+\.json)"', files[name]):
            candidate = folder / form.decode()
            if candidate.is_file():
                files[str(candidate.relative_to(CORPUS))] = candidate.read_bytes()
    return files
