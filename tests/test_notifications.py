"""Notifications and e-mail: rows per group member, the navbar badge, the page, the outbox, SMTP."""
from __future__ import annotations

import html
import re
import smtplib
from typing import ClassVar

import pytest
from sqlalchemy import select

from orderflow.core.config import DEFAULTS, from_environment
from orderflow.core.i18n import Msg
from orderflow.core.models import Mail, Notification, User
from orderflow.workflow import notify


@pytest.fixture
def db(app):
    session = app.extensions["orderflow.db"].session()
    yield session
    session.close()


def _csrf(page) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.data.decode())
    assert match, "no csrf_token on the page"
    return match.group(1)


def _log_in(client, user: str) -> None:
    token = _csrf(client.get("/login"))
    response = client.post("/login", data={"username": user, "password": "demo", "csrf_token": token})
    assert response.status_code == 302, response.data


def _badge(page) -> tuple[int, bool]:
    """(number, hidden) of the navbar's unread badge."""
    text = page.data.decode()
    match = re.search(r'<span[^>]*id="unread-count"([^>]*)>(\d+)', text)
    assert match, "no unread badge in the navbar"
    return int(match.group(2)), "hidden" in match.group(1)


def _overdue(db, group: str = "sales", link: str | None = "/orders/1") -> list[Notification]:
    rows = notify.notify_group(db, group, "overdue", Msg("Task %(task)s is overdue.", task="Review order"),
                               "It waits since Monday.\nPlease look at it.", link=link)
    db.commit()
    return rows


def _mails(db) -> list[Mail]:
    db.expire_all()
    return list(db.scalars(select(Mail).order_by(Mail.id)))


# -- domain ---------------------------------------------------------------------------------

def test_notify_group_adds_a_notification_and_a_queued_mail_per_member(db):
    rows = _overdue(db)
    assert sorted(r.username for r in rows) == ["sales1", "sales2"]
    assert all(r.subject == "Task Review order is overdue." and type(r.subject) is str for r in rows)
    assert all(r.kind == "overdue" and r.link == "/orders/1" and r.read_at is None for r in rows)
    mails = _mails(db)
    assert sorted(m.to for m in mails) == ["sales1@example.com", "sales2@example.com"]
    assert all(m.status == "queued" and m.subject == "Task Review order is overdue." for m in mails)
    assert all(m.body.startswith("It waits since Monday.") for m in mails)
    assert all("http://127.0.0.1:5000/orders/1" in m.body for m in mails), "mails carry absolute links"
    assert notify.unread_count(db, "sales1") == 1 and notify.unread_count(db, "sales_manager1") == 0


def test_inactive_members_unknown_names_and_users_without_mail(db):
    sales2 = db.scalar(select(User).where(User.username == "sales2"))
    sales2.active = False
    db.scalar(select(User).where(User.username == "sales1")).email = None
    db.commit()
    assert [r.username for r in _overdue(db)] == ["sales1"]
    assert _mails(db) == [], "sales1 has no e-mail address; sales2 is inactive"
    rows = notify.notify_users(db, ["vp1", "vp1", "nobody", "sales2"], "note", "Hello", "Body")
    db.commit()
    assert [r.username for r in rows] == ["vp1"]
    assert [m.to for m in _mails(db)] == ["vp1@example.com"]


def test_subject_is_one_header_line():
    # a line break in a subject would end the mail header
    assert notify._one_line("Order\r\nBcc: x@example.com", 300) == "Order Bcc: x@example.com"


def test_mark_read_touches_only_the_users_own_notifications(db):
    first = _overdue(db)
    _overdue(db)
    own = [r.id for r in first if r.username == "sales1"]
    other = [r.id for r in first if r.username == "sales2"]
    assert notify.mark_read(db, "sales1", own + other) == 1
    db.commit()
    assert notify.unread_count(db, "sales1") == 1 and notify.unread_count(db, "sales2") == 2
    assert notify.mark_read(db, "sales1", None) == 1
    assert notify.mark_read(db, "sales1", []) == 0
    db.commit()
    assert notify.unread_count(db, "sales1") == 0 and notify.unread_count(db, "sales2") == 2
    assert [n.read_at is not None for n in notify.recent(db, "sales1")] == [True, True]


def test_escalation_groups_setting():
    config = {"ORDERFLOW_ESCALATION_GROUPS": DEFAULTS["ORDERFLOW_ESCALATION_GROUPS"]}
    assert notify.escalation_group(config, "sales") == "sales_manager"
    assert notify.escalation_group(config, "warehouse") == "manager"
    assert notify.escalation_group(config, None) == "manager"
    parsed = from_environment({"ORDERFLOW_ESCALATION_GROUPS": '{"pmc": "vp", "*": "admin"}'})
    assert parsed["ORDERFLOW_ESCALATION_GROUPS"] == {"pmc": "vp", "*": "admin"}
    assert notify.escalation_group(parsed, "pmc") == "vp" and notify.escalation_group(parsed, "sales") == "admin"
    with pytest.raises(ValueError):
        from_environment({"ORDERFLOW_ESCALATION_GROUPS": '["sales"]'})


def test_mail_settings_from_environment():
    parsed = from_environment({"ORDERFLOW_SMTP_PORT": "587", "ORDERFLOW_SMTP_STARTTLS": "yes",
                               "ORDERFLOW_MAIL_MODE": "smtp"})
    assert parsed == {"ORDERFLOW_SMTP_PORT": 587, "ORDERFLOW_SMTP_STARTTLS": True, "ORDERFLOW_MAIL_MODE": "smtp"}


# -- pages and API --------------------------------------------------------------------------

def test_badge_page_and_mark_read(app, client, db):
    _log_in(client, "sales1")
    assert _badge(client.get("/inbox")) == (0, True)
    _overdue(db)
    _overdue(db, link="javascript:alert(1)")
    assert _badge(client.get("/inbox")) == (2, False)

    page = client.get("/notifications")
    assert page.status_code == 200
    text = html.unescape(page.data.decode())
    assert text.count("Task Review order is overdue.") == 2
    assert text.count('href="/orders/1"') == 1
    assert 'href="javascript:' not in text, "only links within the site become hrefs"
    assert text.count('class="fw-bold"') == 2 and _badge(page) == (2, False)

    mine = [n.id for n in notify.recent(db, "sales1")]
    token = _csrf(page)
    response = client.post("/notifications/read", data={"ids": str(mine[0]), "csrf_token": token,
                                                        "next": "/notifications"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications")
    assert _badge(client.get("/notifications")) == (1, False)

    assert client.post("/notifications/read", data={"all": "1"}).status_code == 400, "CSRF is required"
    response = client.post("/notifications/read", data={"all": "1", "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/notifications")
    assert _badge(page) == (0, True)
    assert 'class="fw-bold"' not in page.data.decode() and 'id="mark-all-read"' not in page.data.decode()
    assert notify.unread_count(db, "sales2") == 2, "sales2's notifications stay unread"


def test_notifications_api(api, client, db):
    _overdue(db)
    response = api.get("sales2", "/api/v1/notifications")
    assert response.status_code == 200
    body = response.json
    assert body["next_cursor"] is None and body["unread"] == 1
    [item] = body["items"]
    assert item["subject"] == "Task Review order is overdue." and item["link"] == "/orders/1"
    assert item["read"] is False and item["read_at"] is None and item["created_at"]
    assert api.get("vp1", "/api/v1/notifications").json == {"items": [], "next_cursor": None, "unread": 0}
    anonymous = client.get("/api/v1/notifications")
    assert anonymous.status_code == 401 and anonymous.json["error"]["code"] == "not_authenticated"


def test_outbox_keeps_mails_for_overseers(app, api, db):
    _overdue(db)
    assert notify.deliver_mail(db, app.config) == 2
    assert [m.status for m in _mails(db)] == ["kept", "kept"]
    assert notify.deliver_mail(db, app.config) == 0

    page = api.get("manager1", "/outbox")
    assert page.status_code == 200
    text = html.unescape(page.data.decode())
    assert "sales1@example.com" in text and "sales2@example.com" in text
    assert "Task Review order is overdue." in text and "<pre" in text and "It waits since Monday." in text
    assert 'href="/outbox"' in text, "overseers see the Outbox link"
    assert api.get("admin", "/outbox").status_code == 200
    assert len(re.findall(r'id="mail-\d+"', text)) == 2
    assert not re.findall(r'id="mail-\d+"', api.get("manager1", "/outbox?status=failed").data.decode())

    denied = api.get("sales1", "/outbox")
    assert denied.status_code == 403
    assert 'href="/outbox"' not in api.get("sales1", "/notifications").data.decode()


class FakeSMTP:
    """Records what the service does with the SMTP server."""

    sent: ClassVar[list] = []    # shared by every connection the service opens in a test
    calls: ClassVar[list] = []

    def __init__(self, host, port, timeout=None):
        self.calls.append(("connect", host, port))

    def starttls(self, context=None):
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        self.sent.append(message)

    def quit(self):
        self.calls.append(("quit",))


@pytest.fixture
def fake_smtp(monkeypatch):
    FakeSMTP.sent, FakeSMTP.calls = [], []
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


def _smtp_config(app, **extra):
    return {**app.config, "ORDERFLOW_MAIL_MODE": "smtp", "ORDERFLOW_SMTP_HOST": "mail.example.com",
            "ORDERFLOW_SMTP_PORT": 587, "ORDERFLOW_MAIL_FROM": "orders@example.com", **extra}


def test_smtp_mode_sends_and_marks_sent(app, db, fake_smtp):
    _overdue(db)
    config = _smtp_config(app, ORDERFLOW_SMTP_STARTTLS=True, ORDERFLOW_SMTP_USER="robot",
                          ORDERFLOW_SMTP_PASSWORD="secret")
    assert notify.deliver_mail(db, config) == 2
    assert sorted(m["To"] for m in fake_smtp.sent) == ["sales1@example.com", "sales2@example.com"]
    message = fake_smtp.sent[0]
    assert message["From"] == "orders@example.com"
    assert message["Subject"] == "Task Review order is overdue."
    assert "http://127.0.0.1:5000/orders/1" in message.get_content()
    assert fake_smtp.calls[:4] == [("connect", "mail.example.com", 587), ("starttls",),
                                   ("login", "robot", "secret"), ("quit",)]
    mails = _mails(db)
    assert [m.status for m in mails] == ["sent", "sent"] and all(m.sent_at and not m.error for m in mails)
    assert notify.deliver_mail(db, config) == 0 and len(fake_smtp.sent) == 2, "each mail is sent once"


def test_smtp_without_starttls_or_login(app, db, fake_smtp):
    _overdue(db)
    assert notify.deliver_mail(db, _smtp_config(app)) == 2
    assert {c[0] for c in fake_smtp.calls} == {"connect", "quit"}


def test_failing_smtp_server_marks_mails_failed_without_raising(app, db, monkeypatch):
    class Refusing(FakeSMTP):
        def __init__(self, host, port, timeout=None):
            raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(smtplib, "SMTP", Refusing)
    _overdue(db)
    assert notify.deliver_mail(db, _smtp_config(app)) == 2
    mails = _mails(db)
    assert [m.status for m in mails] == ["failed", "failed"]
    assert all("ConnectionRefusedError" in m.error and m.sent_at is None for m in mails)

    class Rejecting(FakeSMTP):
        def send_message(self, message):
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})

    monkeypatch.setattr(smtplib, "SMTP", Rejecting)
    _overdue(db)
    assert notify.deliver_mail(db, _smtp_config(app)) == 2
    assert [m.status for m in _mails(db)] == ["failed"] * 4


def test_concurrent_delivery_sends_each_mail_once(app, db, monkeypatch):
    """A second worker running while the first talks to the server takes only what is still queued."""
    monkeypatch.setattr(notify, "MAIL_BATCH", 1)  # claim one at a time, so the workers interleave
    notify.notify_group(db, "warehouse", "note", "One", "Body")
    notify.notify_group(db, "finance", "note", "Two", "Body")
    db.commit()
    sent: list[str] = []
    other = app.extensions["orderflow.db"].session()
    config = _smtp_config(app)

    def record(message):
        sent.append(message["To"])

    def first_worker(message):
        if not sent:  # while the first mail is being sent, another worker delivers the rest
            notify.deliver_mail(other, config, send=record)
        record(message)

    try:
        handled = notify.deliver_mail(db, config, send=first_worker)
    finally:
        other.close()
    assert handled == 1, "the other worker had already claimed and sent the rest"
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 4
    assert [m.status for m in _mails(db)] == ["sent"] * 4


def test_delivery_leaves_uncommitted_work_alone(app, db):
    _overdue(db)
    db.add(User(username="pending", display_name="Pending", password_hash="x"))
    assert notify.deliver_mail(db, app.config) == 0, "it would commit or drop the caller's changes"
    db.rollback()
    assert notify.deliver_mail(db, app.config) == 2


def test_a_mail_left_sending_by_a_dead_sender_is_sent_again_later(app, db, fake_smtp, clock):
    from datetime import timedelta
    _overdue(db)
    stuck, fresh = _mails(db)
    now = clock()  # the service's clock stands still: "5 s ago" stays 5 s ago however slow the machine
    stuck.status, stuck.claimed_at = "sending", now - timedelta(minutes=30)  # its sender died mid-send
    fresh.status, fresh.claimed_at = "sending", now - timedelta(seconds=5)   # another sender is on it
    db.commit()
    assert notify.deliver_mail(db, _smtp_config(app)) == 1
    assert [m["To"] for m in fake_smtp.sent] == [stuck.to]
    db.expire_all()
    assert (stuck.status, fresh.status) == ("sent", "sending")


def _overdue_orders(api, count: int) -> list[dict]:
    return [api.start_order() for _ in range(count)]      # check_stock (warehouse): a 3 h limit


def test_reminders_gather_in_one_digest_per_person_and_period(app, api, clock):
    """Seven steps overdue for three days: each manager gets seven breach notices and one digest a
    day (the last one unread, listing all seven once), not a notice per step every four hours."""
    from tests.support.helpers import run_jobs

    started = _overdue_orders(api, 7)
    clock.advance(hours=3, minutes=1)
    run_jobs(app)
    for _ in range(18):                      # three days of reminders (ORDERFLOW_REMINDER_INTERVAL PT4H)
        clock.advance(hours=4, minutes=1)
        run_jobs(app)
    with app.extensions["orderflow.db"].session() as s:
        notes = s.scalars(select(Notification).where(Notification.username == "manager1")
                          .order_by(Notification.id)).all()
        kinds = [n.kind for n in notes]
        assert kinds.count("sla_breached") == 7
        digests = [n for n in notes if n.kind == notify.DIGEST]
        assert 3 <= len(digests) <= 4                      # one per day (P1D)
        unread = [n for n in notes if n.read_at is None]
        assert [n.kind for n in unread].count(notify.DIGEST) == 1   # a new period's digest replaces the last
        listed = [i["order"] for i in digests[-1].message["items"]]
        assert sorted(listed) == sorted(o["business_key"] for o in started)   # each step once
        manager = s.scalar(select(User).where(User.username == "manager1"))
        assert manager.email
        digest_mails = s.scalars(select(Mail).where(Mail.to == manager.email,
                                                    Mail.subject.like("Overdue steps to chase%"))).all()
        assert len(digest_mails) == len(digests)           # one mail per period, not per reminder


def test_a_notification_reads_in_each_readers_language(app, api, client, clock, db):
    """Stored as message keys and parameters: the page shows English to one reader and Chinese to
    another; the mail goes out in the recipient's language; older rows keep their text."""
    from tests.support.helpers import run_jobs

    order = _overdue_orders(api, 1)[0]
    clock.advance(hours=3, minutes=1)
    run_jobs(app)
    manager = db.scalar(select(User).where(User.username == "manager1"))
    manager.locale = "zh"
    db.add(Notification(username="manager1", kind="old", subject="An old notice", body="kept as it was"))
    db.commit()
    clock.advance(hours=4, minutes=1)
    run_jobs(app)
    _log_in(client, "manager1")
    english = client.get("/notifications", headers={"Accept-Language": "en"}).data.decode()
    assert f"{order['business_key']}: 'Check stock' is overdue" in html.unescape(english)   # the step's own
    assert "库存确认" not in english                                   # name in the reader's language
    assert "Overdue steps to chase: 1" in english and "An old notice" in english
    client.post("/language", data={"lang": "zh", "csrf_token": _csrf(client.get("/notifications"))})
    chinese = html.unescape(client.get("/notifications").data.decode())
    assert "逾期" in chinese and "Overdue steps to chase" not in chinese and "An old notice" in chinese
    assert "“库存确认”" in chinese and "Check stock" not in chinese and "(warehouse)" not in chinese
    mail = db.scalars(select(Mail).where(Mail.to == manager.email).order_by(Mail.id.desc())).first()
    assert mail is not None and "逾期" in mail.subject       # queued after the locale changed: Chinese


def test_who_is_told_about_an_overdue_step_may_open_the_order(app, api, clock):
    """An escalation's link leads to the order: its readers may look at it (read only), no one else."""
    from tests.support.helpers import run_jobs

    order = api.start_order()
    api.complete("warehouse1", order["open_tasks"][0]["id"], "sufficient")   # now review_order (sales)
    path = f"/api/v1/instances/{order['id']}"
    assert api.get("sales_manager1", path).status_code == 403               # not told yet: no part in it
    clock.advance(days=1)
    run_jobs(app)                                                             # told: the sales managers
    assert api.get("sales_manager1", path).status_code == 200
    assert order["id"] in [o["id"] for o in api.get("sales_manager1", "/api/v1/instances").json["items"]]
    assert api.get("quality1", path).status_code == 403                      # told nothing


@pytest.mark.parametrize("mode", ["outbox", "smtp"])
def test_a_sweep_with_no_mail_to_handle_writes_nothing(app, db, mode):
    """Every scheduler sweep delivers mail: with none queued (nor left half-sent) it only reads, by
    the status index: on SQLite a write, even of no row, would wait for the writers' turn."""
    from sqlalchemy import event

    engine, seen = app.extensions["orderflow.db"].engine, []
    config = {**app.config, "ORDERFLOW_MAIL_MODE": mode}

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.split()[0])
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert notify.deliver_mail(db, config, send=lambda message: None) == 0
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen and set(seen) == {"SELECT"}, seen
