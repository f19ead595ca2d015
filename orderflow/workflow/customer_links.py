"""The customer's own steps: signed, expiring, single-use links to one step's form.

A user task in a ``customer`` lane, or with the property ``customer="true"``, is the customer's.
When it becomes ready and the order knows the customer's e-mail (data field ``customer_email``), a
link is mailed through the outbox; staff of the step's group can send a new one (to another address)
or complete the step on the customer's behalf, which is recorded as such.

The link carries ``[link id, secret]`` signed with the app's secret key (itsdangerous); the database
keeps only the secret's SHA-256, so a copy of the database cannot forge links, and a link is refused
when tampered with, replaced by a newer one, used, expired, or when its step is no longer waiting.
Using it and completing the step happen in one transaction: a refused or invalid submission changes
nothing, not even the link.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orderflow.access.permissions import require_task_member
from orderflow.core import audit, timefmt
from orderflow.core.db import rowcount
from orderflow.core.errors import InvalidInput, NotFound, OrderflowError
from orderflow.core.hooks import Hooks
from orderflow.core.i18n import Msg
from orderflow.core.models import CustomerLink, HumanTask, User
from orderflow.core.platform import platform_of
from orderflow.engine import due_at, linear_re
from orderflow.workflow import definitions, form_rules, forms, notify

SALT = "orderflow.customer-link"
EMAIL_FIELD = "customer_email"
_EMAIL = linear_re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # RE2: re was quadratic over "a@....@"


class LinkRefused(OrderflowError):
    """A link that cannot be used: ``reason`` is invalid, replaced, used, expired or closed."""

    status, code = 410, "link_refused"

    def __init__(self, message: str, reason: str):
        super().__init__(message, reason=reason)
        self.reason = reason
        if reason == "invalid":
            self.status = 404
        elif reason == "staff":
            self.status = 403


@dataclass
class LinkPage:
    link: CustomerLink
    task: HumanTask
    schema: dict[str, Any]
    values: dict[str, Any]     # the form's fields, pre-filled from the order
    header: dict[str, Any]     # order number / case number / customer


def _serializer(session: Session) -> URLSafeSerializer:
    secret = platform_of(session).config.get("SECRET_KEY")
    if not secret:
        raise RuntimeError("SECRET_KEY is not set: customer links cannot be signed.")
    return URLSafeSerializer(secret, salt=SALT)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def valid_email(value: Any) -> str | None:
    if isinstance(value, str) and len(value.strip()) <= 300 and _EMAIL.match(value.strip()):
        return value.strip()
    return None


def offer(session: Session, task: HumanTask) -> str | None:
    """A new customer step: mail the link when the order knows the customer's address."""
    email = valid_email((task.context or {}).get(EMAIL_FIELD))
    return issue(session, task, email, "system") if email else None


def remind(session: Session, task: HumanTask) -> str | None:
    """The step's time limit passed without an answer: mail a fresh link (the old one stops working)
    to the address the last link went to, or the order's. Once: later reminders go to staff only."""
    latest = session.scalar(select(CustomerLink).where(CustomerLink.task_id == task.id)
                            .order_by(CustomerLink.id.desc()).limit(1))
    if latest is not None and latest.used_at is not None:
        return None
    email = valid_email(latest.email if latest is not None else None) or \
        valid_email((task.context or {}).get(EMAIL_FIELD))
    return issue(session, task, email, "system", reminder=True) if email else None


def send(session: Session, actor: User, task_id: int, email: Any) -> None:
    """Staff send the customer a (new) link for their step; earlier links stop working. Staff never
    read the link: it goes only into the customer's mail (None is returned, the API's ``url`` is null)."""
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(Msg("There is no task with id %(id)s.", id=task_id))
    require_task_member(actor, task)
    if not task.customer_step:
        raise InvalidInput(Msg("This step is not the customer's; it has no customer link."))
    if task.status != "ready" or task.instance.status != "running":
        raise InvalidInput(Msg("This step is no longer waiting; there is nothing to send."))
    address = valid_email(email)
    if address is None:
        raise InvalidInput(Msg("Enter the customer's e-mail address, like name@example.com."),
                           fields={"email": Msg("not an e-mail address")})
    issue(session, task, address, actor.username)
    return None


# a link in a text: the path's token (URL-safe base64 and its signature's dot), matched linearly
_LINK = re.compile(r"/c/[A-Za-z0-9_.\-]+")
MASK = "/c/[link hidden: only the customer may open it]"


def mask_links(text: str | None) -> str | None:
    """A mail body as staff may read it: every customer link's token hidden."""
    return _LINK.sub(MASK, text) if text else text


def refuse_staff_session() -> LinkRefused:
    """The stricter rule: a link opened in a logged-in staff session is refused (GET and POST), so
    "by the customer" is only ever written from outside one. Staff answer on the task page instead."""
    return LinkRefused(Msg("You are logged in to Orderflow: a customer link is only for the customer. Answer on "
                           "the task page instead; it is recorded as done on the customer's behalf."), "staff")


def issue(session: Session, task: HumanTask, email: str | None, created_by: str, reminder: bool = False) -> str:
    """Make a link for ``task`` (replacing open ones), queue its mail when ``email`` is given, and
    return its URL: the only time the secret exists outside the mail."""
    platform = platform_of(session)
    now = platform.clock()
    ttl = str(platform.config.get("ORDERFLOW_CUSTOMER_LINK_TTL") or "P14D")
    session.execute(update(CustomerLink).where(CustomerLink.task_id == task.id, CustomerLink.used_at.is_(None),
                                               CustomerLink.revoked_at.is_(None)).values(revoked_at=now))
    secret = secrets.token_urlsafe(24)
    link = CustomerLink(task_id=task.id, instance_id=task.instance_id, secret_sha256=_digest(secret), email=email,
                        created_by=created_by, created_at=now, expires_at=due_at(ttl, now))
    session.add(link)
    session.flush()
    url = notify.absolute_url(platform.config, "/c/" + _serializer(session).dumps([link.id, secret]))
    if email:
        hooks = platform.hooks
        notify.mail_to(session, email, *_mail(task, url, link, hooks, timefmt.company_zone(platform.config), reminder))
    audit.record(session, task.instance_id, created_by, "customer_link_sent", task.element_id,
                 {"task_id": task.id, "link_id": link.id, "email": email, "expires_at": link.expires_at.isoformat(),
                  "reminder": reminder})
    return url


def _mail(task: HumanTask, url: str, link: CustomerLink, hooks: Hooks, zone: ZoneInfo,
          reminder: bool = False) -> tuple[str, str]:
    """Subject and body in both languages: the customer has no account that names theirs."""
    data = task.context or {}
    ref = next((data[k] for k in hooks.link_reference if data.get(k)), None) or task.instance.business_key \
        or f"#{task.instance_id}"
    until = timefmt.at(link.expires_at, zone)   # as the customer's page says it
    name = next((data[k] for k in hooks.link_addressee if isinstance(data.get(k), str) and data[k]), None)
    greeting = f"Dear {name}," if name else "Dear customer,"
    subject = f"{'Reminder / 提醒: ' if reminder else ''}{ref}: {task.name}"
    body = (f"{greeting}\n\nplease complete this step of {ref} for us: {task.name}.\n"
            f"Open the link below (it works once, until {until}):\n\n{url}\n\n"
            f"您好！\n\n请通过以下链接完成 {ref} 的这一步骤：{task.name}。\n"
            f"链接仅可使用一次，有效期至 {until}：\n\n{url}\n")
    return subject, body


def _resolve(session: Session, token: str, lock: bool) -> CustomerLink:
    try:
        link_id, secret = _serializer(session).loads(token)
        if not isinstance(link_id, int) or not isinstance(secret, str):
            raise BadSignature("payload")
    except (BadSignature, ValueError, TypeError):
        raise LinkRefused(Msg("This link is not valid. Check that it was copied completely, or ask us for a new one."),
                          "invalid") from None
    query = select(CustomerLink).where(CustomerLink.id == link_id)
    link = session.scalar(query.with_for_update() if lock else query)
    if link is None or not hmac.compare_digest(link.secret_sha256, _digest(secret)):
        raise LinkRefused(Msg("This link is not valid. Check that it was copied completely, or ask us for a new one."),
                          "invalid")
    if link.used_at is not None:
        raise LinkRefused(Msg("This link has already been used, so your answer is with us. Each link works once."),
                          "used")
    if link.revoked_at is not None:
        raise LinkRefused(Msg("This link was replaced by a newer one; please use the latest e-mail we sent you."),
                          "replaced")
    task = link.task
    if task.status != "ready" or task.instance.status != "running":
        raise LinkRefused(Msg("This step is no longer waiting for an answer; nothing needs to be done here."),
                          "closed")
    if link.expires_at <= platform_of(session).clock():
        raise LinkRefused(Msg("This link has expired. Please ask us for a new one."), "expired")
    return link


def open_page(session: Session, token: str) -> LinkPage:
    """What the customer's page shows: the step's form and the few facts that name the order."""
    link = _resolve(session, token, lock=False)
    task = link.task
    schema = definitions.form(session, task.instance.version, task.form_key) or {"type": "object", "properties": {}}
    data = task.context or {}
    clock = platform_of(session).clock
    schema = form_rules.applicable(schema, data, clock)
    header = {k: data[k] for k in platform_of(session).hooks.link_header if data.get(k) not in (None, "")}
    return LinkPage(link, task, schema, forms.prefill(schema, data, clock), header)


def redeem(session: Session, token: str, client: str | None = None) -> HumanTask:
    """Use the link once: its step, for the customer's answer (``tasks.complete_by_link``). Raises
    before anything changes when the link is unknown, expired, revoked or used."""
    link = _resolve(session, token, lock=True)
    # compare-and-set: of two submissions racing on one link, one finds it still unused
    used = session.execute(update(CustomerLink).where(CustomerLink.id == link.id, CustomerLink.used_at.is_(None))
                           .values(used_at=platform_of(session).clock()).execution_options(synchronize_session="fetch"))
    if rowcount(used) != 1:
        raise LinkRefused(Msg("This link has already been used, so your answer is with us. Each link works once."),
                          "used")
    audit.record(session, link.instance_id, "customer", "customer_link_used", link.task.element_id,
                 {"task_id": link.task_id, "link_id": link.id, "email": link.email, "client": client})
    return link.task


def links_of(session: Session, task_id: int) -> list[CustomerLink]:
    return list(session.scalars(select(CustomerLink).where(CustomerLink.task_id == task_id)
                                .order_by(CustomerLink.id.desc()).limit(20)))
