"""1,000 concurrent attempts, from several client processes and threads, against two app nodes.

Completing one task: exactly one attempt succeeds. Completing parallel branches at once:
exactly one success per branch, and the engine state holds all of them (no lost update).
Runs on SQLite and, in the PostgreSQL pass of ``make test``, on PostgreSQL.
"""
from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from orderflow import create_app
from tests.support.helpers import Api, fill
from tests.support.orders import assert_consistent
from tests.support.servers import PATIENCE, Node, request

pytestmark = pytest.mark.multiprocess

ATTEMPTS = 1000
CLIENT_PROCESSES = 4
THREADS_PER_PROCESS = 25


_start: Any = None   # a client process's copy of the barrier every client process meets at


def _meet_at(barrier: Any) -> None:
    global _start
    _start = barrier


def _fire(base: str, calls: list[tuple[str, int, dict]]) -> list[tuple[int, int, str]]:
    """One client process: THREADS_PER_PROCESS threads share ``calls``; they begin once every client
    process has its threads ready (a barrier, not a time: a loaded machine starts processes late)."""
    results: list[tuple[int, int, str]] = []
    lock = threading.Lock()
    chunks = [calls[i::THREADS_PER_PROCESS] for i in range(THREADS_PER_PROCESS)]
    ready = threading.Barrier(THREADS_PER_PROCESS + 1)

    def run(chunk):
        ready.wait()
        for user, task_id, body in chunk:
            try:
                status, answer = request("POST", f"{base}/api/v1/tasks/{task_id}/complete", body, user)
                code = (answer or {}).get("error", {}).get("code", "") if status != 200 else ""
            except OSError as exc:
                status, code = 0, type(exc).__name__
            with lock:
                results.append((task_id, status, code))

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    _start.wait(PATIENCE)   # a bound for a client that never came, not a guard on speed
    ready.wait()
    for t in threads:
        t.join()
    return results


def hammer(nodes: list[Node], calls: list[tuple[str, int, dict]]) -> list[tuple[int, int, str]]:
    """Spread ``calls`` over client processes and the nodes; every process starts at the same moment."""
    per_process = [calls[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    start = multiprocessing.Barrier(CLIENT_PROCESSES)
    with ProcessPoolExecutor(CLIENT_PROCESSES, initializer=_meet_at, initargs=(start,)) as pool:
        futures = [pool.submit(_fire, nodes[i % len(nodes)].base, part) for i, part in enumerate(per_process)]
        return [r for f in futures for r in f.result()]


@pytest.fixture
def cluster(seeded_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "load", "ORDERFLOW_DATABASE_URL": seeded_url})
    nodes = [Node(seeded_url, tmp_path, scheduler=False).start() for _ in range(2)]
    yield app, nodes
    for node in nodes:
        node.stop()
    assert all("Traceback" not in node.output() for node in nodes), [n.output()[-3000:] for n in nodes]
    app.extensions["orderflow.db"].engine.dispose()


def _body(api: Api, user: str, task_id: int) -> dict:
    detail = api.get(user, f"/api/v1/tasks/{task_id}").json
    return {"data": fill(detail["form"], detail["values"])}


def test_a_thousand_attempts_to_complete_one_task_one_wins(cluster):
    app, nodes = cluster
    api = Api(app.test_client())
    started = api.start_order()
    task = started["open_tasks"][0]
    bodies = {u: _body(api, u, task["id"]) for u in ("warehouse1", "warehouse2")}
    calls = [(user, task["id"], bodies[user]) for user in ("warehouse1", "warehouse2") * (ATTEMPTS // 2)]
    results = hammer(nodes, calls)
    statuses = Counter(status for _, status, _ in results)
    assert len(results) == ATTEMPTS
    assert statuses[200] == 1, statuses
    assert set(statuses) == {200, 409}, statuses  # the rest are told the step is done or was taken
    history = api.get("manager1", f"/api/v1/instances/{started['id']}").json["history"]
    assert [h["element_id"] for h in history] == ["check_stock"]
    assert_consistent(app, started["id"])


def test_a_thousand_attempts_on_parallel_branches_one_success_each_nothing_lost(cluster):
    app, nodes = cluster
    api = Api(app.test_client())
    started = api.start_order()
    api.drive_to(started["id"], "make_bom", "design_artwork", "contract_review")
    branches = {t["element_id"]: t for t in api.open_tasks(started["id"])
                if t["element_id"] in {"make_bom", "design_artwork", "contract_review"}}
    users = {"make_bom": "engineering1", "design_artwork": "design1", "contract_review": "sales_manager1"}
    bodies = {e: _body(api, users[e], t["id"]) for e, t in branches.items()}
    order = list(branches) * (ATTEMPTS // len(branches) + 1)
    calls = [(users[e], branches[e]["id"], bodies[e]) for e in order[:ATTEMPTS]]
    results = hammer(nodes, calls)
    assert len(results) == ATTEMPTS
    wins = Counter(task_id for task_id, status, _ in results if status == 200)
    assert {t["id"]: wins[t["id"]] for t in branches.values()} == {t["id"]: 1 for t in branches.values()}, wins
    assert {status for _, status, _ in results} <= {200, 409}
    history = {h["element_id"] for h in api.get("manager1", f"/api/v1/instances/{started['id']}").json["history"]}
    assert set(branches) <= history  # every acknowledged branch is in the engine's history
    assert_consistent(app, started["id"])
