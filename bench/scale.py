"""Scale: the managers' and clerks' read paths over a database of many orders.

Builds a temporary database (a SQLite file, or with --db postgres a throwaway PostgreSQL cluster) with
the app (init-db, deploy, seed-demo), then BULK-loads N orders of order_flow without running the engine:
instance rows (no engine state: the read paths measured never load it) with customers, totals, promised
dates and statuses (about 70 % running, 30 % completed) started over the last year; per running order
one ready task at a step of the flow (some overdue) and the finished tasks of the steps before it; per
completed order all its finished tasks; and the task_stats roll-up the analytics read, consistent with
those rows. Then it times each endpoint through Flask's test client with HTTP Basic (3 warm-ups, then
--repeat timed requests) and prints p50/p95 against the goals.

Usage: python bench/scale.py [--orders 100000] [--db sqlite|postgres] [--repeat 50] [--seed 1] [--analyze] [--keep FILE]
"""
from __future__ import annotations

import argparse
import base64
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import click  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.databases import bulk_insert, database, size_mb  # noqa: E402
from bench.servers import postgres_installed  # noqa: E402
from orderflow.core.models import HumanTask, Instance, TaskStat  # noqa: E402
from orderflow.demo.demo_data import CUSTOMERS  # noqa: E402
from orderflow.demo.simulate import MAIN_PATH, MEDIAN, SIGMA  # noqa: E402
from orderflow.orders.analytics import bucket_of  # noqa: E402 - the roll-up's own histogram
from orderflow.workflow import definitions  # noqa: E402

PROCESS = "order_flow"
CHUNK = 10_000
YEAR = 365 * 86400.0
RUNNING_SHARE = 0.70

# exceptions: (probability, step after which it happens, the steps inserted there (a loop ends
# with the anchor again), the anchor's decision on its first visit)
DETOURS = [
    (0.05, "check_stock", ["handle_shortage"], "shortage"),
    (0.06, "confirm_sample", ["revise_sample", "confirm_sample"], "revise"),
    (0.04, "review_contract", ["draft_contract", "review_contract"], "revise"),
    (0.08, "confirm_deposit", ["chase_deposit", "confirm_deposit"], "shortfall"),
    (0.07, "track_materials", ["expedite_purchase", "track_materials"], "shortage"),
    (0.05, "produce", ["test_change", "confirm_change", "produce"], "change_request"),
    (0.10, "qc_inspection", ["rework", "qc_inspection"], "fail"),
    (0.04, "confirm_balance", ["chase_balance", "confirm_balance"], "shortfall"),
]
CITIES = ["Shenzhen", "Guangzhou", "Dongguan", "Ningbo", "Xiamen", "Chengdu", "Wuhan", "Hong Kong", "Dubai", "Riyadh",
          "Cairo", "Lagos", "Nairobi", "Johannesburg", "Istanbul", "Warsaw", "Kyiv", "Tashkent", "Almaty", "Karachi",
          "Dhaka", "Jakarta", "Manila", "Hanoi", "Bangkok", "Kuala Lumpur", "Sao Paulo", "Lima", "Bogota",
          "Mexico City", "Santiago", "Buenos Aires", "Tehran", "Baghdad", "Casablanca", "Algiers", "Accra",
          "Addis Ababa"]
TRADES = ["Electronics", "Digital", "Vision", "Home Appliances", "Satellite", "Telecom Supply", "Media", "Screens",
          "Smart TV", "Cable Partners", "Consumer Tech", "Trading"]
FORMS_ = ["Ltd", "Co.", "Group", "LLC", "JSC", "S.A.", "Pvt Ltd", "FZE"]


@dataclass
class LoadStats:
    orders: int = 0
    running: int = 0
    completed: int = 0
    tasks: int = 0
    ready: int = 0
    overdue: int = 0
    stat_rows: int = 0
    seconds: float = 0.0


def make_app(url: str):
    from orderflow import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "ORDERFLOW_DATABASE_URL": url})
    runner = app.test_cli_runner()
    for command in (["init-db"], ["deploy"], ["seed-demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    return app


def _flat(path) -> list[str]:
    steps: list[str] = []
    for step in path:
        if isinstance(step, tuple):
            for branch in step:
                steps.extend(branch)
        else:
            steps.append(step)
    return steps


class _Steps:
    """What each user task of the deployed order_flow needs in a row: group, name, form, limit."""

    def __init__(self, row, pdef):
        self.info = {}
        for element_id, info in pdef.elements.items():
            if info.kind != "userTask":
                continue
            schema = row.forms.get(info.form_key or "", {})
            enum = ((schema.get("properties") or {}).get("decision") or {}).get("enum") or [None]
            limit = _limit_seconds(info.sla)
            self.info[element_id] = (info.name, info.group, info.form_key, limit, enum[0])
        self.main = [s for s in _flat(MAIN_PATH) if s in self.info]
        self.detours = [d for d in DETOURS if d[1] in self.info and all(s in self.info for s in d[2])]


def _limit_seconds(sla: str | None) -> float | None:
    from orderflow.engine import due_at
    base = datetime(2026, 1, 1, tzinfo=UTC)
    due = due_at(sla, base)
    return (due - base).total_seconds() if due is not None else None


def _customers(rng: random.Random) -> list[str]:
    names = [c[0] for c in CUSTOMERS]
    while len(names) < 400:
        name = f"{rng.choice(CITIES)} {rng.choice(TRADES)} {rng.choice(FORMS_)}"
        if name not in names:
            names.append(name)
    return names


def _path(rng: random.Random, steps: _Steps, vp_share: float = 0.05) -> list[tuple[str, str | None]]:
    """The steps one order goes through, with each step's decision."""
    path: list[tuple[str, str | None]] = []
    big = rng.random() < vp_share
    for element_id in steps.main:
        if element_id == "approve_order_manager" and big and "approve_order_vp" in steps.info:
            element_id = "approve_order_vp"
        path.append((element_id, steps.info[element_id][4]))
        for probability, anchor, inserted, first_decision in steps.detours:
            if anchor == element_id and rng.random() < probability:
                path[-1] = (element_id, first_decision)
                path.extend((s, steps.info[s][4]) for s in inserted)
    return path


def load(db, orders: int, seed: int = 1, now: datetime | None = None,
         progress: Callable[[int], None] | None = None) -> LoadStats:
    """Bulk-insert ``orders`` orders (instances, human tasks, task_stats) into ``db``."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    now_s = now.timestamp()
    progress = progress or (lambda n: None)
    stats = LoadStats(orders=orders)
    with db.session() as session:
        row = definitions.latest_version(session, PROCESS)
        if row is None:
            raise LookupError(f"{PROCESS} is not deployed")
        steps = _Steps(row, definitions.definition(session, row))
        customers = _customers(rng)
        threshold = float(db.platform.config.get("ORDERFLOW_APPROVAL_THRESHOLD", 100000))
        first_id = (session.scalar(select(Instance.id).order_by(Instance.id.desc()).limit(1)) or 0) + 1
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
        # indexes are built once at the end: much faster than keeping them up to date row by row
        indexes = [ix for table in (Instance.__table__, HumanTask.__table__) for ix in table.indexes]  # type: ignore[attr-defined]
        for ix in indexes:
            ix.drop(conn, checkfirst=True)
        session.commit()

        day_counters: dict[str, int] = {}
        task_stats: dict[tuple, list] = {}
        seq = 0
        instances_rows: list[dict] = []
        task_rows: list[dict] = []
        dt = lambda s: datetime.fromtimestamp(s, UTC)  # noqa: E731

        def flush() -> None:
            bulk_insert(session, Instance, instances_rows)
            instances_rows.clear()
            for i in range(0, len(task_rows), CHUNK):
                bulk_insert(session, HumanTask, task_rows[i:i + CHUNK])
            task_rows.clear()
            session.commit()

        for n in range(orders):
            instance_id = first_id + n
            path = _path(rng, steps, vp_share=0.05)
            running = rng.random() < RUNNING_SHARE
            k = rng.randrange(len(path)) if running else len(path)
            waits = []
            for element_id, _ in path[:k]:
                limit = steps.info[element_id][3] or 86400.0
                factor = math.exp(rng.gauss(math.log(MEDIAN), SIGMA))
                waits.append(limit * factor)
            prior = sum(waits)
            if running:
                limit = steps.info[path[k][0]][3] or 86400.0
                ready_s = now_s - limit * math.exp(rng.gauss(math.log(0.5), 0.9))  # ~22 % overdue
                start_s = ready_s - prior
            else:
                start_s = now_s - prior - rng.uniform(3600.0, max(YEAR - prior, 86400.0))
            started_at = dt(start_s)
            day = started_at.strftime("%Y%m%d")
            day_counters[day] = day_counters.get(day, 0) + 1
            big = any(e == "approve_order_vp" for e, _ in path)
            total = round(threshold * rng.uniform(1.05, 3.0) if big else
                          min(threshold, math.exp(rng.gauss(math.log(25000), 0.9))), 2)
            outcome = None
            t = start_s
            for (element_id, decision), wait in zip(path, waits):
                name, group, form_key, limit, _ = steps.info[element_id]
                due_s = t + limit if limit is not None else None
                done_s = t + wait
                seq += 1
                task_rows.append({
                    "instance_id": instance_id, "process_key": PROCESS, "process_version_id": row.id,
                    "task_uuid": f"00000000-0000-4000-8000-{seq:012x}", "element_id": element_id, "name": name,
                    "group_id": group, "form_key": form_key, "status": "completed", "assignee": None,
                    "ready_at": dt(t), "due_at": dt(due_s) if due_s is not None else None,
                    "completed_at": dt(done_s), "completed_by": f"{group}1" if group else "admin",
                    "data": {"decision": decision} if decision else None, "context": None})
                key = (PROCESS, element_id, dt(done_s).date(), group or "")
                acc = task_stats.get(key)
                if acc is None:
                    acc = task_stats[key] = [0, 0, 0, 0.0, [], {}]
                acc[0] += 1
                if due_s is not None:
                    acc[1] += 1
                    acc[2] += done_s <= due_s
                acc[3] += wait
                index = bucket_of(wait)
                if len(acc[4]) <= index:
                    acc[4].extend([0] * (index + 1 - len(acc[4])))
                acc[4][index] += 1
                if decision:
                    acc[5][decision] = acc[5].get(decision, 0) + 1
                t = done_s
            if running:
                element_id = path[k][0]
                name, group, form_key, limit, _ = steps.info[element_id]
                seq += 1
                due_s = t + limit if limit is not None else None
                task_rows.append({
                    "instance_id": instance_id, "process_key": PROCESS, "process_version_id": row.id,
                    "task_uuid": f"00000000-0000-4000-8000-{seq:012x}", "element_id": element_id, "name": name,
                    "group_id": group, "form_key": form_key, "status": "ready",
                    "assignee": f"{group}1" if group and rng.random() < 0.15 else None,
                    "ready_at": dt(t), "due_at": dt(due_s) if due_s is not None else None,
                    "completed_at": None, "completed_by": None, "data": None, "context": None})
                stats.ready += 1
                stats.overdue += due_s is not None and due_s < now_s
                stats.running += 1
            else:
                outcome = "completed"
                stats.completed += 1
            stats.tasks += k + (1 if running else 0)
            customer = rng.choice(customers)
            instances_rows.append({
                "id": instance_id, "process_version_id": row.id, "process_key": PROCESS,
                "business_key": f"SO-{day}-{day_counters[day]:04d}", "status": "running" if running else "completed",
                "lock_version": 1, "started_by": "sales1", "started_at": started_at,
                "updated_at": dt(t), "ended_at": None if running else dt(t), "next_timer_at": None,
                "customer": customer, "order_total": total,
                "promised_date": (started_at + timedelta(days=rng.randint(45, 90))).date(), "outcome": outcome})
            if len(task_rows) >= 5 * CHUNK:
                flush()
            if (n + 1) % 1000 == 0:
                progress(1000)
        flush()
        progress(orders % 1000)

        stat_rows = [{"process_key": key[0], "element_id": key[1], "day": key[2], "group_id": key[3],
                      "completed": a[0], "with_due": a[1], "on_time": a[2], "total_seconds": a[3],
                      "buckets": a[4], "decisions": a[5]} for key, a in task_stats.items()]
        for i in range(0, len(stat_rows), CHUNK):
            bulk_insert(session, TaskStat, stat_rows[i:i + CHUNK])
        stats.stat_rows = len(stat_rows)
        session.commit()
        conn = session.connection()
        for ix in indexes:
            ix.create(conn, checkfirst=True)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        session.commit()
    stats.seconds = time.perf_counter() - started
    return stats


# -- measuring ---------------------------------------------------------------------------

ENDPOINTS = [  # label, user, path, goal p95 ms (None: report only); issue 16: inbox 20 ms, board 50 ms at 1M orders
    ("inbox API", "warehouse1", "/api/v1/tasks?scope=groups", 20),
    ("inbox page", "warehouse1", "/inbox", None),
    ("board API", "manager1", "/api/v1/board", 50),
    ("board API warehouse+overdue", "manager1", "/api/v1/board?group=warehouse&overdue=1", 50),
    ("board page", "manager1", "/board", 100),
    ("board page warehouse+overdue", "manager1", "/board?group=warehouse&overdue=1", 100),
    ("monitor API", "manager1", "/api/v1/monitor/elements?process=order_flow", 50),
    ("analytics page", "manager1", "/analytics", 500),
    ("analytics API", "manager1", "/api/v1/analytics", 500),
]


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:demo".encode()).decode()}


def measure(app, repeat: int = 50, warmup: int = 3, budget: float = 30.0) -> list[tuple]:
    """(label, path, p50, p95, goal, note) per endpoint; a slow endpoint gets fewer timed
    requests (at least 10) so that it takes about ``budget`` seconds, and says so in the note."""
    client = app.test_client()
    results: list[tuple[str, str, float | None, float | None, int | None, str | None]] = []
    for label, user, path, goal in ENDPOINTS:
        headers = _auth(user)
        t0 = time.perf_counter()
        resp = client.get(path, headers=headers)
        first = time.perf_counter() - t0
        if resp.status_code == 404:
            results.append((label, path, None, None, goal, "not available"))
            continue
        if resp.status_code != 200:
            results.append((label, path, None, None, goal, f"HTTP {resp.status_code}"))
            continue
        for _ in range(warmup - 1):
            client.get(path, headers=headers)
        count = max(10, min(repeat, int(budget / max(first, 1e-3))))
        samples = []
        for _ in range(count):
            t0 = time.perf_counter()
            resp = client.get(path, headers=headers)
            samples.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, (path, resp.status_code)
        samples.sort()
        p50 = statistics.median(samples)
        p95 = samples[min(len(samples) - 1, math.ceil(0.95 * len(samples)) - 1)]
        results.append((label, path, p50, p95, goal, None if count == repeat else f"{count} requests"))
    return results


def print_table(results: list[tuple]) -> bool:
    print(f"{'endpoint':<30}{'path':<46}{'p50 ms':>9}{'p95 ms':>9}{'goal':>9}  met?")
    all_met = True
    for label, path, p50, p95, goal, note in results:
        goal_text = f"<={goal}" if goal else "-"
        if p50 is None:
            print(f"{label:<30}{path:<46}{note:>18}{goal_text:>9}  -")
            continue
        met = "-" if goal is None else ("yes" if p95 <= goal else "NO")
        all_met &= met != "NO"
        print(f"{label:<30}{path:<46}{p50:>9.1f}{p95:>9.1f}{goal_text:>9}  {met}{f'  ({note})' if note else ''}")
    return all_met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite",
                        help="a SQLite file, or a throwaway PostgreSQL cluster (tools/pg-test-cluster.sh)")
    parser.add_argument("--analyze", action="store_true", help="refresh the planner's statistics after loading")
    parser.add_argument("--keep", type=Path, help="SQLite: copy the loaded database here for a look afterwards")
    args = parser.parse_args()
    if args.db == "postgres" and not postgres_installed():
        raise click.ClickException("PostgreSQL is not installed (apt-get install postgresql)")
    with tempfile.TemporaryDirectory() as folder, database(args.db, folder, "scale") as url:
        t0 = time.perf_counter()
        app = make_app(url)
        db = app.extensions["orderflow.db"]
        with click.progressbar(length=args.orders, label=f"Loading {args.orders} orders", file=sys.stderr) as bar:
            stats = load(db, args.orders, seed=args.seed, progress=bar.update)
        if args.analyze:
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        loaded = time.perf_counter() - t0
        print(f"Loaded {stats.orders} orders ({stats.running} running, {stats.completed} completed), "
              f"{stats.tasks} task rows ({stats.ready} ready, {stats.overdue} overdue), {stats.stat_rows} "
              f"task_stats rows in {stats.seconds:.1f} s (with app setup {loaded:.1f} s); "
              f"{args.db} database {size_mb(db.engine, folder, 'scale'):.0f} MB")
        results = measure(app, args.repeat)
        print(f"\n{args.repeat} requests each after 3 warm-ups, Flask test client, HTTP Basic, {args.db}"
              f"{', after ANALYZE' if args.analyze else ''}:")
        met = print_table(results)
        print(f"\ngoals: {'all met' if met else 'NOT all met'}")
        if args.keep and args.db == "sqlite":
            db.engine.dispose()
            shutil.copy(Path(folder) / "scale.sqlite", args.keep)
        db.engine.dispose()


if __name__ == "__main__":
    main()
