"""Property-based fuzzing of /api/v1 with schemathesis, built from GET /api/v1/openapi.json.

Every operation gets generated requests (valid ones and deliberately broken ones: wrong types,
missing fields, odd strings) through the WSGI app, no network, as ``admin`` (HTTP Basic), who may
do nearly everything. No answer may be a 500, and answers must match the document: documented
status code, content type and JSON Schema. Bounded for CI: 25 examples per operation, seeded
(derandomized), no example database.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orderflow import create_app
from orderflow.core.config import DEFAULTS
from orderflow.web import openapi
from tests.support import bpmn_samples as samples
from tests.support import dbs
from tests.support.helpers import Api, basic

ADMIN = basic("admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_app(seeded_template, tmp_path_factory):
    """One app for the whole run, with something to find: orders, tasks, a message receiver, a draft."""
    url = dbs.copy_of(seeded_template, tmp_path_factory.mktemp("fuzz"), "fuzz")
    app = create_app({"TESTING": True, "SECRET_KEY": "fuzz", "ORDERFLOW_DATABASE_URL": url})
    api = Api(app.test_client())
    for _ in range(2):
        api.start_order()
    deployed = api.client.post("/api/v1/processes", data=samples.MESSAGE_WAIT.encode(),
                               headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert deployed.status_code == 201, deployed.json
    assert api.post("admin", "/api/v1/processes/paying/instances", {"data": {}}).status_code == 201
    assert api.client.put("/api/v1/processes/order_flow/draft", json={"lock_version": 0},
                          headers=api.auth("owner1")).status_code == 200
    assert api.client.get("/api/v1/openapi.json").json == DOCUMENT
    yield app
    app.extensions["orderflow.db"].engine.dispose()
    dbs.drop(url)


# the document the app serves (fuzz_app checks they are the same), loaded at collection so that
# each operation is a test of its own
DOCUMENT = openapi.document(DEFAULTS["ORDERFLOW_MAX_UPLOAD_MB"])
schema = schemathesis.openapi.from_dict(DOCUMENT)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_answers_match_the_document(fuzz_app, case):
    case.call_and_validate(app=fuzz_app, headers=ADMIN, checks=CHECKS)
