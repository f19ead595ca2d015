"""Load: whole orders through a real gunicorn server over real HTTP, on SQLite and on PostgreSQL.

For every database, server configuration, diagram and number of concurrent clients, this starts
gunicorn on a fresh database initialised as `make run` does (`flask init-db`, `flask deploy`,
`flask seed-demo`; the scheduler off: nothing in the measured window is a background job), then
drives N orders with C client threads, each its own keep-alive HTTP connection and HTTP Basic auth:

  start      POST /api/v1/processes/<key>/instances
  get task   GET  /api/v1/tasks/<id>            (the form and its pre-filled values)
  complete   POST /api/v1/tasks/<id>/complete   (the filled form; its answer lists the next tasks)

and afterwards checks that every order it started reached `completed` (GET /api/v1/instances/<id>).

Diagrams: `small` (bench/small.bpmn: six user tasks in a line with a one-field form, deployed
through the API) and `order_flow` (processes/order_flow.bpmn's happy path, the forms filled as
bench/throughput.py fills them). The floor is the bare SpiffWorkflow engine with the workflow kept
in memory, measured in the same run over the same diagram and orders; each row's step cost (wall
time per completed task) is shown against it. Each row also shows the CPU spent per task by the app
server (gunicorn's master and workers, from /proc), by the database server (PostgreSQL's postmaster
and backends; SQLite works inside the app) and by this client: on a machine whose cores the three
share, that says where a row's time went.

Server configurations: `--workers 2 --threads 1` is the recommended one for a 2-core machine (one
gthread worker per core, one thread each: the service's work is CPU-bound Python, and a second
thread in a worker only adds contention for the interpreter's lock; the README has the figures);
`--workers 1` and `--threads 4` are the comparisons.

Usage: python bench/load.py [--orders N] [--clients 1,2,8] [--db sqlite,postgres]
                            [--diagram small,order_flow] [--workers 1,2] [--threads 1,4]
Progress goes to stderr, the figures to stdout. Exits 1 when a call fails or an order did not complete.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# the client fills forms as bench/throughput.py does; the engine is imported only for the floor
from bench.load_client import KINDS, SMALL_START, CallFailed, Client, deploy_small, drive_order  # noqa: E402
from bench.servers import (  # noqa: E402
    gunicorn,
    initialise,
    postgres_cluster,
    postgres_database,
    postgres_installed,
    postmaster,
    progress,
    tree_cpu,
)
from bench.throughput import _Engine, _Env, form_data  # noqa: E402
from bench.throughput import memory as order_flow_memory  # noqa: E402

# -- the floor: the bare engine, workflow in memory -----------------------------------------------

def small_memory(orders: int) -> tuple[float, int]:
    """bench/small.bpmn in the bare engine, kept in memory (as throughput.memory does for the order flow)."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(ROOT / "bench" / "small.bpmn"))
    spec, subs = parser.get_spec("bench_small"), parser.get_subprocess_specs("bench_small")
    step_form = json.loads((ROOT / "bench" / "bench_small_step.json").read_text())
    engine = _Engine(environment=_Env())
    steps, started = 0, time.perf_counter()
    for _ in range(orders):
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        for task in wf.get_tasks(state=TaskState.READY):
            task.data.update(SMALL_START)
        wf.do_engine_steps()
        while ready := [t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.manual]:
            task = ready[0]
            task.data.update(form_data(step_form, task.data))
            task.run()
            wf.do_engine_steps()
            steps += 1
        assert wf.is_completed()
    return time.perf_counter() - started, steps


FLOORS: dict[str, Callable[[int], tuple[float, int]]] = {"small": small_memory, "order_flow": order_flow_memory}


# -- the HTTP client (bench/load_client.py) and the servers (bench/servers.py) ------------------

# -- one configuration --------------------------------------------------------------------------

@dataclass
class Run:
    db: str
    diagram: str
    workers: int
    clients: int
    threads: int = 1
    orders: int = 0
    completions: int = 0
    seconds: float = 0.0
    times: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    verified: int = 0
    reconnects: int = 0
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)  # CPU seconds of the app server, the database server, the client
    floor_ms: float = float("nan")  # the bare engine in memory, measured just before this server's rows


def drive(port: int, diagram: str, orders: int, clients: int, label: str) -> tuple[float, list[Client], list[int]]:
    """N orders with C client threads, each taking the next order until none is left."""
    remaining = iter(range(orders))
    take = threading.Lock()
    ids: list[int] = []
    errors: list[BaseException] = []
    ends: list[float] = []  # when each client ran out of orders (joining polls, it is not a clock)
    pool = [Client(port) for _ in range(clients)]
    gate = threading.Barrier(clients + 1)

    def work(client: Client) -> None:
        gate.wait()
        try:
            while not errors:
                with take:
                    if next(remaining, None) is None:
                        return
                instance_id = drive_order(client, diagram)
                with take:
                    ids.append(instance_id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            ends.append(time.perf_counter())
            client.close()

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in pool]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.perf_counter()
    next_report = started + 10
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)
            if time.perf_counter() < next_report:
                continue
            progress(f"{label}: {len(ids)}/{orders} orders")
            next_report += 10
    seconds = max(ends) - started
    if errors:
        raise CallFailed(f"{label}: {errors[0]}") from errors[0]
    return seconds, pool, ids


def verify(port: int, ids: list[int]) -> int:
    """How many of the orders are `completed`, as the API tells a manager."""
    client = Client(port)
    try:
        return sum(client.call("GET", f"/api/v1/instances/{i}", "manager1")["status"] == "completed" for i in ids)
    finally:
        client.close()


def measure(port: int, run: Run, orders: int, warm_up: bool = False,
            servers: tuple[int | None, int | None] = (None, None)) -> Run:
    """servers: the app server's and the database server's main processes, whose CPU (theirs and their
    children's) is counted."""
    label = f"{run.db} {run.workers}x{run.threads} {run.diagram} c{run.clients}"
    progress(f"{label}: {orders} orders{' to warm up' if warm_up else ''} ...")
    before = (*(tree_cpu(pid) for pid in servers), time.process_time())
    seconds, pool, ids = drive(port, run.diagram, orders, run.clients, label)
    after = (*(tree_cpu(pid) for pid in servers), time.process_time())
    run.cpu = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
    run.orders, run.seconds = len(ids), seconds
    for client in pool:
        for kind in KINDS:
            run.times[kind].extend(client.times[kind])
        run.reconnects += client.reconnects
    run.completions = len(run.times["complete"])
    run.verified = verify(port, ids)
    return run


# -- the report ---------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of them at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


HEADER = (f"{'db':<9}{'diagram':<11}{'server':>7}{'clients':>8}{'orders':>7}{'tasks/s':>9}{'ms/task':>9}"
          f"{'floor':>7}{'x floor':>8}{'cpu app/db/client':>19}  "
          f"{'start p50/p95/p99 ms':>20}  {'get task p50/p95/p99':>20}  "
          f"{'complete p50/p95/p99':>20}  verified")


def row(run: Run) -> str:
    per_task = 1000 * run.seconds / max(run.completions, 1)
    cells = "  ".join(
        "{:>20}".format("/".join(f"{1000 * percentile(run.times[kind], p):.1f}" for p in (50, 95, 99)))
        for kind in KINDS)
    server = f"{run.workers}x{run.threads}"
    cpu = "/".join(f"{1000 * part / max(run.completions, 1):.2f}" for part in run.cpu)
    return (f"{run.db:<9}{run.diagram:<11}{server:>7}{run.clients:>8}{run.orders:>7}"
            f"{run.completions / run.seconds:>9.1f}{per_task:>9.2f}"
            f"{run.floor_ms:>7.2f}{per_task / run.floor_ms:>8.2f}{cpu:>19}  {cells}  "
            f"{run.verified}/{run.orders} completed")


def goals(runs: list[Run]) -> list[str]:
    """Issue 16's goals, for the rows this run has (never asserted by a test)."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines = []
    for db, target in (("sqlite", 300), ("postgres", 150)):
        rows = [r for r in runs if r.db == db and r.diagram == "small"]
        if rows:
            best = max(rows, key=lambda r: r.completions / r.seconds)
            rate = best.completions / best.seconds
            lines.append(f"goal: small on {db}, best configuration >= {target} tasks/s -> {verdict(rate >= target)} "
                         f"({rate:.1f}, {best.workers} workers x {best.threads} threads, {best.clients} clients)")
        for r in (r for r in rows if r.clients == 1):
            p50, p95 = (1000 * percentile(r.times["complete"], p) for p in (50, 95))
            lines.append(f"goal: small on {db}, {r.workers} workers x {r.threads} threads, 1 client: "
                         "complete p50 <= 5 ms and p95 <= 15 ms "
                         f"-> {verdict(p50 <= 5 and p95 <= 15)} ({p50:.1f} / {p95:.1f} ms)")
    flow = [r for r in runs if r.diagram == "order_flow"]
    if flow:
        best = min(flow, key=lambda r: r.seconds / max(r.completions, 1) / r.floor_ms)
        cost = 1000 * best.seconds / max(best.completions, 1) / best.floor_ms
        lines.append(f"goal: order_flow over HTTP, a task <= 2x the in-memory engine's -> {verdict(cost <= 2)} "
                     f"({cost:.2f}x at best: {best.db}, {best.workers} workers x {best.threads} threads, "
                     f"{best.clients} clients)")
    return lines


def _csv(text: str, allowed: tuple[str, ...] | None = None, cast: Callable[[str], Any] = str) -> list:
    items = [cast(part.strip()) for part in text.split(",") if part.strip()]
    if allowed is not None:
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {', '.join(allowed)}")
    if not items:
        raise argparse.ArgumentTypeError("empty list")
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--orders", type=int, default=40, help="orders per configuration (default 40)")
    parser.add_argument("--clients", type=lambda t: _csv(t, cast=int), default=[1, 2, 8],
                        help="concurrent clients, comma-separated (default 1,2,8)")
    parser.add_argument("--db", type=lambda t: _csv(t, ("sqlite", "postgres")), default=["sqlite", "postgres"])
    parser.add_argument("--diagram", type=lambda t: _csv(t, ("small", "order_flow")), default=["small", "order_flow"])
    parser.add_argument("--workers", type=lambda t: _csv(t, cast=int), default=[1, 2],
                        help="gunicorn worker processes, comma-separated (default 1,2)")
    parser.add_argument("--threads", type=lambda t: _csv(t, cast=int), default=[1],
                        help="threads per gunicorn worker, comma-separated (default 1)")
    args = parser.parse_args()
    if args.orders < 1 or min(args.clients) < 1 or min(args.workers) < 1 or min(args.threads) < 1:
        parser.error("--orders, --clients, --workers and --threads must be at least 1")

    def interrupted(signum: int, _frame: Any) -> None:  # SIGTERM cleans up like Ctrl-C does
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)

    tasks_per_order = {diagram: FLOORS[diagram](1)[1] for diagram in args.diagram}  # and warm: parse, imports

    def floor(diagram: str) -> float:
        """ms per task of the bare engine in memory, now: the machine's load moves during a run"""
        progress(f"floor: {diagram} in the bare engine, in memory ({args.orders} orders) ...")
        seconds, steps = FLOORS[diagram](args.orders)
        return 1000 * seconds / steps
    runs: list[Run] = []
    skipped: list[str] = []
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="orderflow-load-") as tmp, contextlib.ExitStack() as stack:
            folder = Path(tmp)
            for db in args.db:
                if db == "postgres" and not postgres_installed():
                    skipped.append("postgres: skipped, the PostgreSQL server is not installed "
                                   "(sudo apt-get install postgresql)")
                    progress(skipped[-1])
                    continue
                cluster = stack.enter_context(postgres_cluster()) if db == "postgres" else None
                for workers, threads in ((w, t) for w in args.workers for t in args.threads):
                    if cluster is None:
                        url = f"sqlite:///{folder}/load-{workers}x{threads}.sqlite"
                    else:
                        url = postgres_database(cluster)
                    progress(f"{db} {workers}x{threads}: a fresh database (init-db, deploy, seed-demo) ...")
                    initialise(url, folder)
                    with gunicorn(url, folder, workers, threads) as (port, app_pid):
                        servers = (app_pid, postmaster(cluster) if cluster else None)
                        if "small" in args.diagram:
                            deploy_small(port)
                        for diagram in args.diagram:
                            # warm up every worker: imports, parsed diagram, compiled forms, connections
                            # (one order alone first: the first order of a day creates its number sequence)
                            measure(port, Run(db, diagram, workers, 1, threads), 1, warm_up=True)
                            if workers > 1:
                                measure(port, Run(db, diagram, workers, workers, threads), workers, warm_up=True)
                            floor_ms = floor(diagram)  # the server idle, just before its rows
                            for clients in args.clients:
                                run = Run(db, diagram, workers, clients, threads, floor_ms=floor_ms)
                                runs.append(measure(port, run, args.orders, servers=servers))
    except (CallFailed, RuntimeError) as exc:
        print(f"load: {exc}", file=sys.stderr)
        failed = True
    except KeyboardInterrupt:
        print("load: interrupted; servers and clusters stopped", file=sys.stderr)
        return 130
    print(f"{args.orders} orders per row; gunicorn gthread, server: workers x threads per worker; "
          f"scheduler off; {os.cpu_count()} CPUs; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if os.environ.get("ORDERFLOW_WORKFLOW_CACHE_VERIFY", "0").lower() not in ("0", "", "false", "off"):
        print("note: ORDERFLOW_WORKFLOW_CACHE_VERIFY is on: the servers check every kept workflow (slower)")
    for diagram, tasks in tasks_per_order.items():
        print(f"{diagram}: {tasks} tasks per order")
    print("floor: ms per task of the bare SpiffWorkflow engine, workflow in memory, one thread, the same "
          "orders, measured just before each server's rows; x floor: the row's ms/task over it")
    print("cpu app/db/client: CPU ms per task of the app server (all its processes), the database server "
          "(PostgreSQL's; SQLite runs inside the app) and this client, measured over the row")
    print(HEADER)
    for run in runs:
        print(row(run))
    for line in skipped:
        print(line)
    for line in goals(runs):
        print(line)
    reconnects = sum(run.reconnects for run in runs)
    if reconnects:
        print(f"note: {reconnects} calls were re-sent on a new connection (the server closed an idle one)")
    incomplete = [run for run in runs if run.verified != run.orders]
    for run in incomplete:
        print(f"NOT completed: {run.orders - run.verified} of {run.orders} orders in "
              f"{run.db} {run.workers}x{run.threads} {run.diagram} c{run.clients}")
    if runs and not failed and not incomplete:
        print(f"verified: all {sum(run.orders for run in runs)} orders completed")
    return 1 if failed or incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
