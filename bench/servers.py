"""The load benches' servers: gunicorn on a fresh database, a throwaway PostgreSQL cluster, and the
CPU their processes spent (from /proc). Used by bench/load.py; bench/timers.py, bench/scale.py
and bench/databases.py take the PostgreSQL parts."""
from __future__ import annotations

import contextlib
import glob
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATIENCE = 120.0  # seconds a server may take to start, a call to answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def progress(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group (gunicorn's master and workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def _env(url: str, folder: Path) -> dict[str, str]:
    return {**os.environ, "ORDERFLOW_DATABASE_URL": url, "ORDERFLOW_SECRET_KEY": "load-bench",
            "ORDERFLOW_INSTANCE_PATH": str(folder / "instance"), "ORDERFLOW_SCHEDULER": "off",
            "FLASK_APP": "app"}


def initialise(url: str, folder: Path) -> None:
    """What `make run` does to a new database: the schema, processes/ deployed, the demo users."""
    for command in (["init-db"], ["deploy"], ["seed-demo"]):
        done = subprocess.run([sys.executable, "-m", "flask", *command], cwd=ROOT, env=_env(url, folder),
                              capture_output=True, text=True, timeout=600, start_new_session=True)
        if done.returncode != 0:
            raise RuntimeError(f"flask {command[0]} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")


@contextlib.contextmanager
def gunicorn(url: str, folder: Path, workers: int, threads: int) -> Iterator[tuple[int, int]]:
    """A gunicorn server on a free port, in its own process group; stopped however the block ends.
    Yields the port and the master's pid (its process group)."""
    port = free_port()
    log = folder / f"gunicorn-{port}.log"
    args = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5",
            "--timeout", str(int(PATIENCE)), "app:app"]
    env = _env(url, folder)
    if workers > 1:  # as the README's Operations runs several workers: their metrics in shared files
        metrics = folder / f"metrics-{port}"
        metrics.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    with open(log, "ab") as out:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        end = time.monotonic() + PATIENCE
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        break
                finally:
                    conn.close()
            if time.monotonic() > end:
                raise RuntimeError(f"gunicorn did not answer: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        progress(f"gunicorn (process group {process.pid}) on port {port}: {workers} workers x {threads} threads")
        yield port, process.pid
    except Exception:  # the server's own account of a failure (not on Ctrl-C)
        if log.exists():
            print(f"--- the end of {log.name} ---\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        stop_group(process)


def tree_cpu(root: int | None) -> float:
    """CPU seconds (user + system) of a live process and its children, from /proc: a server's master
    and its workers, or PostgreSQL's postmaster and its backends."""
    if root is None:
        return 0.0
    total = 0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid, rest = Path(stat).read_text().split(" ", 1)
            fields = rest.rsplit(")", 1)[1].split()  # after the name: state, ppid, ..., utime (11), stime (12)
            if int(pid) == root or int(fields[1]) == root:
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postmaster(cluster_url: str) -> int | None:
    """The cluster's postmaster pid, from its data folder's postmaster.pid."""
    folder = Path(f"/tmp/orderflow-load-pg-{os.getpid()}") / "data" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(folder.read_text().split()[0])
    return None


def postgres_installed() -> bool:
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway cluster (tools/pg-test-cluster.sh) on a free port; removed however the block ends.
    Under /tmp itself: as root the server runs as 'postgres', which must reach the folder."""
    folder = Path(f"/tmp/orderflow-load-pg-{os.getpid()}")
    port = free_port()
    script = str(ROOT / "tools" / "pg-test-cluster.sh")
    try:
        done = subprocess.run([script, "start", str(folder), str(port)], capture_output=True, text=True,
                              timeout=300, start_new_session=True)
        if done.returncode != 0:
            raise RuntimeError(f"the PostgreSQL cluster did not start: {done.stderr[-2000:]}")
        yield done.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop", str(folder)], capture_output=True, timeout=120)


def postgres_database(cluster_url: str) -> str:
    """A new empty database in the cluster; its URL."""
    import psycopg
    name = f"load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return cluster_url.rsplit("/", 1)[0] + "/" + name
