"""The throughput benchmark still runs: it drives the shipped order flow through the bare engine with
our handlers, so a new handler capability it lacks breaks it (it did once, with ctx.start_process).
Only that it runs and what it prints are checked; speed is never asserted in tests."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.multiprocess

ROOT = Path(__file__).resolve().parent.parent


def test_the_throughput_benchmark_runs_one_order_each_way():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "throughput.py"), "--orders", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {m.group(1) for m in re.finditer(r"^(memory|bare|cold|domain|http)(\s+[\d.]+){4}$", done.stdout, re.M)}
    assert rows == {"memory", "bare", "cold", "domain", "http"}, done.stdout
    assert re.search(r"^goal: an HTTP step <= 2x an in-memory engine step -> (met|NOT met)", done.stdout, re.M)
    assert re.search(r"1 orders, \d+ user steps each", done.stdout), done.stdout


def test_the_time_limits_benchmark_runs_and_the_shipped_tree_is_the_lighter_one():
    """bench/time_limits.py: the order flow with its boundary timers put back against the shipped one
    (time limits as sla properties). Only the tree sizes are checked, never the speed."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "time_limits.py"), "--orders", "1", "--repeat", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {m.group(1): [float(v) for v in m.group(2).split()] for m in re.finditer(
        r"^(boundary timers \(before\)|sla property \(now\))\s+([\d. ]+)$", done.stdout, re.M)}
    assert set(rows) == {"boundary timers (before)", "sla property (now)"}, done.stdout
    before, now = rows["boundary timers (before)"], rows["sla property (now)"]
    assert now[2] < before[2] * 0.6 and now[3] < before[3] and now[4] < before[4] / 2   # tasks, state, specs
    assert now[5] * 3 < now[3]   # the state as stored (compressed) is under a third of its JSON


def test_the_looping_benchmark_runs_an_order_round_its_loop():
    """bench/looping.py: one order through 20 rounds of a rework loop, service and bare engine; only
    that it runs to the end and prints its rows is checked, never the costs."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "looping.py"), "--steps", "20", "--repeat", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {m.group(1) for m in re.finditer(r"^(service|memory)(\s+[\d.]+){3}$", done.stdout, re.M)}
    assert rows == {"service", "memory"}, done.stdout
    assert re.search(r"^state after 20 steps: \d+ bytes of JSON$", done.stdout, re.M), done.stdout
    assert re.search(r"^goal: step 20 <= 2x step 10 -> (met|NOT met)", done.stdout, re.M), done.stdout


def test_the_timers_benchmark_fires_every_timer_through_a_worker_process():
    """bench/timers.py with ten timers and one `flask worker`: every timer fires and the report is
    printed. The lead is long enough for a loaded machine to move ten timers before the first falls
    due; lateness is printed, never asserted."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "timers.py"), "--timers", "10", "--spread", "1",
                           "--lead", "15", "--workers", "1", "--db", "sqlite"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert re.search(r"^sqlite: 10 timers due within 1 s, fired by 1 worker process\(es\)", done.stdout, re.M)
    assert re.search(r"^sqlite: lateness\s+p50\s+-?\d+ ms\s+p99\s+-?\d+ ms\s+max\s+-?\d+ ms", done.stdout, re.M)
    assert re.search(r"^sqlite: throughput\s+\d+ timer jobs/s while firing$", done.stdout, re.M), done.stdout
