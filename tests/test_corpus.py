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

import io

import pytest

from orderflow import create_app
from tests.support import dbs
from tests.support.corpus import REFUSED, ROWS, _bundle
from tests.support.helpers import Api

# file -> words of the first problem: refused because the service will not run it as written


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
