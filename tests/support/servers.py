"""Real app server processes (gunicorn, as in production) and a small HTTP client for load tests."""
from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
#: Seconds any wait on another process may take (a node answering, a node exiting, a response, rows
#: changing). Waits are on events; the bound only ends a hang, so it is far above anything a loaded
#: machine (load average 16) needs and never decides a pass.
PATIENCE = 600.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Node:
    """One app node: a gunicorn master with its workers, in its own process group (killable at once)."""

    def __init__(self, database_url: str, folder: Path, scheduler: bool = True, workers: int = 2, threads: int = 8):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"node-{self.port}.log"
        self.env = {**os.environ, "ORDERFLOW_DATABASE_URL": database_url, "ORDERFLOW_SECRET_KEY": "load",
                    "ORDERFLOW_INSTANCE_PATH": str(folder / "instance"), "ORDERFLOW_SWEEP_SECONDS": "0.5",
                    "ORDERFLOW_SCHEDULER": "on" if scheduler else "off"}
        self.args = [GUNICORN, "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                     "--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "5", "--timeout", str(int(PATIENCE)),
                     "app:app"]
        self.process: subprocess.Popen | None = None

    def start(self, wait: float = PATIENCE) -> Node:
        with open(self.log, "ab") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        end = time.monotonic() + wait
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"the node exited: {self.log.read_text()[-2000:]}")
            try:
                if request("GET", self.base + "/healthz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the node did not answer: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the master and every worker: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=PATIENCE)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=PATIENCE)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def auth(user: str, password: str = "demo") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def request(method: str, url: str, body=None, user: str | None = None, timeout: float = PATIENCE) -> tuple[int, dict | None]:
    """(status, JSON body or None). Connection errors raise OSError (the server is gone)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {}),
               **(auth(user) if user else {})}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    except http.client.HTTPException as error:  # a node killed mid-answer cuts the body short
        raise ConnectionError(f"{method} {url}: {error!r}") from error
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None
