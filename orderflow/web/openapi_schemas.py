"""JSON Schemas of what /api/v1 answers and accepts: the ``components`` of the OpenAPI document
(``openapi.py``). Shapes follow ``present.py``, ``api.py``, ``drafts.py``, ``versions.py``,
``board.py`` and ``analytics``; tests/test_fuzz.py checks real answers against them."""
from __future__ import annotations

from typing import Any

from orderflow.workflow.inbox import COLUMNS as INBOX_COLUMNS
from orderflow.workflow.inbox import COUNT_CAP as INBOX_CAP

STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
NUM: dict[str, Any] = {"type": "number"}
BOOL: dict[str, Any] = {"type": "boolean"}
ANY: dict[str, Any] = {}
OBJ: dict[str, Any] = {"type": "object", "additionalProperties": True}
TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
DAY: dict[str, Any] = {"type": "string", "format": "date"}
STATUSES = ["running", "suspended", "error", "completed", "terminated"]


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def null(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema, or null (OpenAPI 3.1: a JSON Schema type list)."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def obj(required: list[str] | None = None, /, **properties: dict[str, Any]) -> dict[str, Any]:
    """An object with these properties (more are allowed: answers may grow)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": True}
    if required:
        schema["required"] = required
    return schema


def page(item: str, cursor: bool = True) -> dict[str, Any]:
    """A list answer: ``{items, next_cursor}`` (docs/API.md's convention)."""
    return obj(["items", "next_cursor"] if cursor else ["items"], items=array(ref(item)),
               next_cursor=null(STR))


PROBLEM = obj(["message"], element_id=null(STR), line=null(INT), message=STR, file=null(STR),
              severity={"type": "string", "enum": ["error", "warning"]})

TASK = obj(["id", "instance_id", "element_id", "name", "status", "ready_at", "overdue"],
           id=INT, instance_id=INT, business_key=null(STR), process=null(STR), element_id=STR, name=STR,
           group=null(STR), assignee=null(STR), assignee_name=null(STR), form_key=null(STR),
           status={"type": "string", "enum": ["ready", "completed", "cancelled"]}, ready_at=TIME,
           due_at=null(TIME), overdue=BOOL, customer_step=BOOL)

INSTANCE = obj(["id", "process", "version", "status"], id=INT, business_key=null(STR), process=STR, version=INT,
               status={"type": "string", "enum": STATUSES}, started_by=STR, started_at=null(TIME),
               updated_at=null(TIME), ended_at=null(TIME), customer=null(STR), order_total=null(NUM),
               promised_date=null(DAY), outcome=null(STR))

INCIDENT = obj(["id", "instance_id", "message", "attempts"], id=INT, instance_id=INT, element_id=null(STR),
               handler=null(STR), message=STR, traceback=null(STR), attempts=INT, created_at=null(TIME),
               resolved_at=null(TIME), resolved_by=null(STR), resolution=null(STR))

DRAFT = obj(["key", "main_file", "lock_version", "files", "form_keys", "saved"],
            key=STR, main_file=STR, base_version=null(INT), lock_version=INT, updated_by=null(STR),
            updated_at=null(TIME), files=array(STR), form_keys=array(STR), saved=BOOL,
            bpmn={"type": "string", "description": "the main diagram (full answers only)"},
            forms={"type": "object", "additionalProperties": OBJ, "description": "form key -> JSON Schema"})

DEPLOYED = obj(["deployed", "warnings"], deployed=array(obj(["key", "version"], key=STR, version=INT)),
               warnings=array(ref("Problem")))

CHECKED = obj(["ok", "problems", "processes"], ok=BOOL, problems=array(ref("Problem")),
              processes=array(obj(["key"], key=STR, name=null(STR))))

BOARD_ROW = obj(["instance_id", "process", "status", "overdue", "at_risk"],
                instance_id=INT, business_key=null(STR), process=STR, customer=null(STR), order_total=null(NUM),
                promised_date=null(DAY), status={"type": "string", "enum": STATUSES}, started_at=null(TIME),
                task_id=null(INT), element_id=null(STR), step=null(STR), group=null(STR), assignee=null(STR),
                assignee_name=null(STR), ready_at=null(TIME), due_at=null(TIME), overdue=BOOL, at_risk=BOOL, late=BOOL)

RATE = obj(["part", "whole"], part=INT, whole=INT, rate=null(NUM))

# the report's after-sales section (orderflow/orders/analytics/after_sales.py)
AFTER_SALES = obj(
    ["opened", "by_type", "by_outcome", "returns", "time_to_close", "open_now"],
    process=STR, opened=INT, still_open=INT, open_now=INT,
    by_type=array(obj(["opened"], type=null(STR), opened=INT, still_open=INT,
                      outcomes={"type": "object", "additionalProperties": INT})),
    by_outcome=array(obj(["outcome", "count"], outcome=STR, count=INT)),
    returns={**RATE, "properties": {**RATE["properties"], "types": array(STR)}},
    time_to_close=obj(["closed"], closed=INT, median_seconds=null(NUM), mean_seconds=null(NUM),
                      median_hours=null(NUM), mean_hours=null(NUM), median_days=null(NUM), mean_days=null(NUM)))
SURVEYS = obj(
    ["responses", "average_rating", "distribution", "would_recommend", "via_link", "latest_comments"],
    steps=array(STR), responses=INT, rated=INT, average_rating=null(NUM),
    aspects={"type": "object", "additionalProperties": obj(average=null(NUM), answers=INT)},
    distribution={"type": "object", "additionalProperties": INT, "description": "rating 1..5 -> answers"},
    would_recommend=RATE, via_link=RATE,
    latest_comments=array(obj(["comments"], task_id=INT, instance_id=INT, answered_at=TIME, customer=null(STR),
                              order_no=null(STR), rating=null(INT), comments=STR, via=null(STR))))

# GET /api/v1/customers/<name> (orderflow/orders/customers.py)
CUSTOMER_FILE = obj(
    ["name", "totals", "orders", "cases", "survey_answers"], name=STR,
    totals=obj(["orders", "cases"], orders=INT, open_orders=INT, cases=INT, survey_answers=INT, order_value=NUM,
               delivered=INT, on_time=RATE, returns=RATE, average_rating=null(NUM)),
    orders=array(obj(["id", "status"], id=INT, number=null(STR), status=STR, outcome=null(STR), total=null(NUM),
                     promised_date=null(DAY), started_at=null(TIME), ended_at=null(TIME), shipped_at=null(TIME),
                     on_time={"type": ["string", "null"], "enum": ["yes", "no", "open", None]})),
    cases=array(obj(["id", "status"], id=INT, number=null(STR), type=null(STR), status=STR, outcome=null(STR),
                    opened_at=null(TIME), closed_at=null(TIME), close_seconds=null(NUM), order_no=null(STR),
                    order_id=null(INT))),
    survey_answers=array(obj(["task_id", "instance_id"], task_id=INT, instance_id=INT, number=null(STR),
                             order_no=null(STR), answered_at=null(TIME), rating=null(INT),
                             quality_rating=null(INT), delivery_rating=null(INT), service_rating=null(INT),
                             would_recommend=null(STR), comments=null(STR), via=null(STR))),
    truncated=obj(orders=BOOL, cases=BOOL, survey_answers=BOOL))

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": obj(["error"], error=obj(
        ["code", "message"], code={"type": "string", "description": "stable, snake_case"},
        message={"type": "string", "description": "a sentence for a person, in the caller's language"},
        fields={"type": "object", "additionalProperties": STR, "description": "422: field name -> message"},
        problems={**array(ref("Problem")), "description": "422 of a diagram: each problem names its element"},
        retry_after={"type": "integer", "description": "429: seconds until a log-in is accepted again"},
        element_id=null(STR), cause=null(STR))),
    "Problem": PROBLEM,
    "ProcessVersion": obj(["key", "version", "latest"], key=STR, name=null(STR), version=INT, sha256=STR,
                          deployed_at=null(TIME), deployed_by=null(STR), latest=BOOL),
    "ProcessVersions": page("ProcessVersion"),
    "Process": obj(["key", "version", "start_form", "start_groups"], key=STR, name=null(STR), version=INT,
                   sha256=STR, start_form=null(OBJ), start_groups=array(STR)),
    "Deployed": DEPLOYED,
    "CheckResult": CHECKED,
    "Task": TASK,
    "InboxTask": {"allOf": [ref("Task"), obj(
        ["customer", "order_total", "promised_date", "late_days"], customer=null(STR), order_total=null(NUM),
        promised_date=null(DAY),
        late_days={"type": "integer", "minimum": 0,
                   "description": "days the order is past its promised date (company time zone); 0 if not"})]},
    "Tasks": page("InboxTask"),
    "TaskCounts": obj(["total", "staff", "overdue", "today", "waiting", "mine", "capped"],
                      total={**INT, "description": "every task the filter selects, quick filters aside"},
                      staff={**INT, "description": "of those, the staff's work: the customer's own steps left out"},
                      overdue={**INT, "description": "what overdue=1 would show"},
                      today={**INT, "description": "what due=today would show"},
                      waiting={**INT, "description": "what waiting=customer would show"},
                      mine={**INT, "description": "what claimed=me would show"},
                      capped={"type": "array", "items": STR,
                              "description": f"the counts that stopped at {INBOX_CAP:,} (more match; they hold "
                                             f"{INBOX_CAP:,})"}),
    "InboxColumns": obj(["columns", "choices"], columns=array(STR), choices=array(STR)),
    "InboxColumnsBody": obj(["columns"], columns={**array({"type": "string", "enum": list(INBOX_COLUMNS)}),
                                                  "description": "the columns to show, besides order and task"}),
    "SavedFilter": obj(["id", "name", "query", "owner", "group"], id=INT, name=STR, owner=STR, group=null(STR),
                       created_at=null(TIME),
                       query={"type": "string", "description": "the GET /api/v1/tasks query string, without paging"}),
    "SavedFilters": page("SavedFilter"),
    "SavedFilterBody": obj(["name", "query"], name={"type": "string", "minLength": 1, "maxLength": 200},
                           query={"type": "string", "description": "a GET /api/v1/tasks query string"},
                           group=null({"type": "string", "description": "share with one of your groups; null: "
                                       "only you (saving a name again replaces it)"})),
    "SavedFilterRename": obj(["name"], name={"type": "string", "minLength": 1, "maxLength": 200,
                                             "description": "not the name of another filter of its owner's"}),
    "BoardFilter": obj(["id", "name", "query", "owner", "shared"], id=INT, name=STR, owner=STR, shared=BOOL,
                       created_at=null(TIME),
                       query={"type": "string", "description": "the GET /api/v1/board query string, without page"}),
    "BoardFilters": page("BoardFilter"),
    "BoardFilterBody": obj(["name", "query"], name={"type": "string", "minLength": 1, "maxLength": 200},
                           query={"type": "string", "description": "a GET /api/v1/board query string"},
                           shared={**BOOL, "description": "true: every manager sees it (saving a name again "
                                                          "replaces it)"}),
    "TaskDetail": {"allOf": [ref("Task"), obj(["form", "values", "signature"], form=OBJ, values=OBJ,
                                              signature=BOOL)]},
    "Instance": INSTANCE,
    "Instances": page("Instance"),
    "Started": obj(["id", "status", "open_tasks"], id=INT, business_key=null(STR),
                   status={"type": "string", "enum": STATUSES}, open_tasks=array(ref("Task"))),
    "InstanceDetail": {"allOf": [ref("Instance"), obj(
        ["data", "open_tasks", "history", "incidents"], data=OBJ, open_tasks=array(ref("Task")),
        history=array(obj(["element_id", "name"], element_id=STR, name=STR, completed_by=null(STR),
                          completed_by_name=null(STR), completed_at=null(TIME), completed_via=null(STR),
                          data=null(OBJ))),
        incidents=array(ref("Incident")), waits=array(ref("Wait")))]},
    "Wait": {**obj(["kind", "element_id"], kind={"type": "string", "enum": ["timer", "message", "signal", "condition",
                                                                         "error", "escalation", "service"]},
                   element_id=STR, name=null(STR), due_at=null(TIME),
                   correlation={"type": "object", "additionalProperties": STR}, starts=null(STR)),
             "description": "Something the order waits for that is not a person: a timer (due_at, UTC with its "
                            "offset), a message (name, and the correlation values that reach this order), a "
                            "signal, a condition (name is the expression), an error or escalation; 'starts' "
                            "names the event sub-process the event would start; a service call left to a background "
                            "job (name: its handler, due_at: its next attempt). Incidents are listed apart."},
    "StatusChange": obj(["id", "status"], id=INT, status={"type": "string", "enum": STATUSES}),
    "Completed": obj(["instance", "open_tasks"], instance=ref("StatusChange"), open_tasks=array(ref("Task"))),
    "AuditEvents": obj(["items"], items=array(obj(["at", "action"], at=TIME, actor=null(STR), action=STR,
                                                  element_id=null(STR), detail=ANY)), next_cursor=null(STR)),
    "Incident": INCIDENT,
    "Incidents": page("Incident"),
    "Delivered": obj(["instance_id", "element_id", "status"], instance_id=INT, business_key=null(STR),
                     element_id=null(STR), status={"type": "string", "enum": STATUSES}),
    "Notifications": obj(["items", "unread"], items=array(obj(
        ["id", "kind", "subject", "read"], id=INT, kind=STR, subject=STR, body=STR, link=null(STR),
        instance_id=null(INT), created_at=null(TIME), read_at=null(TIME), read=BOOL)),
        next_cursor=null(STR), unread=INT),
    "BoardRow": BOARD_ROW,
    "Board": obj(["items", "total", "total_exact", "page", "pages"], items=array(ref("BoardRow")), total=INT,
                 total_exact={"type": "boolean", "description": "false: more rows match than the board counts "
                                                                "(10,000); `total` is then that limit"},
                 page=INT, pages=INT),
    "ElementLoads": array(obj(["element_id", "waiting", "overdue"], element_id=STR, name=null(STR),
                              group=null(STR), waiting=INT, overdue=INT, oldest_ready_at=null(TIME),
                              incidents=INT)),
    "Analytics": obj(["from", "to", "steps", "groups", "weeks"], **{
        "from": DAY, "to": DAY, "process": null(STR),
        "time_zone": {"type": "string", "description": "the company's zone: days and weeks are its days"},
        "steps": array(obj(["element_id", "count"], process=null(STR), element_id=STR, name=null(STR),
                           group=null(STR), count=INT, with_due=INT, on_time=INT, compliance=null(NUM),
                           mean_seconds=null(NUM), median_seconds=null(NUM), p90_seconds=null(NUM))),
        "groups": array(obj(["count"], group=null(STR), count=INT, with_due=INT, on_time=INT,
                            compliance=null(NUM))),
        "weeks": array(obj(["week", "started", "finished"], week=STR, week_start=DAY, started=INT, finished=INT)),
        "on_time_delivery": RATE, "rework": RATE, "returns": RATE,
        "after_sales": AFTER_SALES, "surveys": SURVEYS}),
    "Customers": obj(["items"], items=array(obj(
        ["name", "orders", "open_orders", "cases"], name=STR, orders=INT, open_orders=INT, cases=INT,
        last_order_at=null(TIME))), q=STR),
    "CustomerFile": CUSTOMER_FILE,
    "Handlers": obj(["items"], items=array(obj(
        ["name", "params"], name=STR, doc=STR, asynchronous=BOOL,
        params=array(obj(["name", "required"], name=STR, required=BOOL, default=null(STR)))))),
    "Groups": obj(["items"], items=array(obj(["id", "name"], id=STR, name=STR, name_zh=null(STR)))),
    "FormList": obj(["items"], items=array(obj(
        ["key", "source"], key=STR, title=ANY,
        source={**STR, "description": "forms (the folder), version (the latest), draft (changed in the draft)"},
        used={"type": "boolean", "description": "a step of the process names it (in the draft, if any)"}))),
    "Form": obj(["key", "source", "schema"], key=STR, source=STR, schema=OBJ),
    "Draft": DRAFT,
    "Versions": obj(["items"], items=array(obj(
        ["version", "running", "latest"], version=INT, name=null(STR), deployed_at=null(TIME),
        deployed_by=null(STR), sha256=STR, running=INT, suspended=INT, latest=BOOL,
        note={**null(STR), "description": "the release note written at deploy"}))),
    "Diff": obj(["process", "from", "to"], **{"process": STR, "from": INT, "to": INT,
                                                "forms": {"description": "added, removed, changed: per form its "
                                                                         "fields and settings"}}),
    "MigrationReport": obj(
        ["process", "from", "to", "dry_run", "results", "moved", "movable", "refused", "remaining"],
        **{"process": STR, "from": INT, "to": INT, "dry_run": BOOL, "moved": INT, "movable": INT, "refused": INT,
           "remaining": INT, "results": array(obj(
               ["instance_id", "can_move", "moved"], instance_id=INT, business_key=null(STR), status=STR,
               steps=array(ANY), can_move=BOOL, moved=BOOL, reasons=array(STR), notes=array(STR)))}),
    "User": obj(["username"], username=STR, display_name=null(STR), email=null(STR), active=BOOL,
                groups=array(STR), created_at=null(TIME)),
    "Users": obj(["items"], items=array(ref("User"))),
    "AdminGroups": obj(["items"], items=array(obj(["id"], id=STR, name=null(STR), name_zh=null(STR),
                                                  members=ANY, builtin=BOOL))),
    "AdminGroup": obj(["id"], id=STR, name=null(STR), name_zh=null(STR)),
    "Token": obj(["id", "prefix"], id=INT, user=null(STR), name=null(STR), prefix=STR, created_at=null(TIME),
                 created_by=null(STR), expires_at=null(TIME), last_used_at=null(TIME), revoked_at=null(TIME),
                 status=null(STR)),
    "Tokens": obj(["items"], items=array(ref("Token"))),
    "IssuedToken": {"allOf": [ref("Token"), obj(["token"], token={
        "type": "string", "description": "the secret: shown once, send it as `Authorization: Bearer <token>`"})]},
    # -- request bodies ---------------------------------------------------------------------------
    "DataBody": obj(data={**OBJ, "description": "the form's fields"}),
    "CompleteBody": obj(data={**OBJ, "description": "the task form's fields"},
                        password={"type": "string", "description": "re-authenticates a signature step"}),
    "MultipartData": {"type": "object", "properties": {
        "data": {"type": "string", "contentMediaType": "application/json",
                 "description": "the form's fields as a JSON object"},
        "body": {"type": "string", "contentMediaType": "application/json",
                 "description": "the whole JSON body (data, password) as one part"}},
        "additionalProperties": {"type": "string", "format": "binary",
                                 "description": "one file part per attachment field, named like the field"}},
    "Upload": {"type": "object", "required": ["files"], "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": ".bpmn, .dmn and form .json files, deployed together"},
        "note": {"type": "string", "maxLength": 2000, "description": "the release note of the new versions"}}},
    "ExpressionBody": obj(["expression"], expression=STR, process={
        "type": "string", "description": "a process key: also read the condition out and name unknown names"}),
    "ExpressionCheck": obj(["ok"], ok=BOOL, message=null(STR), reading={
        **null(STR), "description": "with process: the condition in plain words, in the reader's language"},
        unknown=array(obj(["name"], name=STR, suggestion=null(STR)))),
    "ProcessFields": obj(["items"], items=array(obj(
        ["name", "kind"], name=STR, title=null(STR), title_zh=null(STR),
        kind={"type": "string", "enum": ["text", "number", "date", "yes/no", "list", "choice", "value"]},
        source={"type": "string", "description": "form:<form key> or step:<element id> (a script or service call)"},
        choices=array(obj(["value"], value=ANY, title=null(STR), title_zh=null(STR)))))),
    "ReleaseBody": obj(note={"type": "string", "maxLength": 2000,
                             "description": "the release note, kept with the version (the versions page shows it)"}),
    "ReleasePreview": obj(["ok"], ok=BOOL, problems=array(ref("Problem")), **{
        "from": null(INT), "changes": {"description": "as GET /api/v1/processes/{key}/diff; null for a first version"},
        "summary": {"type": "object", "additionalProperties": array(STR),
                    "description": "names per kind: steps_added, steps_removed, steps_changed, time_limits, groups, "
                                   "flows, forms"},
        "staying": array(obj(["version", "orders"], version=INT, orders=INT)), "staying_total": INT}),
    "WhatIfSide": obj(["group", "time_limit", "reached", "basis", "mean_seconds", "waiting", "breach_share"],
                      group=STR, time_limit=null(STR), reached=INT,
                      basis={"type": "string", "enum": ["history", "group", "none"],
                             "description": "history: the step's own times; group: its group's times; none: no times"},
                      mean_seconds=null(NUM), waiting={**null(NUM), "description": "orders waiting (Little's law)"},
                      breach_share={**null(NUM), "description": "share of times above the time limit, 0 to 1"}),
    "WhatIf": obj(["process", "weeks", "history", "cycle_seconds", "steps"], process=STR, from_version=null(INT),
                  weeks=INT, since=TIME, until=TIME,
                  history=obj(["steps", "orders", "capped", "limit"], steps=INT, orders=INT, capped=BOOL, limit=INT),
                  cycle_seconds=obj(today=null(NUM), draft=null(NUM)),
                  steps=array(obj(["element_id", "change"], element_id=STR, name=null(STR),
                                  change={"type": "string", "enum": ["same", "added", "removed", "changed"]},
                                  waiting_now=INT, today=null(ref("WhatIfSide")), draft=null(ref("WhatIfSide"))))),
    "ReasonBody": obj(reason={"type": "string", "description": "kept in the audit trail"}),
    "IncidentResult": obj(data={"description": "the service call's result (any JSON)"}),
    "MessageBody": obj(["correlation"], correlation={
        "type": "object", "minProperties": 1, "description": "correlation property id -> value",
        "additionalProperties": {"type": ["string", "number", "integer", "boolean"]}},
        payload={**OBJ, "description": "the message's variables"}),
    "NewDraft": obj(["key"], key={"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_\-]{0,99}$"},
                    name=STR),
    "DraftSave": obj(bpmn=STR, forms={"type": "object", "additionalProperties": OBJ},
                     removed_forms=array(STR), lock_version=null(INT), base_version=null(INT)),
    "CustomerLinkBody": obj(["email"], email={"type": "string", "description": "the customer's e-mail address"}),
    "CustomerLink": obj(["url", "email"], url={"type": "string", "description": "the link; it works once"},
                        email=STR),
    "ReassignBody": obj(user={"type": "string", "description": "an active member of the task's group"},
                        group={"type": "string", "description": "or another group (the task is unclaimed there)"}),
    "NewUser": obj(["username", "password"], username=STR, display_name=STR, email=STR, password=STR,
                   groups=array(STR)),
    "UserChange": obj(display_name=STR, email=STR, groups=array(STR), active=BOOL, password=STR),
    "NewGroup": obj(["id", "name"], id=STR, name=STR, name_zh=STR),
    "NewToken": obj(name=STR, expires_in_days=null(INT),
                    user={"type": "string", "description": "admin/tokens only: whose token it is"}),
    "MigrationBody": obj(["from", "to"], **{
        "from": {"type": ["integer", "string"], "description": "version number"},
        "to": {"type": ["integer", "string"], "description": "version number"},
        "instance_ids": {**array(INT), "description": "only these orders (at most 200 per call)"},
        "step": {**STR, "description": "only the orders waiting at this step (element id)"},
        "dry_run": {"type": "boolean", "default": True, "description": "false moves the orders"}}),
}
