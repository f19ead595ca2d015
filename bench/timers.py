"""Timer lateness: N timers due within the same few seconds, fired by the service's workers.

Starts N instances of a one-timer process whose timer date comes from the order data (first
stored with a far-away date, then all moved, in one transaction, to dates spread over --spread
seconds starting --lead seconds after that commit is expected), lets the workers fire them and
measures for each timer how late it fired (audit time minus due time). --workers 0 is the
in-process scheduler (what `flask run` and gunicorn start); N >= 1 starts N `flask worker`
processes (what a node with ORDERFLOW_SCHEDULER=off relies on). On SQLite and, with
--db postgres, on a throwaway PostgreSQL cluster (tools/pg-test-cluster.sh).
Prints p50/p99/max lateness and timer jobs per second. Issue 16's goal: 10,000 timers due within
the same 10 s fire with p99 lateness <= 1 s using two worker processes.
Usage: python bench/timers.py [--timers 10000] [--spread 10] [--workers 2] [--db sqlite,postgres]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.databases import database  # noqa: E402
from bench.servers import postgres_installed, stop_group  # noqa: E402
from orderflow import create_app  # noqa: E402
from orderflow.core.models import AuditEvent, Instance, User  # noqa: E402
from orderflow.workflow import instances, processes, runs  # noqa: E402
from tests.support.bpmn_samples import timer_process  # noqa: E402

PATIENCE = 300.0   # seconds the bench waits for the last timer past its due time before it gives up


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", file=sys.stderr, flush=True)
    if done == total:
        print(file=sys.stderr)


def say(message: str) -> None:
    print(f"[timers {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _env(url: str, folder: Path) -> dict[str, str]:
    return {**os.environ, "ORDERFLOW_DATABASE_URL": url, "ORDERFLOW_SECRET_KEY": "timers-bench",
            "ORDERFLOW_INSTANCE_PATH": str(folder / "instance"), "ORDERFLOW_SCHEDULER": "off",
            "FLASK_APP": "app"}


@contextlib.contextmanager
def workers(count: int, url: str, folder: Path) -> Iterator[list[subprocess.Popen]]:
    """``count`` `flask worker` processes, each in its own process group, ready (they said so)
    before the block runs; stopped (SIGTERM: each finishes its sweep) however it ends."""
    started: list[subprocess.Popen] = []
    try:
        for n in range(count):
            log = open(folder / f"worker-{n}.log", "wb+")   # noqa: SIM115 - read back below, closed with the process
            started.append(subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT,
                                            env=_env(url, folder), stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True))
        for n, process in enumerate(started):
            end = time.monotonic() + PATIENCE
            while b"running" not in (folder / f"worker-{n}.log").read_bytes():
                if process.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"worker {n} did not start: "
                                       f"{(folder / f'worker-{n}.log').read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)
        yield started
    finally:
        for process in started:
            stop_group(process)


def run(kind: str, args: argparse.Namespace) -> bool:
    with tempfile.TemporaryDirectory() as name, database(kind, name, "timers") as url:
        folder = Path(name)
        app = create_app({"TESTING": True, "SECRET_KEY": "timers-bench", "ORDERFLOW_DATABASE_URL": url})
        runner = app.test_cli_runner()
        for command in (["init-db"], ["seed-demo"]):
            done = runner.invoke(args=command)
            assert done.exit_code == 0, done.output
        db = app.extensions["orderflow.db"]
        xml = timer_process("fire_at", pid="bench_timer").replace("timeDuration", "timeDate")
        with db.session() as s:
            processes.deploy(s, None, {"bench_timer.bpmn": xml}, check_permission=False)
            s.commit()
            admin = s.scalar(select(User).where(User.username == "admin"))
        # pass 1: store the instances with far-away timers; pass 2 sets the real due times
        started = time.perf_counter()
        ids: list[int] = []
        far = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        batch = 100
        for offset in range(0, args.timers, batch):
            with db.session() as s:
                actor = s.merge(admin, load=False)
                for _ in range(min(batch, args.timers - offset)):
                    ids.append(instances.start(s, actor, "bench_timer", {"fire_at": far}).id)
                s.commit()
            progress(f"{kind}: starting instances", len(ids), args.timers)
        create_seconds = time.perf_counter() - started
        with contextlib.ExitStack() as stack:
            if args.workers:
                stack.enter_context(workers(args.workers, url, folder))
                say(f"{kind}: {args.workers} worker process(es) running")
            # moving every timer costs about what storing the instances did: the first falls due
            # --lead seconds after that (and the commit is checked against it below)
            first_due = datetime.now(UTC) + timedelta(seconds=args.lead + 1.5 * create_seconds)
            due = {iid: first_due + timedelta(seconds=args.spread * n / len(ids)) for n, iid in enumerate(ids)}
            _reschedule(db, due)
            committed = datetime.now(UTC)
            if committed >= first_due:
                say(f"{kind}: the due times were committed {(committed - first_due).total_seconds():.1f} s after "
                    f"the first fell due: rerun with a longer --lead")
                return False
            if not args.workers:
                scheduler = app.extensions["orderflow.scheduler"]
                scheduler.start()
                stack.callback(scheduler.shutdown)
            deadline, shown = due[ids[-1]] + timedelta(seconds=PATIENCE), -1
            while datetime.now(UTC) < deadline:
                with db.session() as s:
                    done_count = s.scalar(select(func.count()).select_from(Instance)
                                          .where(Instance.status == "completed")) or 0
                if done_count != shown:
                    progress(f"{kind}: firing timers     ", done_count, len(ids))
                    shown = done_count
                if done_count == len(ids):
                    break
                time.sleep(0.25)
        with db.session() as s:
            fired = dict(s.execute(select(AuditEvent.instance_id, AuditEvent.at)
                                   .where(AuditEvent.action == "timer_fired")).all())
        db.engine.dispose()
    late = sorted((fired[i] - due[i]).total_seconds() for i in ids if i in fired)
    if not late:
        print(f"{kind}: no timer fired")
        return False
    span = (max(fired.values()) - min(fired.values())).total_seconds() or 1e-9
    p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
    who = f"{args.workers} worker process(es)" if args.workers else "the in-process scheduler"
    print(f"{kind}: {len(ids)} timers due within {args.spread:g} s, fired by {who} "
          f"(instances stored in {create_seconds:.1f} s)")
    print(f"{kind}: lateness  p50 {statistics.median(late) * 1000:7.0f} ms   p99 {p99 * 1000:7.0f} ms   "
          f"max {late[-1] * 1000:7.0f} ms   (goal: p99 <= 1000 ms: {'met' if p99 <= 1.0 else 'NOT met'})")
    print(f"{kind}: throughput {len(late) / span:7.0f} timer jobs/s while firing")
    if len(late) < len(ids):
        print(f"{kind}: only {len(late)} of {len(ids)} timers fired")
        return False
    return True


def _reschedule(db, due: dict[int, datetime]) -> None:
    """Set each instance's timer date in its data and state, as if it had been started with it."""
    with db.session() as s:
        for n, (iid, when) in enumerate(due.items(), 1):
            instance = s.get(Instance, iid)
            pdef, workflow = runs.load(s, instance, None)
            for task in workflow.get_tasks():
                if "event_value" in task.internal_data:
                    task.internal_data["event_value"] = when.isoformat()
            runs.store_workflow(s, instance, pdef, workflow)
            if n % 100 == 0 or n == len(due):
                progress("moving the timers   ", n, len(due))
        s.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which the timers fall due")
    parser.add_argument("--lead", type=float, default=3.0,
                        help="seconds between moving the timers (estimated) and the first due time")
    parser.add_argument("--workers", type=int, default=2,
                        help="`flask worker` processes; 0: the in-process scheduler")
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres or both (comma-separated)")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    if "postgres" in kinds and not postgres_installed():
        say("PostgreSQL is not installed: its run is skipped")
        kinds.remove("postgres")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # clean up the workers as Ctrl-C does
    results = [run(kind, args) for kind in kinds]   # every database runs, whatever the first gave
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
