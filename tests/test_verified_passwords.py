"""HTTP Basic pays the password hash once, not per request (``access/verified.py``), and what is
remembered never outlives the password: a reset or deactivation counts at the next request, and a
wrong password is never remembered. The memory's own rules (age, size) run on an injected clock."""
from __future__ import annotations

import pytest

from orderflow.access import accounts
from orderflow.access.verified import VERIFIED, VerifiedPasswords
from tests.support.helpers import basic


@pytest.fixture
def hash_checks(monkeypatch):
    """Counts the real password-hash checks made through ``accounts`` (and starts from an empty memory)."""
    VERIFIED.clear()
    calls: list[str] = []
    real = accounts.check_password_hash

    def counted(stored: str, password: str) -> bool:
        calls.append(password)
        return real(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", counted)
    yield calls
    VERIFIED.clear()


def test_basic_auth_checks_the_hash_once_for_a_run_of_requests(client, hash_checks):
    for _ in range(5):
        assert client.get("/api/v1/tasks", headers=basic("sales1")).status_code == 200
    assert hash_checks == ["demo"]
    assert client.get("/api/v1/tasks", headers=basic("sales2")).status_code == 200   # each user's own
    assert hash_checks == ["demo", "demo"]


def test_a_wrong_password_is_never_remembered(client, hash_checks):
    for _ in range(3):
        assert client.get("/api/v1/tasks", headers=basic("sales1", "wrong")).status_code == 401
    assert hash_checks == ["wrong"] * 3
    assert client.get("/api/v1/tasks", headers=basic("nobody")).status_code == 401   # no such user
    assert client.get("/api/v1/tasks", headers=basic("nobody")).status_code == 401
    assert len(hash_checks) == 5


def test_a_reset_password_stops_working_at_the_next_request(client, hash_checks):
    assert client.get("/api/v1/tasks", headers=basic("sales1")).status_code == 200
    reset = client.patch("/api/v1/admin/users/sales1", json={"password": "a new secret 2026"}, headers=basic("admin"))
    assert reset.status_code == 200, reset.json
    assert client.get("/api/v1/tasks", headers=basic("sales1")).status_code == 401   # remembered, yet refused
    assert client.get("/api/v1/tasks", headers=basic("sales1", "a new secret 2026")).status_code == 200


def test_a_deactivated_user_is_refused_although_the_password_is_remembered(client, hash_checks):
    assert client.get("/api/v1/tasks", headers=basic("sales1")).status_code == 200
    off = client.patch("/api/v1/admin/users/sales1", json={"active": False}, headers=basic("admin"))
    assert off.status_code == 200, off.json
    assert client.get("/api/v1/tasks", headers=basic("sales1")).status_code == 401


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_remembered_match_ages_out_and_is_tied_to_the_hash():
    ticks = Ticks()
    memory = VerifiedPasswords(size=8, seconds=300, clock=ticks)
    memory.remember("hash-1", "secret")
    assert memory.matches("hash-1", "secret")
    assert not memory.matches("hash-1", "Secret") and not memory.matches("hash-2", "secret")
    ticks.now = 299.9
    assert memory.matches("hash-1", "secret")
    ticks.now = 300
    assert not memory.matches("hash-1", "secret")


def test_the_memory_keeps_at_most_its_size_dropping_the_oldest():
    memory = VerifiedPasswords(size=3, seconds=300, clock=Ticks())
    for n in range(4):
        memory.remember(f"hash-{n}", "pw")
    assert not memory.matches("hash-0", "pw")
    assert all(memory.matches(f"hash-{n}", "pw") for n in (1, 2, 3))
    off = VerifiedPasswords(size=0, clock=Ticks())
    off.remember("hash", "pw")
    assert not off.matches("hash", "pw")
