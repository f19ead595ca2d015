"""What operations watch: the service's Prometheus metrics (``web/metrics.py`` serves them at /metrics).

Three kinds of numbers, each counted where it is true:

- **events of this process** (task completions, engine step time, instances started and completed,
  timer lateness, HTTP requests): ``prometheus_client`` counters and histograms. An event that belongs
  to a unit of work is counted when that unit *commits* (``on_commit``: a rolled-back step counts
  nothing), so the counters agree with the database. Under gunicorn with ``PROMETHEUS_MULTIPROC_DIR``
  set, each worker writes its own files and a scrape adds them up (``scrape``).
- **the database's state** (job queue depth and lag, open incidents): computed from the tables once per
  scrape (``DatabaseCollector``), so they are right however many processes and nodes share the database.
- **the live-workflow cache** of this process (``engine/live_cache.py``): read at scrape by
  ``LiveCacheCollector``; with several workers each worker also mirrors its numbers into its own files
  (``publish_cache``) so that they add up like the counters.

Label values are bounded: process keys (the deployed diagrams), job kinds, a fixed set of ways a
task is completed, endpoint names (never raw paths) and status classes.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from orderflow.core.models import Incident, Job
from orderflow.engine.live_cache import LiveWorkflows

#: the ways a task is completed (``how``): staff in a page, an API client, staff for the customer,
#: the customer through their link
HOWS = ("person", "api", "on_behalf", "customer_link")
#: the exposition's content type (Prometheus text format 0.0.4)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_STEP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)

TASK_COMPLETIONS = Counter("orderflow_task_completions", "User tasks completed (committed), by process and how",
                           ["process", "how"])
STEP_SECONDS = Histogram("orderflow_engine_step_seconds",
                         "Time of one task completion's engine work: load, run, store (committed steps)",
                         ["process"], buckets=_STEP_BUCKETS)
INSTANCES_STARTED = Counter("orderflow_instances_started", "Process instances started (committed)", ["process"])
INSTANCES_COMPLETED = Counter("orderflow_instances_completed", "Process instances that reached their end (committed)",
                              ["process"])
TIMER_LATENESS = Histogram("orderflow_timer_lateness_seconds",
                           "How long after its due time a job (timer, service retry, time limit, resume) began to run",
                           ["kind"], buckets=_LATENESS_BUCKETS)
HTTP_REQUESTS = Counter("orderflow_http_requests",
                        "HTTP requests by endpoint (blueprint.view), method and status class",
                        ["endpoint", "method", "status"])
HTTP_SECONDS = Histogram("orderflow_http_request_seconds", "HTTP request latency by endpoint", ["endpoint"])


def multiprocess() -> bool:
    """Several worker processes write their own metric files (gunicorn; see README, Operations)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


# --- counting on commit ---------------------------------------------------------------------------

def on_commit(session: Session, record: Callable[[], None]) -> None:
    """Count ``record`` once the session's transaction commits; a rollback forgets it
    (``core/db.py`` calls ``committed`` and ``rolled_back``)."""
    session.info.setdefault("metrics", []).append(record)


def committed(session: Session) -> None:
    for record in session.info.pop("metrics", ()):
        record()


def rolled_back(session: Session) -> None:
    session.info.pop("metrics", None)


def channel(session: Session) -> str:
    """How the session's caller reaches the service: "api" when the web edge says so, else "person"."""
    return "api" if session.info.get("channel") == "api" else "person"


def task_completed(session: Session, process: str, how: str, seconds: float) -> None:
    how = how if how in HOWS else "person"

    def record() -> None:
        TASK_COMPLETIONS.labels(process, how).inc()
        STEP_SECONDS.labels(process).observe(seconds)
    on_commit(session, record)


def instance_started(session: Session, process: str) -> None:
    on_commit(session, INSTANCES_STARTED.labels(process).inc)


def instance_completed(session: Session, process: str) -> None:
    on_commit(session, INSTANCES_COMPLETED.labels(process).inc)


def job_began(kind: str, due_at: datetime, now: datetime) -> None:
    """A job began to run ``now``; it was due at ``due_at`` (observed whatever the job's outcome)."""
    TIMER_LATENESS.labels(kind).observe(max((now - due_at).total_seconds(), 0.0))


def http_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(endpoint, method, f"{status // 100}xx").inc()
    HTTP_SECONDS.labels(endpoint).observe(seconds)


# --- the database, once per scrape ----------------------------------------------------------------

class DatabaseCollector(Collector):
    """Job queue depth and lag per kind, open incidents: read from the tables at scrape time.

    A job *waits* when it is due and no worker holds it (pending, or running with an expired lease:
    exactly what ``jobs.claim`` would take). ``session`` opens a session; ``clock`` says now.
    """

    def __init__(self, session: Callable[[], Session], clock: Callable[[], datetime], kinds: Iterable[str]):
        self.session, self.clock, self.kinds = session, clock, kinds  # read at each scrape

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        waiting = (Job.due_at <= now) & or_(Job.status == "pending",
                                             (Job.status == "running") & (Job.lock_expires_at < now))
        with self.session() as session:
            due = {kind: (count, oldest) for kind, count, oldest in session.execute(
                select(Job.kind, func.count(), func.min(Job.due_at)).where(waiting).group_by(Job.kind))}
            later: dict[str, int] = {}
            for kind, count in session.execute(select(Job.kind, func.count()).where(
                    Job.status == "pending", Job.due_at > now).group_by(Job.kind)):
                later[kind] = count
            incidents = session.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None)))
            session.rollback()
        kinds = sorted(set(self.kinds) | set(due) | set(later))
        depth = GaugeMetricFamily("orderflow_job_queue_depth", "Jobs due now and waiting for a worker, by kind",
                                  labels=["kind"])
        lag = GaugeMetricFamily("orderflow_job_oldest_due_lag_seconds",
                                "Now minus the due time of the oldest job still waiting (0: none waits), by kind",
                                labels=["kind"])
        scheduled = GaugeMetricFamily("orderflow_jobs_scheduled",
                                      "Pending jobs due later (timers not yet due), by kind", labels=["kind"])
        for kind in kinds:
            count, oldest = due.get(kind, (0, None))
            depth.add_metric([kind], count)
            lag.add_metric([kind], max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0)
            scheduled.add_metric([kind], later.get(kind, 0))
        yield depth
        yield lag
        yield scheduled
        yield GaugeMetricFamily("orderflow_incidents_open", "Incidents not yet resolved", value=incidents or 0)


# --- the live-workflow cache --------------------------------------------------------------------

_CACHE_HELP = {
    "hits": "Steps that reused this process's live workflow instead of loading the stored state",
    "misses": "Loads that found no live workflow of exactly the stored state",
    "evictions": "Live workflows dropped to stay within ORDERFLOW_WORKFLOW_CACHE_MB",
    "entries": "Live workflows kept in memory",
    "bytes": "Estimated memory the kept live workflows take",
}


def _cache_numbers(live: LiveWorkflows) -> dict[str, int]:
    return {"hits": live.stats.hits, "misses": live.stats.misses, "evictions": live.stats.evictions,
            "entries": len(live), "bytes": live.bytes}


class LiveCacheCollector(Collector):
    """This process's live-workflow cache, read at scrape time (one process: see ``publish_cache``)."""

    def __init__(self, live: Callable[[], LiveWorkflows]):
        self.live = live

    def collect(self) -> Iterator[Metric]:
        numbers = _cache_numbers(self.live())
        for name in ("hits", "misses", "evictions"):
            yield CounterMetricFamily(f"orderflow_workflow_cache_{name}", _CACHE_HELP[name], value=numbers[name])
        for name in ("entries", "bytes"):
            yield GaugeMetricFamily(f"orderflow_workflow_cache_{name}", _CACHE_HELP[name], value=numbers[name])


class _CacheMirror:
    """With several workers: the same numbers as ``LiveCacheCollector``, written to this worker's
    metric files, counters by their increase since the last publication."""

    def __init__(self) -> None:
        self.counters = {name: Counter(f"orderflow_workflow_cache_{name}", _CACHE_HELP[name], registry=None)
                         for name in ("hits", "misses", "evictions")}
        self.gauges = {name: Gauge(f"orderflow_workflow_cache_{name}", _CACHE_HELP[name], registry=None,
                                   multiprocess_mode="livesum") for name in ("entries", "bytes")}
        self.published = dict.fromkeys(self.counters, 0)
        self.lock = threading.Lock()

    def publish(self, live: LiveWorkflows) -> None:
        numbers = _cache_numbers(live)
        with self.lock:
            for name, counter in self.counters.items():
                if numbers[name] > self.published[name]:
                    counter.inc(numbers[name] - self.published[name])
                self.published[name] = numbers[name]
            for name, gauge in self.gauges.items():
                gauge.set(numbers[name])


_mirror: _CacheMirror | None = None


def publish_cache(live: LiveWorkflows) -> None:
    """With several workers, write this worker's cache numbers to its files (after each request and
    each sweep); with one process the collector reads them at scrape and this does nothing."""
    global _mirror
    if not multiprocess():
        return
    if _mirror is None:
        _mirror = _CacheMirror()
    _mirror.publish(live)


# --- the scrape -----------------------------------------------------------------------------------

def scrape(collectors: Iterable[Any]) -> bytes:
    """The exposition: this process's metrics (or, with several workers, all workers' files added up),
    then ``collectors`` (the database's, once; the cache's when there is one process)."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
