"""The service's log lines: the standard library's logging, plain by default, one JSON object per line
with ``ORDERFLOW_LOG_FORMAT=json`` (for log collectors: no multi-line tracebacks to stitch together).

A JSON line carries ``time`` (UTC, ISO-8601 with its zone), ``level``, ``logger``, ``message``, the
``request_id`` of the request being served if any (``web/metrics.py`` sets it; ``X-Request-ID``),
and ``exception`` with the traceback's text when one was logged.
"""
from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

#: the request this thread serves (set and reset by the web edge); None outside a request
REQUEST_ID: ContextVar[str | None] = ContextVar("orderflow_request_id", default=None)
FORMATS = ("plain", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(log_format: str) -> None:
    """``json``: every handler of the root logger writes JSON lines (one is added on stderr when there
    is none, as under gunicorn). ``plain`` (the default) leaves logging as Python, Flask or gunicorn set it."""
    fmt = str(log_format or "plain").lower()
    if fmt not in FORMATS:
        raise ValueError(f"ORDERFLOW_LOG_FORMAT is {log_format!r}; use one of: {', '.join(FORMATS)}")
    if fmt != "json":
        return
    root = logging.getLogger()
    if not root.handlers:  # the levels stay as they are (the service logs warnings and errors)
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        if not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())
