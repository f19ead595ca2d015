"""Notifications and e-mail: rows in the caller's transaction, mail delivered after the commit.

``notify_users`` / ``notify_group`` add one ``Notification`` per person and one queued ``Mail``
per person with an e-mail address, inside the caller's transaction: nothing leaves the
service until that transaction commits and ``deliver_mail`` runs (the scheduler calls it after
its commits). ``deliver_mail`` keeps the mails for the outbox page (``ORDERFLOW_MAIL_MODE``
``outbox``, the default) or sends them through SMTP (``smtp``); a failing SMTP server marks
the mail ``failed`` and never raises.

Subjects and bodies may be ``Msg``: stored as their English text and as message keys and parameters
(``Notification.message``), so the page shows each reader their language and mails go out in the
recipient's. Overdue reminders gather in one digest per person and period (``digest_group``).
"""
from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orderflow.access.permissions import group_word
from orderflow.core.config import DEFAULTS
from orderflow.core.db import rowcount
from orderflow.core.i18n import Msg, element_name, to_data, translate
from orderflow.core.models import Mail, Membership, Notification, User
from orderflow.engine import due_at

log = logging.getLogger(__name__)

MAIL_BATCH = 100        # mails claimed per round by deliver_mail
SMTP_TIMEOUT = 30       # seconds; a hanging server must not hold the scheduler
_SUBJECT_MAX = 300      # Notification.subject / Mail.subject column sizes
_LINK_MAX = 300
_ERROR_MAX = 2000

Sender = Callable[[EmailMessage], Any]


def escalation_group(config: Mapping[str, Any], group_id: str | None) -> str:
    """The group whose members hear about an overdue task of ``group_id``
    (``ORDERFLOW_ESCALATION_GROUPS``: group -> group, ``"*"`` for every other group)."""
    mapping = config.get("ORDERFLOW_ESCALATION_GROUPS") or DEFAULTS["ORDERFLOW_ESCALATION_GROUPS"]
    return mapping.get(group_id or "") or mapping.get("*") or "manager"


def _config(session: Session) -> Mapping[str, Any]:
    platform = session.info.get("platform")
    return platform.config if platform is not None else DEFAULTS


def _now(session: Session) -> datetime:
    platform = session.info.get("platform")
    return platform.clock() if platform is not None else datetime.now(UTC)


def _one_line(text: Any, limit: int) -> str:
    """A header-safe subject: no line breaks (they would end the mail header), at most ``limit``."""
    return " ".join(str(text).split())[:limit]


def absolute_link(config: Mapping[str, Any], link: str | None) -> str | None:
    """``/orders/5`` -> ``http://host/orders/5`` with ``ORDERFLOW_BASE_URL``; absolute links stay."""
    return absolute_url(config, link) if link else None


def absolute_url(config: Mapping[str, Any], link: str) -> str:
    """``absolute_link`` of a link that is there."""
    if link.startswith("/") and not link.startswith("//"):
        return str(config.get("ORDERFLOW_BASE_URL") or "").rstrip("/") + link
    return link


def notify_users(session: Session, usernames: Iterable[str], kind: str, subject: Any, body: Any,
                 link: str | None = None, instance_id: int | None = None) -> list[Notification]:
    """One notification per active user named (unknown or inactive names are skipped, repeats
    count once) and one queued mail per such user with an e-mail address. Only adds rows."""
    wanted = list(dict.fromkeys(u for u in usernames if u))
    if not wanted:
        return []
    users = {u.username: u for u in session.scalars(
        select(User).where(User.username.in_(wanted), User.active.is_(True)))}
    return _add(session, [users[name] for name in wanted if name in users], kind, subject, body, link, instance_id)


def notify_group(session: Session, group_id: str, kind: str, subject: Any, body: Any,
                 link: str | None = None, instance_id: int | None = None) -> list[Notification]:
    """``notify_users`` for every active member of ``group_id``."""
    members = list(session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group_id, User.active.is_(True)).order_by(User.username)))
    return _add(session, members, kind, subject, body, link, instance_id)


def _language(config: Mapping[str, Any], user: User) -> str:
    """The language a person reads their mail in: theirs, else the service's first."""
    offered = list(config.get("ORDERFLOW_LANGUAGES") or DEFAULTS["ORDERFLOW_LANGUAGES"])
    return user.locale if user.locale and user.locale in offered else str(offered[0])


def _add(session: Session, users: list[User], kind: str, subject: Any, body: Any, link: str | None,
         instance_id: int | None, items: list[dict[str, Any]] | None = None) -> list[Notification]:
    """One notification per user, kept as message keys and parameters (``message``) so each reader
    sees it in their language; the mail goes out in the recipient's language."""
    subject_text, body_text = _one_line(subject, _SUBJECT_MAX), str(body)
    link = (link or None) and link[:_LINK_MAX]
    now = _now(session)
    config = _config(session)
    url = absolute_link(config, link)
    message: dict[str, Any] = {"subject": to_data(subject), "body": to_data(body)}
    if items is not None:
        message["items"] = items
    rows = []
    for user in users:
        row = Notification(username=user.username, kind=kind, subject=subject_text, body=body_text, link=link,
                           instance_id=instance_id, created_at=now, message=message)
        session.add(row)
        rows.append(row)
        if user.email:
            language = _language(config, user)
            mail_body = translate(body, language) + "".join(
                "\n" + translate(item_line(item), language) for item in items or ())
            session.add(Mail(to=user.email, subject=_one_line(translate(subject, language), _SUBJECT_MAX),
                             body=f"{mail_body}\n\n{url}\n" if url else mail_body, status="queued", created_at=now))
    session.flush()
    return rows


# -- the overdue digest: one notification per person and period, not one per step and reminder --

DIGEST = "overdue_digest"
DIGEST_ITEMS = 200     # steps one digest lists (the board lists them all)


def item_line(item: Mapping[str, Any]) -> Msg:
    """One overdue step of a digest, as a sentence."""
    return Msg("%(order)s: '%(step)s' (%(group)s), due %(due)s", order=str(item.get("order") or ""),
               step=element_name(str(item.get("step") or "")), group=group_word(str(item.get("group") or "")),
               due=str(item.get("due_text") or ""))


def _digest_period(config: Mapping[str, Any]) -> timedelta:
    text = str(config.get("ORDERFLOW_DIGEST_PERIOD") or DEFAULTS["ORDERFLOW_DIGEST_PERIOD"])
    start = datetime(2000, 1, 1, tzinfo=UTC)
    end = due_at(text, start)
    if end is None or end <= start:
        raise ValueError(f"ORDERFLOW_DIGEST_PERIOD is not a duration (P1D, PT8H): {text!r}")
    return end - start


def digest_group(session: Session, group_id: str, item: dict[str, Any], link: str | None = None) -> None:
    """Put an overdue step (``item``: task_id, order, step, group, due_text) into the overdue digest
    of every active member of ``group_id``: each person has one unread digest per
    ``ORDERFLOW_DIGEST_PERIOD``, refreshed as reminders come in (a step already in it is updated, not
    repeated); a new period's digest replaces the last one (marked read: its list is stale) and is
    the one that is mailed."""
    now = _now(session)
    period = _digest_period(_config(session))
    members = list(session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group_id, User.active.is_(True)).order_by(User.username)))
    for user in members:
        current = session.scalar(select(Notification).where(
            Notification.username == user.username, Notification.kind == DIGEST, Notification.read_at.is_(None))
            .order_by(Notification.id.desc()).limit(1))
        if current is not None and current.created_at > now - period:
            items = [i for i in (current.message or {}).get("items", []) if i.get("task_id") != item.get("task_id")]
            items.append(item)
            _fill_digest(current, items[-DIGEST_ITEMS:])
            continue
        if current is not None:
            current.read_at = now   # superseded: the new digest lists what is overdue now
        subject, body = _digest_words(1)
        [row] = _add(session, [user], DIGEST, subject, body, link, None, items=[item])
        _fill_digest(row, [item])


def _digest_words(count: int) -> tuple[Msg, Msg]:
    return (Msg("Overdue steps to chase: %(count)s", count=count),
            Msg("These steps are past their time limit and still open:"))


def _fill_digest(row: Notification, items: list[dict[str, Any]]) -> None:
    subject, body = _digest_words(len(items))
    row.subject, row.body = _one_line(subject, _SUBJECT_MAX), "\n".join([str(body), *map(str, map(item_line, items))])
    row.message = {"subject": to_data(subject), "body": to_data(body), "items": items}


def mail_to(session: Session, address: str, subject: Any, body: Any) -> Mail:
    """Queue one mail to someone without an account (a customer); sent after the commit."""
    row = Mail(to=address, subject=_one_line(subject, _SUBJECT_MAX), body=str(body), status="queued",
               created_at=_now(session))
    session.add(row)
    return row


def unread_count(session: Session, username: str) -> int:
    """One COUNT on the (username, read_at) index."""
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.username == username, Notification.read_at.is_(None))) or 0


def recent(session: Session, username: str, limit: int = 100) -> list[Notification]:
    """The user's notifications, newest first."""
    return list(session.scalars(select(Notification).where(Notification.username == username)
                                .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_read(session: Session, username: str, ids: list[int] | None) -> int:
    """Marks the user's unread notifications ``ids`` (``None``: all of them) read; others'
    notifications are never touched. Returns how many changed."""
    if ids is not None and not ids:
        return 0
    statement = (update(Notification)
                 .where(Notification.username == username, Notification.read_at.is_(None))
                 .values(read_at=_now(session)))
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    return rowcount(session.execute(statement, execution_options={"synchronize_session": "fetch"})) or 0


# -- delivery -------------------------------------------------------------------------------

def build_message(config: Mapping[str, Any], mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.get("ORDERFLOW_MAIL_FROM") or DEFAULTS["ORDERFLOW_MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = _one_line(mail.subject, _SUBJECT_MAX)
    message.set_content(mail.body)
    return message


def smtp_sender(config: Mapping[str, Any]) -> Sender:
    """Sends one message per SMTP connection (``smtplib.SMTP``, STARTTLS and login as configured)."""
    host = config.get("ORDERFLOW_SMTP_HOST") or "localhost"
    port = int(config.get("ORDERFLOW_SMTP_PORT") or 25)
    user, password = config.get("ORDERFLOW_SMTP_USER") or "", config.get("ORDERFLOW_SMTP_PASSWORD") or ""
    starttls = bool(config.get("ORDERFLOW_SMTP_STARTTLS"))

    def send(message: EmailMessage) -> None:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
        try:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if user:
                smtp.login(user, password)
            smtp.send_message(message)
        finally:
            with contextlib.suppress(Exception):  # the message went (or failed) already; a bad goodbye changes nothing
                smtp.quit()
    return send


def deliver_mail(session: Session, config: Mapping[str, Any], send: Sender | None = None) -> int:
    """Handles the queued mails; returns how many. Never raises.

    ``outbox`` mode marks them ``kept`` (the outbox page shows them); ``smtp`` mode sends each
    through ``send`` (default: ``smtp_sender(config)``) and marks it ``sent`` (with ``sent_at``) or
    ``failed`` (with the error). Safe to run in several workers at once: a mail is claimed
    ('queued' -> 'sending', guarded by ``WHERE status='queued'``) in a short committed
    transaction before it is sent, so each is sent once; no transaction is open while the SMTP
    server is talked to. Commits its own transactions: call it with nothing uncommitted.
    """
    mode = str(config.get("ORDERFLOW_MAIL_MODE") or "outbox").lower()
    handled = [0]
    if session.new or session.dirty or session.deleted:
        log.error("deliver_mail called with uncommitted changes; commit first (the mails stay queued)")
        return 0
    try:
        if mode != "smtp":
            if mode != "outbox":
                log.warning("unknown ORDERFLOW_MAIL_MODE %r: keeping mails in the outbox", mode)
            if not _any(session, Mail.status == "queued"):
                return 0
            kept = rowcount(session.execute(update(Mail).where(Mail.status == "queued").values(status="kept"),
                                            execution_options={"synchronize_session": False})) or 0
            session.commit()
            return kept
        _reclaim(session, config)
        _send_queued(session, config, send or smtp_sender(config), handled)
    except Exception:
        log.exception("mail delivery stopped")
        try:
            session.rollback()
        except Exception:
            log.exception("rollback after failed mail delivery")
    return handled[0]


def _reclaim(session: Session, config: Mapping[str, Any]) -> int:
    """Queue again the mails whose sender died between claiming and marking them (still 'sending'
    long after the claim): a mail may then go twice, which beats an escalation never sent."""
    try:
        stale = timedelta(seconds=float(config.get("ORDERFLOW_MAIL_RESEND_AFTER_SECONDS") or 600))
    except (TypeError, ValueError):
        stale = timedelta(seconds=600)
    if not _any(session, Mail.status == "sending", Mail.claimed_at < _now(session) - stale):
        return 0
    result = session.execute(
        update(Mail).where(Mail.status == "sending", Mail.claimed_at < _now(session) - stale)
        .values(status="queued", claimed_at=None, error="sent again: the sender stopped while sending it"),
        execution_options={"synchronize_session": False})
    session.commit()
    return rowcount(result) or 0


def _any(session: Session, *where: Any) -> bool:
    """Whether a mail matches, by its status index, in a read that is then ended. Every sweep asks
    before it writes: on SQLite any write, even of no row, waits for the writers' turn."""
    found = session.scalar(select(Mail.id).where(*where).limit(1))
    session.rollback()  # end the read: on SQLite a read transaction may not become a write after another commit
    return found is not None


def _claim(session: Session) -> list[int]:
    candidates = list(session.scalars(select(Mail.id).where(Mail.status == "queued").order_by(Mail.id)
                                      .limit(MAIL_BATCH)))
    session.rollback()  # end the read: on SQLite a read transaction may not become a write after another commit
    claimed = []
    for mail_id in candidates:
        result = session.execute(update(Mail).where(Mail.id == mail_id, Mail.status == "queued")
                                 .values(status="sending", claimed_at=_now(session)),
                                 execution_options={"synchronize_session": False})
        if rowcount(result) == 1:
            claimed.append(mail_id)
    session.commit()
    return claimed


def _send_queued(session: Session, config: Mapping[str, Any], send: Sender, handled: list[int]) -> None:
    while True:
        claimed = _claim(session)
        if not claimed:
            return
        for mail_id in claimed:
            mail = session.get(Mail, mail_id, populate_existing=True)
            if mail is None:
                continue
            error: Exception | None = None
            try:
                message = build_message(config, mail)
            except Exception as exc:
                error = exc
            session.commit()  # no transaction open while we talk to the SMTP server
            if error is None:
                try:
                    send(message)
                except Exception as exc:
                    error = exc
            mail = session.get_one(Mail, mail_id)  # claimed by us: nobody else removes it
            if error is not None:
                log.warning("mail %s to %s failed: %s", mail_id, mail.to, error)
                mail.status, mail.error = "failed", f"{type(error).__name__}: {error}"[:_ERROR_MAX]
            else:
                mail.status, mail.sent_at, mail.error = "sent", _now(session), None
            session.commit()
            handled[0] += 1
