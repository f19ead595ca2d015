"""The audit trail is append-only and tamper-evident: the ORM guard, the PostgreSQL trigger, the
hash chain (also under concurrent appends) and the CSV export."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import threading

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from orderflow.core import audit
from orderflow.core.models import AuditEvent, Instance, Signature
from tests.support.helpers import Api, login
from tests.support.servers import PATIENCE


def _db(app):
    return app.extensions["orderflow.db"]


def _on_postgres(app) -> bool:
    return _db(app).engine.dialect.name == "postgresql"


def _tamper(app, sql: str, **params) -> None:
    """Raw SQL behind the application's back, as someone with database access could (on
    PostgreSQL only the table owner, switching the triggers off first)."""
    with _db(app).engine.begin() as conn:
        if _on_postgres(app):
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)
        if _on_postgres(app):
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def _event_ids(app, instance_id: int) -> list[int]:
    with _db(app).session() as s:
        return [e.id for e in audit.events(s, instance_id)]


def _broken(app, instance_id: int) -> AuditEvent | None:
    with _db(app).session() as s:
        return audit.verify_chain(s, instance_id)


def test_the_orm_refuses_to_change_or_delete_audit_records(app, api: Api):
    started = api.start_order()
    sign = api.drive_to(started["id"], "sign_release")
    assert api.complete("vp1", sign["id"], password="demo").status_code == 200
    with _db(app).session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.instance_id == started["id"])).first()
        event_id = event.id
        event.actor = "mallory"
        with pytest.raises(audit.AppendOnlyViolation):
            s.flush()
        s.rollback()
        s.delete(s.get(AuditEvent, event_id))
        with pytest.raises(audit.AppendOnlyViolation):
            s.flush()
        s.rollback()
        for statement in (update(AuditEvent).values(actor="mallory"), delete(AuditEvent),
                          update(Signature).values(meaning="whatever"), delete(Signature)):
            with pytest.raises(audit.AppendOnlyViolation):
                s.execute(statement)
            s.rollback()
        signature = s.scalars(select(Signature)).one()
        signature.content_sha256 = "0" * 64
        with pytest.raises(audit.AppendOnlyViolation):
            s.flush()
        s.rollback()
    with _db(app).session() as s:
        assert s.get(AuditEvent, event_id).actor == "sales1"
        assert audit.verify_chain(s, started["id"]) is None


@pytest.mark.postgres
def test_postgres_refuses_update_delete_and_truncate(app, api: Api):
    if not _on_postgres(app):
        pytest.skip("the trigger exists on PostgreSQL only (SQLite files are guarded by the ORM)")
    started = api.start_order()
    sign = api.drive_to(started["id"], "sign_release")       # row triggers need rows: a signature too
    assert api.complete("vp1", sign["id"], password="demo").status_code == 200
    for sql in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events",
                "TRUNCATE audit_events CASCADE", "UPDATE signatures SET meaning = 'x'", "DELETE FROM signatures"):
        with pytest.raises(DBAPIError, match="append-only"), _db(app).engine.begin() as conn:
            conn.execute(text(sql))
    assert _broken(app, started["id"]) is None


def test_verify_chain_finds_the_first_tampered_event(app, api: Api, client):
    started = api.start_order()
    api.drive_to(started["id"], "confirm_sample")
    ids = _event_ids(app, started["id"])
    assert len(ids) >= 3 and _broken(app, started["id"]) is None
    _tamper(app, "UPDATE audit_events SET actor = 'mallory' WHERE id = :id", id=ids[1])
    assert _broken(app, started["id"]).id == ids[1]
    login(client, "manager1")
    page = client.get(f"/orders/{started['id']}").data.decode()
    assert 'id="audit-chain" data-intact="false"' in page


def test_removed_events_are_found_in_the_middle_and_at_the_end(app, api: Api):
    started = api.start_order()
    api.drive_to(started["id"], "confirm_sample")
    ids = _event_ids(app, started["id"])
    _tamper(app, "DELETE FROM audit_events WHERE id = :id", id=ids[-1])      # the newest event removed
    assert _broken(app, started["id"]).id == ids[-2]                          # the chain now ends early
    other = api.start_order()
    api.drive_to(other["id"], "confirm_sample")
    ids = _event_ids(app, other["id"])
    _tamper(app, "DELETE FROM audit_events WHERE id = :id", id=ids[1])       # one from the middle
    assert _broken(app, other["id"]).id == ids[2]


def test_concurrent_appends_leave_one_unbroken_chain(app, api: Api):
    """Each thread reads the order first (where the old code read the chain's tail, unlocked),
    then all append at once: appends must queue on the order's chain, not fork it."""
    started = api.start_order()
    before = len(_event_ids(app, started["id"]))
    threads, per_thread = 8, 5
    barrier, errors = threading.Barrier(threads), []

    def append(n: int) -> None:
        try:
            with _db(app).session() as s:
                s.get(Instance, started["id"])
                barrier.wait()
                for k in range(per_thread):
                    audit.record(s, started["id"], f"worker{n}", "test_append", None, {"n": n, "k": k})
                s.commit()
        except Exception as exc:
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=PATIENCE)  # waits on the threads; the bound only ends a hang
    assert not errors and not any(w.is_alive() for w in workers), errors
    with _db(app).session() as s:
        events = audit.events(s, started["id"])
        assert len(events) == before + threads * per_thread
        links = [e.prev_hash for e in events]
        assert len(set(links)) == len(links), "two events claim the same predecessor: the chain forked"
        assert audit.verify_chain(s, started["id"]) is None
        per_worker = {}
        for e in events[before:]:       # each transaction's events are contiguous, in order
            per_worker.setdefault(e.actor, []).append(e.detail["k"])
        assert all(ks == list(range(per_thread)) for ks in per_worker.values())


def test_a_transaction_moves_its_chains_head_once_and_a_rollback_leaves_it(app, api: Api):
    """The head (the chain's last hash and count) is written once per transaction, at the commit,
    however many events it appended; what a rolled-back transaction appended leaves no trace; a
    check inside the transaction sees its own appends."""
    from sqlalchemy import event

    started = api.start_order()
    heads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "audit_heads" in statement and not statement.lstrip().startswith("SELECT"):
            heads.append(statement.split()[0])   # the writes of the head

    engine = _db(app).engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with _db(app).session() as s:
            for k in range(3):
                audit.record(s, started["id"], "tester", "test_append", None, {"k": k})
            assert audit.verify_chain(s, started["id"]) is None    # its own appends, before the commit
            audit.record(s, started["id"], "tester", "test_append", None, {"k": 3})
            s.commit()
        assert heads == ["UPDATE", "UPDATE", "UPDATE"], heads   # lock, the check's write, the commit's
        heads.clear()
        with _db(app).session() as s:
            for k in range(3):
                audit.record(s, started["id"], "tester", "test_append", None, {"k": k})
            s.commit()
        assert heads == ["UPDATE", "UPDATE"], heads   # the lock with the tail, the new tail once
    finally:
        event.remove(engine, "before_cursor_execute", count)
    kept = len(_event_ids(app, started["id"]))
    with _db(app).session() as s:
        audit.record(s, started["id"], "tester", "test_append", None, {"k": "gone"})
        s.rollback()
        audit.record(s, started["id"], "tester", "test_append", None, {"k": "after"})
        s.commit()
    assert len(_event_ids(app, started["id"])) == kept + 1
    assert _broken(app, started["id"]) is None


def test_audit_csv_export_content_and_permissions(app, api: Api, client):
    started = api.start_order()
    api.drive_to(started["id"], "confirm_sample")
    resp = api.get("sales1", f"/api/v1/instances/{started['id']}/audit?format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert f'filename="audit-{started["business_key"]}.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0] == ["at", "actor", "action", "element", "detail", "prev_hash", "hash"]
    items = api.get("sales1", f"/api/v1/instances/{started['id']}/audit").json["items"]
    assert len(rows) - 1 == len(items) and items[-1]["hash"] == rows[-1][6]
    prev = None
    for (at, actor, action, element, detail, prev_hash, digest), item in zip(rows[1:], items):
        assert (action, digest, prev_hash or None) == (item["action"], item["hash"], prev)
        # anyone can recompute each hash from the export alone
        body = json.dumps([prev_hash or None, at, actor or None, action, element or None,
                           json.loads(detail) if detail else None], sort_keys=True, default=str)
        assert hashlib.sha256(body.encode()).hexdigest() == digest
        prev = digest
    assert rows[1][2] == "instance_started" and json.loads(rows[1][4])["data"]["customer"] == "Shenzhen Bright Electronics"
    login(client, "sales1")                              # the page link: the same file
    page = client.get(f"/orders/{started['id']}/audit.csv")
    assert page.status_code == 200 and page.data == resp.data
    assert api.get("manager1", f"/api/v1/instances/{started['id']}/audit?format=csv").status_code == 200
    assert api.get("purchasing2", f"/api/v1/instances/{started['id']}/audit?format=csv").status_code == 403
    login(client, "purchasing2")                            # took no part in the order
    assert client.get(f"/orders/{started['id']}/audit.csv").status_code == 403
