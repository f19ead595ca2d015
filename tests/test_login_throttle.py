"""Login throttling: too many wrong passwords answer 429 with Retry-After, on the login page and for
HTTP Basic alike, without looking at the password; the window slides on the service clock. A user
name is locked per client address: a stranger cannot lock a user out."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from orderflow.access import accounts
from orderflow.core.models import LoginFailure
from tests.support.helpers import basic

WINDOW = 300  # ORDERFLOW_LOGIN_LOCK_SECONDS


def _login(client, user: str, password: str, address: str = "127.0.0.1"):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.data.decode()).group(1)
    return client.post("/login", data={"username": user, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def _fail(client, user: str, times: int, address: str = "127.0.0.1") -> None:
    for _ in range(times):
        assert _login(client, user, "wrong", address).status_code == 401


def _failures(app, kind: str, key: str) -> int:
    with app.extensions["orderflow.db"].session() as session:
        return session.scalar(select(func.count()).select_from(LoginFailure)
                              .where(LoginFailure.kind == kind, LoginFailure.key == key))


def test_five_wrong_passwords_lock_the_user_name_on_the_page_and_for_basic_auth(app, client, clock):
    _fail(client, "sales1", 5)
    locked = _login(client, "sales1", "demo")  # the right password no longer helps
    assert locked.status_code == 429
    assert 290 <= int(locked.headers["Retry-After"]) <= WINDOW
    assert "try again in 5 minutes" in locked.data.decode()
    api = client.get("/api/v1/tasks", headers=basic("sales1"))
    assert api.status_code == 429 and api.headers["Retry-After"]
    assert api.json["error"]["code"] == "too_many_attempts" and api.json["error"]["retry_after"] > 0
    assert "try again in 5 minutes" in api.json["error"]["message"]
    assert client.get("/api/v1/tasks", headers=basic("sales2")).status_code == 200  # others are not affected


def test_the_lock_ends_when_the_failures_age_out(app, client, clock):
    _fail(client, "sales1", 5)
    clock.advance(seconds=WINDOW - 60)
    resp = _login(client, "sales1", "demo")
    assert resp.status_code == 429 and "try again in a minute" in resp.data.decode()
    clock.advance(seconds=61)
    assert _login(client, "sales1", "demo").status_code == 302


def test_a_success_clears_the_user_names_count(app, client, clock):
    _fail(client, "sales1", 4)
    assert _login(client, "sales1", "demo").status_code == 302
    assert _failures(app, "user", "sales1@127.0.0.1") == 0
    _fail(client, "sales1", 4)  # counting starts again: four more are not yet five
    assert client.get("/api/v1/tasks", headers=basic("sales1")).status_code == 200


def test_the_window_slides(app, client, clock):
    _fail(client, "sales1", 4)
    clock.advance(seconds=200)
    _fail(client, "sales1", 1)
    assert _login(client, "sales1", "demo").status_code == 429  # five within the last 300 s
    clock.advance(seconds=101)                                   # the first four have aged out
    assert client.get("/api/v1/tasks", headers=basic("sales1")).status_code == 200


def test_wrong_basic_credentials_count_too(app, client, clock):
    for _ in range(5):
        assert client.get("/api/v1/tasks", headers=basic("finance1", "guess")).status_code == 401
    assert client.get("/api/v1/tasks", headers=basic("finance1")).status_code == 429
    assert _login(client, "finance1", "demo").status_code == 429


def test_unknown_user_names_are_counted_like_known_ones(app, client, clock):
    _fail(client, "nobody", 5)
    assert _login(client, "nobody", "x").status_code == 429  # no hint whether the name exists


def test_a_locked_attempt_does_not_look_at_the_password(app, client, clock, monkeypatch):
    _fail(client, "sales1", 5)
    checked = []
    monkeypatch.setattr(accounts, "check_password_hash", lambda *a: checked.append(a) or True)
    assert client.get("/api/v1/tasks", headers=basic("sales1")).status_code == 429
    assert _login(client, "sales1", "demo").status_code == 429
    assert checked == []


def test_one_address_guessing_many_names_is_locked(app, client, clock):
    for n in range(20):
        assert _login(client, f"guess{n}", "x", "10.0.0.9").status_code == 401
    assert _login(client, "sales1", "demo", "10.0.0.9").status_code == 429
    assert _login(client, "sales1", "demo", "10.0.0.10").status_code == 302  # another address is not
    assert _failures(app, "client", "10.0.0.9") == 20


def test_a_success_does_not_clear_the_address_count(app, client, clock):
    _fail(client, "sales2", 3, "10.0.0.7")
    assert _login(client, "sales1", "demo", "10.0.0.7").status_code == 302
    assert _failures(app, "client", "10.0.0.7") == 3 and _failures(app, "user", "sales2@10.0.0.7") == 3


def test_limits_come_from_the_settings(app, client, clock):
    app.config.update(ORDERFLOW_LOGIN_MAX_FAILURES=2, ORDERFLOW_LOGIN_MAX_FAILURES_PER_IP=0,
                      ORDERFLOW_LOGIN_LOCK_SECONDS=60)
    _fail(client, "sales1", 2)
    resp = _login(client, "sales1", "demo")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) <= 60
    for n in range(30):  # per-address counting is off
        _login(client, f"other{n}", "x")
    assert _login(client, "sales2", "demo").status_code == 302


def test_old_failures_are_pruned(app, client, clock):
    _fail(client, "sales1", 3)
    clock.advance(seconds=WINDOW + 1)
    _fail(client, "sales2", 1)
    assert _failures(app, "user", "sales1@127.0.0.1") == 0 and _failures(app, "user", "sales2@127.0.0.1") == 1


def test_a_stranger_cannot_lock_a_user_out_from_another_address(app, client, clock):
    _fail(client, "admin", 5, "203.0.113.5")
    assert _login(client, "admin", "demo", "203.0.113.5").status_code == 429  # the stranger is locked
    assert _login(client, "admin", "demo", "10.0.0.1").status_code == 302    # the admin is not
    assert _failures(app, "user", "admin@203.0.113.5") == 5


def test_many_names_from_one_address_still_hit_the_address_limit(app, client, clock):
    for n in range(4):  # under the per-name limit each, over the per-address one together
        _fail(client, f"sales{n % 2 + 1}", 1, "198.51.100.7")
    app.config.update(ORDERFLOW_LOGIN_MAX_FAILURES_PER_IP=4)
    assert _login(client, "finance1", "demo", "198.51.100.7").status_code == 429


def test_an_unknown_name_costs_one_password_hash_like_a_known_one(app, client, clock, monkeypatch):
    real, calls = accounts.check_password_hash, []
    monkeypatch.setattr(accounts, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    with app.extensions["orderflow.db"].session() as session:
        assert accounts.authenticate(session, "no-such-user", "demo", client="10.0.0.2") is None
        assert calls == [accounts._UNKNOWN_USER_HASH]
        assert accounts.authenticate(session, "sales1", "wrong", client="10.0.0.2") is None
        assert len(calls) == 2 and calls[1] != accounts._UNKNOWN_USER_HASH
        # the dummy hash is as costly as a real one: the same method as new passwords get
        assert accounts._UNKNOWN_USER_HASH.split("$")[0] == \
            accounts.generate_password_hash("x").split("$")[0]


def test_a_basic_auth_request_reads_the_user_and_the_throttle_in_one_statement(app, client, clock):
    """Every HTTP Basic request authenticates: the user, the user's group ids and both throttle counts
    come from one indexed statement (they were four), whether the name is known, unknown or locked."""
    from sqlalchemy import event

    from orderflow.core.errors import TooManyAttempts

    engine = app.extensions["orderflow.db"].engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        with app.extensions["orderflow.db"].session() as session:
            assert accounts.authenticate(session, "sales1", "demo", "10.0.0.9").username == "sales1"
            assert len(statements) == 1 and "login_failures" in statements[0], statements
            assert "memberships" in statements[0], statements
            statements.clear()
            assert accounts.authenticate(session, "nobody", "demo", "10.0.0.9") is None
            assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements
        _fail(client, "sales2", 5, "10.0.0.7")
        statements.clear()
        with app.extensions["orderflow.db"].session() as session:
            try:
                accounts.authenticate(session, "sales2", "demo", "10.0.0.7")
                raise AssertionError("the name is locked from that address")
            except TooManyAttempts as locked:
                assert 0 < locked.retry_after <= WINDOW
            assert len(statements) == 1, statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
