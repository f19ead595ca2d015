"""The load benchmark still runs: a real gunicorn server on a fresh SQLite file, both diagrams driven
over HTTP by two clients, every order checked completed. Only that it runs, what it prints and that it
cleans up are checked; speed is never asserted in tests."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.multiprocess

ROOT = Path(__file__).resolve().parent.parent
LOAD = [sys.executable, str(ROOT / "bench" / "load.py")]


def test_the_load_benchmark_drives_both_diagrams_through_a_real_server_and_verifies_every_order():
    done = subprocess.run([*LOAD, "--orders", "2", "--clients", "2", "--db", "sqlite", "--workers", "1",
                           "--diagram", "small,order_flow"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    rows = {m.group(1): m for m in re.finditer(
        r"^sqlite\s+(small|order_flow)\s+1x1\s+2\s+2(?:\s+[\d.]+){4}\s+([\d.]+)/([\d.]+)/([\d.]+)"
        r"(?:\s+[\d.]+/[\d.]+/[\d.]+){3}\s+2/2 completed$", done.stdout, re.M)}
    assert set(rows) == {"small", "order_flow"}, done.stdout
    for row in rows.values():   # CPU per task: the server's is counted (SQLite has no server of its own)
        app_cpu, db_cpu, client_cpu = (float(row.group(n)) for n in (2, 3, 4))
        assert app_cpu > 0 and db_cpu == 0 and client_cpu > 0, row.group(0)
    for diagram, tasks in (("small", 6), ("order_flow", 25)):
        assert re.search(rf"^{diagram}: {tasks} tasks per order$", done.stdout, re.M), done.stdout
    assert "verified: all 4 orders completed" in done.stdout
    assert re.search(r"^goal: small on sqlite, best configuration >= 300 tasks/s -> (met|NOT met)", done.stdout, re.M)
    assert "gunicorn (process group" in done.stderr  # progress goes to stderr


def test_ctrl_c_stops_the_server_it_started():
    # as from a terminal: SIGINT at its default even where this suite runs in the background (make
    # test's SQLite pass: a background job's children start with SIGINT ignored, and Python keeps it so)
    bench = subprocess.Popen([*LOAD, "--orders", "500", "--clients", "2", "--db", "sqlite", "--workers", "1",
                              "--diagram", "small"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        group = None
        assert bench.stderr is not None
        for line in bench.stderr:
            if found := re.search(r"gunicorn \(process group (\d+)\)", line):
                group = int(found.group(1))
            if group and re.search(r": 500 orders \.\.\.", line):  # the measured run begins
                break
        assert group, "the server never started"
        bench.send_signal(signal.SIGINT)
        _, err = bench.communicate(timeout=120)
        assert bench.returncode == 130, err[-3000:]
        assert "interrupted" in err
        with pytest.raises(ProcessLookupError):
            os.killpg(group, 0)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
