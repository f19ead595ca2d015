"""The classic catastrophic inputs against a real server while a second thread polls ``/healthz``.

One gunicorn worker serves everything, so the attacks and the health checks share one Python process
and its GIL: a backtracking regex or a big-integer product inside one C call would stop every other
request of the process. Each attack here would hold that worker for hours without its budget; with
it, each is answered with a 4xx and ``/healthz`` answers 200 throughout. The only bound on time is
``HANG``, far above what a loaded machine needs for a health check; it ends a hang and never decides
a pass.
"""
from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request

import pytest

from orderflow import create_app
from tests.support import bpmn_samples as samples
from tests.support.helpers import NEW_ORDER, Api
from tests.support.hostile import samples as hs
from tests.support.servers import Node, auth

pytestmark = pytest.mark.multiprocess

HANG = 120.0
SCRIPTS = {"bigproducts": "a = 9**4000000\nb = a*a\nc = b*b\nd = c*c",
           "padding": 'x = "%0999999999d" % 1',
           "idleloops": 'x = [1 for a in "x"*99999 for b in "x"*99999 if 0]'}


def _send(url: str, body: bytes | None = None, ctype: str = "application/json", user: str = "admin",
          method: str = "POST") -> int:
    headers = {**auth(user), **({"Content-Type": ctype} if body is not None else {})}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers, method=method), timeout=HANG) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def _attacks(base: str) -> list[tuple[str, int, callable]]:
    api = f"{base}/api/v1/processes"
    start = f"{api}/order_flow/instances"

    def post(url: str, data: dict | str, ctype: str = "application/json", user: str = "admin"):
        return lambda: _send(url, (data if isinstance(data, str) else json.dumps(data)).encode(), ctype, user)
    return [
        ("form pattern (a+)+$ on 50,000 characters", 422,
         post(f"{api}/patterned/instances", {"data": {"code": "a" * 50_000 + "!"}})),
        *[(f"script {pid}", 409, post(f"{api}/{pid}/instances", {"data": {}})) for pid in SCRIPTS],
        ("JSON nested 100,000 deep", 422, post(start, '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}", user="sales1")),
        ("40,000 empty order lines", 422, post(start, {"data": {**NEW_ORDER, "lines": [{}] * 40_000}}, user="sales1")),
        ("a condition 10,000 brackets deep", 422,
         post(api, hs.condition("(" * 10_000 + "1" + ")" * 10_000), "application/xml", "owner1")),
        ("a timer cycle of no period", 422, post(api, hs.timer_start("R/PT0S"), "application/xml", "owner1")),
        ("a duration of 100,000 digits", 422,
         post(api, hs.timer_start("R/P" + "1" * 100_000 + "Y"), "application/xml", "owner1")),
    ]


@pytest.fixture
def server(seeded_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "attack", "ORDERFLOW_DATABASE_URL": seeded_url})
    api = Api(app.test_client())

    def upload(files: dict[str, str]) -> None:
        resp = api.client.post("/api/v1/processes", headers=api.auth("owner1"), content_type="multipart/form-data",
                               data={"files": [(io.BytesIO(text.encode()), name) for name, text in files.items()]})
        assert resp.status_code == 201, resp.json
    upload(hs.patterned("^(a+)+$"))
    for pid, script in SCRIPTS.items():
        upload({f"{pid}.bpmn": samples.script_process(script, pid)})
    app.extensions["orderflow.db"].engine.dispose()
    node = Node(seeded_url, tmp_path, scheduler=False, workers=1, threads=4).start()
    yield node
    node.stop()


def test_every_attack_is_refused_while_healthz_keeps_answering(server):
    answers: list[int] = []
    answered = threading.Condition()
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            status = _send(f"{server.base}/healthz", method="GET")   # raises on a hang (HANG): the test fails
            with answered:
                answers.append(status)
                answered.notify_all()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        for name, status, attack in _attacks(server.base):
            with answered:
                seen = len(answers)
            assert attack() == status, name
            with answered:  # a health check answered after this attack began
                after = lambda seen=seen: len(answers) > seen  # noqa: E731
                assert answered.wait_for(after, timeout=HANG), f"/healthz stopped during {name}"
    finally:
        stop.set()
        poller.join(HANG)
    assert not poller.is_alive() and answers and set(answers) == {200}, (len(answers), set(answers))
