"""Compatibility suite: every BPMN and DMN file of tests/corpus uploaded through the API.

tests/corpus is a copy of the team's shared compatibility corpus (LGPL-3.0 data from
SpiffWorkflow and spiff-example-cli; tests/corpus/README.md says where each file comes from).


Each file (with the files its ``needs`` column lists, and the JSON forms beside it) either
deploys and starts as far as the manifest's ``expected`` column says, or is refused with a
422 whose problems name the element (or the file) — never a 500, never a hang. No timer guards
this: a diagram that never waits is stopped by the engine's step and nesting bounds
(tests/test_runaway.py), so a hang would show as a failing bound, not as a slow test. The files
refused on purpose are listed below with the reason; README "Diagrams from other tools"
summarises them, and this test keeps that list honest.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from orderflow import create_app
from tests import dbs
from tests.helpers import Api

CORPUS = Path(__file__).resolve().parent / "corpus"

# file -> words of the first problem: refused because the service will not run it as written
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


@pytest.fixture(scope="module")
def corpus_client(tmp_path_factory):
    url = dbs.fresh_url(tmp_path_factory.mktemp("corpus"), "corpus")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_SCHEDULER": False,
                      "ORDERFLOW_DATABASE_URL": url})
    runner = app.test_cli_runner()
    for command in (["init-db"], ["seed-demo"]):
        assert runner.invoke(args=command).exit_code == 0
    yield app.test_client()
    app.extensions["orderflow.db"].engine.dispose()
    dbs.drop(url)


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


@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS])
def test_corpus_file_deploys_and_runs_or_is_refused_by_element(corpus_client, row):
    files = _bundle(row)
    upload = {"files": [(io.BytesIO(content), name.rsplit("/", 1)[-1]) for name, content in files.items()]}
    resp = corpus_client.post("/api/v1/processes", data=upload, headers=Api.auth("owner1"),
                              content_type="multipart/form-data")
    assert resp.status_code in {201, 422}, resp.get_data(as_text=True)[:500]
    if resp.status_code == 422:
        _assert_clear_refusal(row, files, resp.json["error"])
        return
    assert row["path"] not in REFUSED, f"deploys now: remove it from REFUSED ({REFUSED.get(row['path'])})"
    assert row["expected"] != "no", "the manifest says stock SpiffWorkflow cannot run this"
    for deployed in resp.json["deployed"]:
        started = corpus_client.post(f"/api/v1/processes/{deployed['key']}/instances?version={deployed['version']}",
                                     json={"data": {}}, headers=Api.auth("admin"))
        if row["expected"] == "yes":
            assert started.status_code == 201, started.json
            assert started.json["status"] in {"running", "completed"}, started.json
        else:  # starting may need data the manifest does not give: a clear 4xx naming the step
            assert started.status_code in {201, 409, 422}, started.get_data(as_text=True)[:500]
            if started.status_code != 201:  # naming the step, or the start data's field
                assert started.json["error"].get("element_id") or started.json["error"].get("fields"), started.json


def _assert_clear_refusal(row: dict[str, str], files: dict[str, bytes], error: dict) -> None:
    assert error["code"] == "invalid_process"
    assert row["path"].endswith(".dmn") or row["path"] in REFUSED, \
        f"refused although it should deploy: {error['problems'][:2]}"
    if row["path"] in REFUSED:
        assert REFUSED[row["path"]] in error["message"], error["message"]
    text = b"\n".join(files.values()).decode("utf-8", "replace")
    for problem in error["problems"]:
        assert problem["message"]
        assert problem["element_id"] or problem["file"], problem
        if problem["element_id"]:
            assert f'id="{problem["element_id"]}"' in text, problem


def test_the_refusal_list_names_only_corpus_files():
    assert len(ROWS) >= 85  # the whole corpus is here
    assert set(REFUSED) <= {r["path"] for r in ROWS}
