"""What operations see: ``GET /metrics`` (Prometheus text format; ``core/metrics.py`` holds the metrics),
each request counted by endpoint and status class, and each request's id for the logs.

/metrics is not public: a user or API token with ``metrics.read`` (administrators, the integration
group), or a scraper presenting ``ORDERFLOW_METRICS_TOKEN`` as a Bearer token (compared in constant
time). Anything else is refused like every other request (``web/errors.py``: 401 or 403, as JSON).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid

from flask import Blueprint, Flask, Response, current_app, g, request

from orderflow.access.permissions import require
from orderflow.core import logs, metrics
from orderflow.web.auth import current_actor
from orderflow.web.db_session import get_session
from orderflow.workflow import jobs

bp = Blueprint("metrics", __name__)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@bp.get("/metrics")
def exposition():
    _require_reader()
    body = metrics.scrape(current_app.extensions["orderflow.metrics"])
    return Response(body, content_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _require_reader() -> None:
    token = str(current_app.config.get("ORDERFLOW_METRICS_TOKEN") or "")
    auth = request.authorization
    if token and auth is not None and auth.type == "bearer" and hmac.compare_digest(
            hashlib.sha256((auth.token or "").encode()).digest(), hashlib.sha256(token.encode()).digest()):
        return  # compared as digests: in constant time, whatever the lengths
    require(current_actor(), "metrics.read")


def _began() -> None:
    g.began = time.perf_counter()
    sent = request.headers.get("X-Request-ID", "")
    g.request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    g.request_id_token = logs.REQUEST_ID.set(g.request_id)
    if request.path.startswith("/api/"):  # a task completed here is counted as the API's
        get_session().info["channel"] = "api"


def _answered(response: Response) -> Response:
    began = g.get("began")
    if began is not None:
        method = request.method if request.method in METHODS else "other"
        metrics.http_request(request.endpoint or "unmatched", method, response.status_code,
                             time.perf_counter() - began)
    if "request_id" in g:
        response.headers["X-Request-ID"] = g.request_id
    metrics.publish_cache(current_app.extensions["orderflow.platform"].runtime.live)
    return response


def _ended(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            logs.REQUEST_ID.reset(token)
        except ValueError:  # torn down in another context (a streamed body): just forget it
            logs.REQUEST_ID.set(None)


def init_app(app: Flask) -> None:
    db = app.extensions["orderflow.db"]
    platform = app.extensions["orderflow.platform"]
    collectors: list = [metrics.DatabaseCollector(db.session, lambda: platform.clock(), jobs.KINDS)]
    if not metrics.multiprocess():  # one process: its cache is read at scrape (else: publish_cache)
        collectors.append(metrics.LiveCacheCollector(lambda: platform.runtime.live))
    app.extensions["orderflow.metrics"] = collectors
    app.before_request(_began)
    app.after_request(_answered)
    app.teardown_request(_ended)
    app.register_blueprint(bp)
