"""GET /api/v1/openapi.json: the OpenAPI 3.1 document of the whole /api/v1 surface.

Written by hand beside the views it describes; tests/test_openapi.py fails when a route of
``app.url_map`` under /api/v1 is missing here (or documented but gone), and tests/test_fuzz.py
sends schemathesis-generated requests built from it and checks the answers against it.
The document is public (it describes the API, it holds no data).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, current_app, jsonify

from orderflow.web.openapi_schemas import DAY, NUM, SCHEMAS, STR, ref

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

ERRORS = {
    "400": "The request could not be read, or a cookie-authenticated write lacks its CSRF token",
    "401": "Not logged in: send HTTP Basic credentials, a Bearer token or the session cookie",
    "403": "Logged in, but not allowed to do this",
    "404": "No such process, order, task, incident, draft, form or receiver",
    "409": "State conflict: the task is no longer ready, a lost race, a rule, a failed step",
    "413": "The body is larger than ORDERFLOW_MAX_UPLOAD_MB",
    "422": "Invalid input: `fields` (field -> message) or `problems` (diagram problems)",
    "429": "Too many failed log-ins for this user name or address; see Retry-After",
}
JSON = "application/json"
XML_TYPES = ("application/xml", "text/xml", "application/bpmn+xml")


def param(name: str, schema: dict[str, Any] | None = None, description: str = "", where: str = "query",
          required: bool = False, example: Any = None) -> dict[str, Any]:
    found = {"name": name, "in": where, "required": required or where == "path", "schema": schema or STR}
    if description:
        found["description"] = description
    if example is not None:
        found["example"] = example
    return found


def path_id(name: str, what: str) -> dict[str, Any]:
    return param(name, {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, f"the {what}'s id", "path", example=1)


KEY = param("key", {"type": "string", "minLength": 1}, "the process key (the BPMN process id)", "path",
            example="order_flow")
VERSION = param("version", {"type": "integer", "minimum": 1}, "a deployed version; default: the latest")
PAGING = (param("limit", {"type": "integer", "minimum": 1}, "page size: default ORDERFLOW_PAGE_SIZE, at most "
                "ORDERFLOW_MAX_PAGE_SIZE"),
          param("cursor", STR, "`next_cursor` of the previous page"))
YES_NO = {"type": "string", "enum": ["", "1", "0", "true", "false", "yes", "no", "on", "off"]}


def json_body(schema: str, *, multipart: str | None = None, required: bool = True) -> dict[str, Any]:
    content = {JSON: {"schema": ref(schema)}}
    if multipart:
        content["multipart/form-data"] = {"schema": ref(multipart)}
    return {"required": required, "content": content}


UPLOAD = {"required": True, "content": {
    **{media: {"schema": {"type": "string", "description": "one BPMN diagram"}} for media in XML_TYPES},
    "multipart/form-data": {"schema": ref("Upload")}}}


def op(summary: str, tag: str, ok: str | dict[str, Any] | None, errors: str = "", *,
       params: Iterable[dict[str, Any]] = (), body: dict[str, Any] | None = None, status: str = "200",
       description: str = "", public: bool = False) -> dict[str, Any]:
    """One operation; ``ok`` names a schema (JSON), or is a content map, or None (no body)."""
    if ok is None:
        answer: dict[str, Any] = {"description": "Done"}
    elif isinstance(ok, str):
        answer = {"description": "OK", "content": {JSON: {"schema": ref(ok)}}}
    else:
        answer = {"description": "OK", "content": ok}
    # any query parameter may be refused (422, naming it): text a database cannot hold, an unknown value
    codes = errors.split() + ([] if public else ["401", "429"]) + (["422"] if params else [])
    found: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {
        status: answer, **{code: {"$ref": f"#/components/responses/E{code}"} for code in sorted(set(codes))}}}
    if description:
        found["description"] = description
    if params:
        found["parameters"] = list(params)
    if body is not None:
        found["requestBody"] = body
    if public:
        found["security"] = []
    return found


def xml_answer(description: str) -> dict[str, Any]:
    return {"application/xml": {"schema": {"type": "string", "description": description}}}


def paths() -> dict[str, dict[str, Any]]:
    instance, task, incident = path_id("instance_id", "order"), path_id("task_id", "task"), \
        path_id("incident_id", "incident")
    inbox_params = [
        param("scope", {"type": "string", "enum": ["mine", "groups", "all"]}), param("process"),
        param("step", {"type": "string", "maxLength": 200}, "the waiting step's element id"),
        param("customer", {"type": "string", "maxLength": 200}, "part of the customer's name, any case"),
        param("q", {"type": "string", "maxLength": 200}, "part of the order number (% and _ match themselves)"),
        param("overdue", YES_NO, "only tasks past their due time"),
        param("due", {"type": "string", "enum": ["today"]}, "only tasks due today (the company's time zone)"),
        param("waiting", {"type": "string", "enum": ["customer", "staff"]},
              "customer: only the customer's own steps; staff: only the staff's"),
        param("claimed", {"type": "string", "enum": ["me", "nobody"]}),
        param("sort", {"type": "string", "enum": [f"{d}{k}" for k in ("due", "promised", "value", "age")
                                                  for d in ("", "-")]},
              "due time, promised date, value or age (ready since); a leading - sorts descending; ties by id")]
    board_params = [
        param("process", description="a process key; `all` or none: every process (the /board page opens on "
                                     "the order flow)"),
        param("version", {"type": "integer", "minimum": 1, "maximum": 1_000_000}),
        param("element", description="the waiting step's element id"), param("group"), param("customer"),
        param("amount_min", NUM), param("amount_max", NUM), param("overdue", YES_NO), param("at_risk", YES_NO),
        param("started_from", DAY), param("started_to", DAY),
        param("q", {"type": "string", "maxLength": 200}, "search in order number and customer"),
        param("sort", {"type": "string", "enum": ["business_key", "customer", "order_total", "promised_date", "step",
                                                  "group", "assignee", "ready_at", "due_at", "started_at"]}),
        param("dir", {"type": "string", "enum": ["asc", "desc"]}),
        param("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000},
              "pages start within the first 10,000 rows: (page - 1) × per_page < 10,000"),
        param("per_page", {"type": "integer", "minimum": 1, "maximum": 200})]
    return {
        "/api/v1/openapi.json": {"get": op("This document", "meta", {JSON: {"schema": {"type": "object"}}},
                                           public=True)},
        "/api/v1/processes": {
            "get": op("Deployed versions of every process", "processes", "ProcessVersions"),
            "post": op("Deploy diagrams (process owners)", "processes", "Deployed", "400 403 413 422",
                       body=UPLOAD, status="201",
                       description="BPMN XML, or multipart parts named `files` (.bpmn, .dmn, form .json)."),
        },
        "/api/v1/processes/check": {"post": op(
            "Check diagrams without deploying (process owners)", "drafts", "CheckResult", "400 403 413 422",
            body=UPLOAD)},
        "/api/v1/processes/drafts": {"post": op("Start a draft of a new process", "drafts", "Draft",
                                                "400 403 409 413 422", body=json_body("NewDraft"), status="201")},
        "/api/v1/processes/{key}": {"get": op("A process with its start form", "processes", "Process", "404 422",
                                              params=[KEY, VERSION])},
        "/api/v1/processes/{key}/bpmn": {"get": op(
            "The BPMN XML of a version", "processes", xml_answer("BPMN XML"), "404 422",
            params=[KEY, VERSION, param("download", STR, "any value: as a file download")])},
        "/api/v1/processes/{key}/instances": {"post": op(
            "Start an order (an instance)", "instances", "Started", "400 403 404 409 413 422",
            params=[KEY, VERSION], body=json_body("DataBody", multipart="MultipartData", required=False),
            status="201", description="`data` is validated against the start form.")},
        "/api/v1/processes/{key}/draft": {
            "get": op("The process's draft (built from a version when there is none)", "drafts", "Draft",
                      "403 404 422", params=[KEY, VERSION]),
            "put": op("Save the draft", "drafts", "Draft", "400 403 404 409 413 422", params=[KEY],
                      body=json_body("DraftSave")),
            "delete": op("Discard the draft", "drafts", None, "400 403", params=[KEY], status="204"),
        },
        "/api/v1/processes/{key}/draft/bpmn": {"get": op("The draft's diagram", "drafts",
                                                         xml_answer("BPMN XML"), "403 404", params=[KEY])},
        "/api/v1/processes/{key}/draft/check": {"post": op("Check the draft", "drafts", "CheckResult",
                                                           "400 403 404 409", params=[KEY])},
        "/api/v1/expressions/check": {"post": op(
            "Check one condition or expression as a deploy would (with a corrected one for common slips)",
            "drafts", "ExpressionCheck", "400 403 422", body=json_body("ExpressionBody"))},
        "/api/v1/processes/{key}/draft/release": {"get": op(
            "What deploying the draft would change, and the open orders that stay on their versions", "drafts",
            "ReleasePreview", "403 404", params=[KEY])},
        "/api/v1/processes/{key}/draft/fields": {"get": op(
            "The data the process's conditions can read: its forms' fields and the names its steps set",
            "drafts", "ProcessFields", "403 404", params=[KEY])},
        "/api/v1/processes/{key}/draft/what-if": {"get": op(
            "The last weeks' completions replayed through the draft: waiting orders, time limits, cycle time",
            "drafts", "WhatIf", "403 404 422",
            params=[KEY, param("weeks", {"type": "integer", "minimum": 1, "maximum": 26, "default": 4})])},
        "/api/v1/processes/{key}/draft/deploy": {"post": op(
            "Deploy the draft as the next version, with a release note", "drafts", "Deployed",
            "400 403 404 409 422", params=[KEY], body=json_body("ReleaseBody", required=False), status="201")},
        "/api/v1/processes/{key}/versions": {"get": op("Versions with their orders", "versions", "Versions",
                                                       "403 404", params=[KEY])},
        "/api/v1/processes/{key}/diff": {"get": op(
            "What changed between two versions", "versions", "Diff", "403 404 422",
            params=[KEY, param("from", {"type": "integer", "minimum": 1}, required=True),
                    param("to", {"type": "integer", "minimum": 1}, required=True)])},
        "/api/v1/processes/{key}/migrations": {"post": op(
            "Move running orders to another version (dry run unless dry_run is false)", "versions",
            "MigrationReport", "400 403 404 409 413 422", params=[KEY], body=json_body("MigrationBody"))},
        "/api/v1/instances": {"get": op(
            "Orders, newest first (managers: all; others: those they took part in)", "instances", "Instances",
            "422", params=[param("process"), param("status", {"type": "string"}), param("business_key"),
                           param("element"), param("overdue", YES_NO), *PAGING])},
        "/api/v1/instances/{instance_id}": {"get": op("An order with its data, tasks, history and incidents",
                                                      "instances", "InstanceDetail", "403 404", params=[instance])},
        **{f"/api/v1/instances/{{instance_id}}/{action}": {"post": op(
            f"{action.capitalize()} an order (managers)", "instances", "StatusChange", "400 403 404 409 413 422",
            params=[instance], body=json_body("ReasonBody", required=False))}
            for action in ("suspend", "resume", "terminate")},
        "/api/v1/instances/{instance_id}/audit": {"get": op(
            "The order's audit trail (hash-chained)", "instances", {
                JSON: {"schema": ref("AuditEvents")}, "text/csv": {"schema": {"type": "string"}}}, "403 404",
            params=[instance, param("format", {"type": "string", "enum": ["json", "csv"]}, "csv: as a download")])},
        "/api/v1/tasks": {"get": op(
            "Ready tasks: mine, my groups' (default) or all I may see, filtered, searched and sorted", "tasks",
            "Tasks", "422", params=[*inbox_params, param("business_key", STR, "exactly this order number"),
                                    param("element", STR, "the older name of `step`"), *PAGING],
            description="Unknown values are refused (422) with the parameter named in `fields`.")},
        "/api/v1/tasks/counts": {"get": op(
            "How many tasks each quick filter would show (the same filter, quick filters aside)", "tasks",
            "TaskCounts", "422", params=inbox_params)},
        "/api/v1/tasks/columns": {
            "get": op("The inbox columns I show", "tasks", "InboxColumns"),
            "put": op("Choose the inbox columns I show", "tasks", "InboxColumns", "400 422",
                      body=json_body("InboxColumnsBody")),
        },
        "/api/v1/tasks/filters": {
            "get": op("My saved inbox filters and those shared with my groups", "tasks", "SavedFilters"),
            "post": op("Save an inbox filter, private or shared with one of my groups", "tasks", "SavedFilter",
                       "400 403 422", body=json_body("SavedFilterBody"), status="201"),
        },
        "/api/v1/tasks/filters/{filter_id}": {
            "patch": op("Rename a saved inbox filter (its owner or an administrator)", "tasks", "SavedFilter",
                        "400 403 404 422", params=[path_id("filter_id", "saved filter")],
                        body=json_body("SavedFilterRename"),
                        description="An empty, too long or taken name is a 422 naming `name` in `fields`."),
            "delete": op("Delete a saved inbox filter (its owner or an administrator)", "tasks", None,
                         "400 403 404", params=[path_id("filter_id", "saved filter")], status="204")},
        "/api/v1/tasks/{task_id}": {"get": op("A task with its form and the values it shows", "tasks",
                                              "TaskDetail", "403 404", params=[task])},
        "/api/v1/tasks/{task_id}/claim": {"post": op("Claim a task", "tasks", "Task", "400 403 404 409",
                                                     params=[task])},
        "/api/v1/tasks/{task_id}/release": {"post": op("Release a task", "tasks", "Task", "400 403 404 409",
                                                       params=[task])},
        "/api/v1/tasks/{task_id}/complete": {"post": op(
            "Complete a task with its form's data", "tasks", "Completed", "400 403 404 409 413 422",
            params=[task], body=json_body("CompleteBody", multipart="MultipartData", required=False))},
        "/api/v1/tasks/{task_id}/reassign": {"post": op(
            "Give a task to another member of its group, or to another group (managers)", "tasks", "Task",
            "400 403 404 409 413 422", params=[task], body=json_body("ReassignBody"))},
        "/api/v1/tasks/{task_id}/customer-link": {"post": op(
            "Send the customer a new single-use link to their own step (earlier links stop working)", "tasks",
            "CustomerLink", "400 403 404 413 422", params=[task], body=json_body("CustomerLinkBody"))},
        "/api/v1/incidents": {"get": op(
            "Failed steps waiting for a manager", "incidents", "Incidents", "403 422",
            params=[param("resolved", YES_NO), param("instance_id", {"type": "integer", "minimum": 1}), *PAGING])},
        "/api/v1/incidents/{incident_id}/retry": {"post": op("Run the failed step again", "incidents", "Incident",
                                                             "400 403 404 409", params=[incident])},
        "/api/v1/incidents/{incident_id}/complete": {"post": op(
            "Complete a failed service call by hand with its result", "incidents", "Incident",
            "400 403 404 409 413 422", params=[incident], body=json_body("IncidentResult", required=False))},
        "/api/v1/messages/{name}": {"post": op(
            "Deliver a message from outside (integration users) to the one order waiting for it, or start the "
            "process whose message start event catches it; a correlation property missing from both "
            "'correlation' and 'payload' is a 422 naming it", "messages", "Delivered",
            "400 403 404 409 413 422", params=[param("name", {"type": "string", "minLength": 1},
                                                     "the BPMN message's name", "path")],
            body=json_body("MessageBody"))},
        "/api/v1/notifications": {"get": op("My newest notifications and the unread count", "notifications",
                                            "Notifications")},
        "/api/v1/board": {"get": op("The managers' board of open orders", "board", "Board", "403 404 422",
                                    params=board_params)},
        "/api/v1/board/filters": {
            "get": op("My saved board filters and those shared with everyone", "board", "BoardFilters", "403"),
            "post": op("Save a board filter, private or shared with everyone", "board", "BoardFilter",
                       "400 403 422", body=json_body("BoardFilterBody"), status="201"),
        },
        "/api/v1/board/filters/{filter_id}": {
            "patch": op("Rename a saved board filter (its owner or an administrator)", "board", "BoardFilter",
                        "400 403 404 422", params=[path_id("filter_id", "saved filter")],
                        body=json_body("SavedFilterRename"),
                        description="An empty, too long or taken name is a 422 naming `name` in `fields`."),
            "delete": op("Delete a saved board filter (its owner or an administrator)", "board", None,
                         "400 403 404", params=[path_id("filter_id", "saved filter")], status="204")},
        "/api/v1/monitor/elements": {"get": op(
            "Where orders wait, per element (managers)", "monitor", "ElementLoads", "403 404 422",
            params=[param("process", {"type": "string", "minLength": 1}, required=True), VERSION])},
        "/api/v1/analytics": {"get": op(
            "Step statistics for a period (managers)", "analytics", "Analytics", "403 404 422",
            params=[param("from", DAY), param("to", DAY), param(
                "process", description="a process key; `all` or '' for every process; none: the order flow "
                                       "when it is deployed")])},
        "/api/v1/customers": {"get": op(
            "Customers whose name contains q, with their order and case counts", "customers", "Customers",
            "403 422", params=[param("q", {"type": "string", "maxLength": 200}, "part of the name, any case"),
                               param("limit", {"type": "integer", "minimum": 1, "maximum": 200})])},
        "/api/v1/customers/{name}": {"get": op(
            "One customer's file: orders with delivery, after-sales cases, survey answers, totals", "customers",
            "CustomerFile", "403 404", params=[param("name", {"type": "string", "minLength": 1},
                                                     "the customer's name as on their orders", "path")])},
        "/api/v1/handlers": {"get": op("Service-task handlers (process owners)", "modeler", "Handlers", "403")},
        "/api/v1/groups": {"get": op("Groups", "modeler", "Groups")},
        "/api/v1/forms": {"get": op("Forms a diagram may name (process owners)", "modeler", "FormList", "403",
                                    params=[param("process")])},
        "/api/v1/forms/{form_key}": {"get": op("One form's JSON Schema", "modeler", "Form", "403 404",
                                               params=[param("form_key", {"type": "string", "minLength": 1},
                                                             where="path"), param("process")])},
        **admin_paths(),
    }


def admin_paths() -> dict[str, dict[str, Any]]:
    """Users, groups and API tokens (web/admin.py)."""
    token = path_id("token_id", "token")
    return {
        "/api/v1/admin/users": {
            "get": op("Users (administrators)", "admin", "Users", "403", params=[param("q")]),
            "post": op("Create a user", "admin", "User", "400 403 409 413 422", body=json_body("NewUser"),
                       status="201")},
        "/api/v1/admin/users/{username}": {"patch": op(
            "Change a user's profile, groups, active flag or password", "admin", "User", "400 403 404 409 413 422",
            params=[param("username", {"type": "string", "minLength": 1}, where="path")],
            body=json_body("UserChange"))},
        "/api/v1/admin/groups": {
            "get": op("Groups with their members", "admin", "AdminGroups", "403"),
            "post": op("Create a group", "admin", "AdminGroup", "400 403 409 413 422", body=json_body("NewGroup"),
                       status="201")},
        "/api/v1/admin/tokens": {
            "get": op("Everyone's API tokens", "admin", "Tokens", "403"),
            "post": op("Issue a token for a user (with a password, not a token)", "admin", "IssuedToken",
                       "400 403 404 409 413 422", body=json_body("NewToken"), status="201")},
        "/api/v1/admin/tokens/{token_id}": {"delete": op("Revoke a token", "admin", "Token", "400 403 404 409",
                                                         params=[token])},
        "/api/v1/tokens": {
            "get": op("My API tokens", "tokens", "Tokens"),
            "post": op("Issue myself a token (with a password, not a token)", "tokens", "IssuedToken",
                       "400 403 409 413 422", body=json_body("NewToken"), status="201")},
        "/api/v1/tokens/{token_id}": {"delete": op("Revoke one of my tokens", "tokens", "Token", "400 403 404 409",
                                                   params=[token])},
    }


def document(upload_mb: float) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Orderflow API", "version": "1",
                 "description": "BPMN-driven order management. The contract is docs/API.md; errors are "
                                "`{\"error\": {\"code\", \"message\", \"fields\" | \"problems\"}}` in the caller's "
                                "language (Accept-Language). Upload limit: "
                                f"{upload_mb} MB."},
        "paths": paths(),
        "components": {
            "schemas": SCHEMAS,
            "responses": {f"E{code}": {"description": text, "content": {JSON: {"schema": ref("Error")}}}
                          for code, text in ERRORS.items()},
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic"},
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "an API token"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                               "description": "the browser's session after /login; writes need X-CSRFToken"},
            },
        },
        "security": [{"basicAuth": []}, {"bearerAuth": []}, {"cookieAuth": []}],
        "tags": [{"name": name} for name in ("processes", "instances", "tasks", "incidents", "messages",
                                             "notifications", "board", "monitor", "analytics", "customers",
                                             "modeler", "drafts", "versions", "admin", "tokens", "meta")],
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document(current_app.config["ORDERFLOW_MAX_UPLOAD_MB"]))

