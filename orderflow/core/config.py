"""Settings. Load order: DEFAULTS → instance/config.py → ORDERFLOW_* environment → test_config.

Every key has a one-line comment; the catalogue test checks the README documents each.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    # SQLAlchemy URL; empty means the SQLite file instance/orderflow.sqlite
    "ORDERFLOW_DATABASE_URL": "",
    # Seconds a pooled PostgreSQL connection may rest before it is checked before use (0: always)
    "ORDERFLOW_DB_PING_AFTER_IDLE": 5,
    # Secret for session cookies and CSRF tokens; set it in production (instance/config.py or env)
    "SECRET_KEY": "",
    # Folders deployed by `flask deploy` and searched for forms a diagram names
    "ORDERFLOW_PROCESSES_DIR": "processes",
    "ORDERFLOW_FORMS_DIR": "forms",
    # Uploads (diagrams, attachments) above this many MB answer 413
    "ORDERFLOW_MAX_UPLOAD_MB": 5,
    # Engine steps one request may run before the instance is declared looping
    "ORDERFLOW_MAX_ENGINE_STEPS": 5000,
    # Memory (MB) each process may spend keeping live workflows between requests (0: none)
    "ORDERFLOW_WORKFLOW_CACHE_MB": 128,
    # Check every reuse of a kept workflow against its stored state (the test suite turns it on)
    "ORDERFLOW_WORKFLOW_CACHE_VERIFY": False,
    # Orders above this total need the vp's approval instead of the sales manager's
    "ORDERFLOW_APPROVAL_THRESHOLD": 100000,
    # Share of the order total expected as deposit before production
    "ORDERFLOW_DEPOSIT_RATE": 0.3,
    # Languages the UI offers; the first is the default
    "ORDERFLOW_LANGUAGES": ["en", "zh"],
    # Time zone used to show times to people (stored times are UTC)
    "ORDERFLOW_DISPLAY_TIMEZONE": "Asia/Shanghai",
    # "on": this process runs due timers and jobs in the background; "off" for nodes that only
    # serve pages (run `flask worker` somewhere then)
    "ORDERFLOW_SCHEDULER": "on",
    # Longest pause between two looks at the jobs table (seconds); due jobs wake it sooner
    "ORDERFLOW_SWEEP_SECONDS": 1.0,
    # Jobs one worker claims at a time
    "ORDERFLOW_JOB_BATCH": 50,
    # How often an overdue task's group managers are reminded until it is done
    "ORDERFLOW_REMINDER_INTERVAL": "PT4H",
    # overdue reminders gather in one notification per person and period (mailed once per period)
    "ORDERFLOW_DIGEST_PERIOD": "P1D",
    # Retries of an asynchronous service call when neither handler nor diagram says
    "ORDERFLOW_DEFAULT_RETRY": "R3/PT10S",
    # Page size of lists when the caller gives no limit, and the largest allowed
    "ORDERFLOW_PAGE_SIZE": 50,
    "ORDERFLOW_MAX_PAGE_SIZE": 500,
    # Who hears about an overdue task: its group -> the group to tell ("*" for any other group)
    "ORDERFLOW_DEFAULT_TASK_GROUP": "process_owner",
    # the customer's own steps (orderflow/workflow/customer_links.py): how long a link stays valid; who acts
    # for the customer when the step sits in a ``customer`` lane
    "ORDERFLOW_CUSTOMER_LINK_TTL": "P14D",
    "ORDERFLOW_CUSTOMER_STEP_GROUP": "sales",
    # after-sales (handlers/after_sales.py): cases above this amount need a sales manager's approval;
    # the satisfaction survey waits this long after the customer confirms receipt
    "ORDERFLOW_CASE_APPROVAL_THRESHOLD": 5000,
    "ORDERFLOW_SURVEY_DELAY": "P7D",
    "ORDERFLOW_ESCALATION_GROUPS": {"sales": "sales_manager", "*": "manager"},
    # "outbox": mails are kept for the outbox page, not sent; "smtp": sent through the SMTP server below
    "ORDERFLOW_MAIL_MODE": "outbox",
    # a mail still 'sending' this long after its claim lost its sender (a crash): queue it again
    "ORDERFLOW_MAIL_RESEND_AFTER_SECONDS": 600,
    # SMTP server for ORDERFLOW_MAIL_MODE=smtp (user and password empty: no login)
    "ORDERFLOW_SMTP_HOST": "localhost",
    "ORDERFLOW_SMTP_PORT": 25,
    "ORDERFLOW_SMTP_USER": "",
    "ORDERFLOW_SMTP_PASSWORD": "",
    # Upgrade the SMTP connection with STARTTLS before logging in and sending
    "ORDERFLOW_SMTP_STARTTLS": False,
    # Sender address of the mails the service sends
    "ORDERFLOW_MAIL_FROM": "orderflow@localhost",
    # Address of the service as people reach it, for absolute links in mails
    "ORDERFLOW_BASE_URL": "http://127.0.0.1:5000",
    # Board: an order not yet delivered is at risk this many days before its promised date (and after)
    "ORDERFLOW_RISK_DAYS": 7,
    # The user task whose completion delivers an order (board: delivered yet?; analytics: on time?)
    "ORDERFLOW_DELIVERY_STEP": "ship_order",
    # Analytics: the inspection step whose "fail" decisions are the rework rate
    "ORDERFLOW_QC_STEP": "qc_inspection",
    # Session cookie only over HTTPS (Secure flag) and HSTS on every response; off for http:// in development
    "ORDERFLOW_SECURE_COOKIES": False,
    # Login throttling: wrong passwords per user name, and per client address (0: not counted), within
    # the window of ORDERFLOW_LOGIN_LOCK_SECONDS; beyond them log-ins answer 429 until failures age out
    "ORDERFLOW_LOGIN_MAX_FAILURES": 5,
    "ORDERFLOW_LOGIN_MAX_FAILURES_PER_IP": 20,
    "ORDERFLOW_LOGIN_LOCK_SECONDS": 300,
    # Shortest password an administrator may set for a user
    "ORDERFLOW_MIN_PASSWORD_LENGTH": 8,
    # Days a new API token is valid when its issuer names none; 0: tokens without expiry
    "ORDERFLOW_TOKEN_DAYS": 365,
    # Longest validity a new API token may have, in days; 0: no limit (then tokens may never expire)
    "ORDERFLOW_TOKEN_MAX_DAYS": 0,
    # Log lines: "plain" (Python's format, as the server sets it) or "json" (one JSON object per line)
    "ORDERFLOW_LOG_FORMAT": "plain",
    # A Bearer token a Prometheus scraper may present at /metrics instead of a user's credentials
    # (empty: only users and API tokens with the metrics.read permission)
    "ORDERFLOW_METRICS_TOKEN": "",
    # Shortest period of a repeating timer cycle (ISO-8601 duration): a faster cycle is refused at
    # deploy, and one computed from data fails its step
    "ORDERFLOW_MIN_TIMER_CYCLE": "PT1M",
}


def _parse(value: str, default: Any) -> Any:
    if isinstance(default, bool):
        return value.lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, list):
        return json.loads(value) if value.startswith("[") else [v.strip() for v in value.split(",")]
    if isinstance(default, dict):
        parsed = json.loads(value)
        if not isinstance(parsed, dict):
            raise ValueError(f"expected a JSON object, got {value!r}")
        return parsed
    return value


def served_base_url(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str:
    """The address links in mails point to: ``ORDERFLOW_BASE_URL`` when set (environment or
    instance/config.py), else where ``flask run`` serves (``FLASK_RUN_HOST``/``FLASK_RUN_PORT``,
    which ``make run`` sets from HOST and PORT), else the default. Never the request's Host header,
    which a caller chooses."""
    environ = os.environ if environ is None else environ
    configured = str(config.get("ORDERFLOW_BASE_URL") or "")
    if configured and configured != DEFAULTS["ORDERFLOW_BASE_URL"]:
        return configured
    port = environ.get("FLASK_RUN_PORT")
    if not port:
        return configured or DEFAULTS["ORDERFLOW_BASE_URL"]
    host = environ.get("FLASK_RUN_HOST") or "127.0.0.1"
    host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host   # a wildcard is no address to visit
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ if environ is None else environ)
    found = {}
    for key, default in DEFAULTS.items():
        env_key = key if key.startswith("ORDERFLOW_") else f"ORDERFLOW_{key}"
        if env_key in environ:
            found[key] = _parse(environ[env_key], default)
    return found
