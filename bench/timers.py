"""Timer lateness: N timers due within the same few seconds, fired by the in-process scheduler.

Starts N instances of a one-timer process whose timer date comes from the order data
(spread over --spread seconds, starting --lead seconds after the last instance is stored),
starts the scheduler, and measures for each timer how late it fired (audit time minus due
time). Prints p50/p99/max lateness and jobs per second. Goal: p99 <= 1 s on SQLite.
Usage: python bench/timers.py [--timers 1000] [--spread 3] [--workers 1]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from orderflow import create_app  # noqa: E402
from orderflow.core.models import AuditEvent, Instance, User  # noqa: E402
from orderflow.workflow import instances, runs  # noqa: E402
from tests.support.bpmn_samples import timer_process  # noqa: E402


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", flush=True)
    if done == total:
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=3.0, help="seconds over which the timers fall due")
    parser.add_argument("--lead", type=float, default=3.0, help="seconds between the last start and the first due")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench",
                          "ORDERFLOW_DATABASE_URL": f"sqlite:///{folder}/timers.sqlite"})
        runner = app.test_cli_runner()
        for command in (["init-db"], ["seed-demo"]):
            assert runner.invoke(args=command).exit_code == 0
        db = app.extensions["orderflow.db"]
        from orderflow.workflow import processes
        xml = timer_process("fire_at", pid="bench_timer").replace("timeDuration", "timeDate")
        with db.session() as s:
            processes.deploy(s, None, {"bench_timer.bpmn": xml}, check_permission=False)
            s.commit()
            admin = s.scalar(select(User).where(User.username == "admin"))
        # pass 1: store the instances with far-away timers; pass 2 below sets the real due times
        started = time.perf_counter()
        ids = []
        far = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        batch = 100
        for offset in range(0, args.timers, batch):
            with db.session() as s:
                actor = s.merge(admin, load=False)
                for _ in range(min(batch, args.timers - offset)):
                    ids.append(instances.start(s, actor, "bench_timer", {"fire_at": far}).id)
                s.commit()
            progress("starting instances", len(ids), args.timers)
        create_seconds = time.perf_counter() - started
        first_due = datetime.now(UTC) + timedelta(seconds=args.lead)
        due = {iid: first_due + timedelta(seconds=args.spread * n / args.timers) for n, iid in enumerate(ids)}
        _reschedule(db, due)
        scheduler = app.extensions["orderflow.scheduler"]
        scheduler.start()
        try:
            deadline = time.monotonic() + args.lead + args.spread + 120
            while time.monotonic() < deadline:
                with db.session() as s:
                    done = s.query(Instance).filter(Instance.status == "completed").count()
                progress("firing timers     ", done, args.timers)
                if done == args.timers:
                    break
                time.sleep(0.25)
        finally:
            scheduler.shutdown()
        with db.session() as s:
            fired = dict(s.execute(select(AuditEvent.instance_id, AuditEvent.at)
                                   .where(AuditEvent.action == "timer_fired")).all())
        app.extensions["orderflow.db"].engine.dispose()
    late = sorted((fired[i] - due[i]).total_seconds() for i in ids if i in fired)
    if len(late) < len(ids):
        print(f"only {len(late)} of {len(ids)} timers fired")
    span = (max(fired.values()) - min(fired.values())).total_seconds() or 1e-9
    p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
    print(f"{len(ids)} timers due within {args.spread:.0f} s (instances stored in {create_seconds:.1f} s)")
    print(f"lateness  p50 {statistics.median(late) * 1000:7.0f} ms   p99 {p99 * 1000:7.0f} ms   "
          f"max {late[-1] * 1000:7.0f} ms   (goal: p99 <= 1000 ms: {'met' if p99 <= 1.0 else 'NOT met'})")
    print(f"throughput {len(late) / span:7.0f} timer jobs/s while firing")


def _reschedule(db, due: dict[int, datetime]) -> None:
    """Set each instance's timer date in its data and state, as if it had been started with it."""
    from orderflow.workflow import processes as procs
    with db.session() as s:
        for iid, when in due.items():
            instance = s.get(Instance, iid)
            pdef, workflow = runs.load(s, instance, None)
            for task in workflow.get_tasks():
                if "event_value" in task.internal_data:
                    task.internal_data["event_value"] = when.isoformat()
            runs.store_workflow(s, instance, pdef, workflow)
        s.commit()
    del procs


if __name__ == "__main__":
    main()
