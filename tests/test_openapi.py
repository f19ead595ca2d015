"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document that names every /api/v1 route."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _routes(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every /api/v1 rule: ``<int:task_id>`` becomes ``{task_id}``."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found |= {(path, method.lower()) for method in rule.methods & METHODS}
    return found


def _documented(doc) -> set[tuple[str, str]]:
    return {(path, method) for path, item in doc["paths"].items() for method in item
            if method.upper() in METHODS}


def test_the_document_is_public_and_valid_openapi(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.json
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # openapi-spec-validator: raises on any structural error


def test_every_api_route_is_documented_and_every_documented_route_exists(app, client):
    doc = client.get("/api/v1/openapi.json").json
    routes, documented = _routes(app), _documented(doc)
    assert routes, "no /api/v1 routes found"
    assert not routes - documented, f"routes missing from openapi.py: {sorted(routes - documented)}"
    assert not documented - routes, f"documented but not served: {sorted(documented - routes)}"


def test_path_parameters_match_the_routes(client):
    doc = client.get("/api/v1/openapi.json").json
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            named = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert named == set(re.findall(r"{([^}]+)}", path)), f"{method.upper()} {path}"


def test_errors_and_security_schemes_are_described(client):
    doc = client.get("/api/v1/openapi.json").json
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert {"code", "message"} <= set(error["required"])
    assert {"fields", "problems", "retry_after"} <= set(error["properties"])
    assert set(doc["components"]["securitySchemes"]) == {"basicAuth", "bearerAuth", "cookieAuth"}
    assert doc["components"]["securitySchemes"]["basicAuth"] == {"type": "http", "scheme": "basic"}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            if operation.get("security") != []:
                assert {"401", "429"} <= codes, f"{method.upper()} {path}"
            for code in codes - {"200", "201", "204"}:
                assert operation["responses"][code]["$ref"].endswith(f"/E{code}")


def test_the_inbox_filters_are_documented_as_they_are_parsed(client):
    """GET /api/v1/tasks and /tasks/counts document every parameter InboxFilter reads, with its values;
    docs/API.md names each of them too."""
    from dataclasses import fields
    from pathlib import Path

    from orderflow.workflow import inbox
    doc = client.get("/api/v1/openapi.json").json
    parsed = {f.name for f in fields(inbox.InboxFilter)} - {"desc", "page"}   # desc rides on sort's "-"
    for path in ("/api/v1/tasks", "/api/v1/tasks/counts"):
        params = {p["name"]: p["schema"] for p in doc["paths"][path]["get"]["parameters"]}
        assert parsed - {"business_key"} <= set(params), path
        assert set(params["sort"]["enum"]) == {d + k for k in inbox.SORTS for d in ("", "-")}
        assert params["due"]["enum"] == list(inbox.DUES) and params["waiting"]["enum"] == list(inbox.WAITING)
        assert params["claimed"]["enum"] == list(inbox.CLAIMED) and params["scope"]["enum"] == list(inbox.SCOPES)
    columns = doc["components"]["schemas"]["InboxColumnsBody"]["properties"]["columns"]["items"]["enum"]
    assert columns == list(inbox.COLUMNS)
    api_md = (Path(__file__).resolve().parent.parent / "docs" / "API.md").read_text()
    missing = sorted(name for name in parsed if f"`{name}" not in api_md and f"{name}=" not in api_md)
    assert not missing, f"docs/API.md does not name the inbox parameters {missing}"
    assert all(f"`{name}`" in api_md for name in inbox.COLUMNS)
