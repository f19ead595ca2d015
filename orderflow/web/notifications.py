"""Notifications (page, mark read, JSON), the outbox of e-mails, and the navbar's unread badge."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from orderflow.access.permissions import can, require
from orderflow.core.i18n import from_data
from orderflow.core.models import Mail, Notification, User
from orderflow.web.auth import current_actor, login_required, safe_next
from orderflow.web.db_session import get_session
from orderflow.web.present import iso, localize
from orderflow.workflow import notify
from orderflow.workflow.customer_links import mask_links

bp = Blueprint("notifications", __name__)

MAIL_STATUSES = ("queued", "sending", "sent", "kept", "failed")
OUTBOX_LIMIT = 200


def internal_link(link: str | None) -> str | None:
    """Only links within this site become hrefs (never ``javascript:`` or another host)."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None


@dataclass
class NoteView:
    """A notification in the reader's language: kept as message keys (``Notification.message``),
    or, for one stored before, its English text."""

    row: Notification
    subject: str
    body: str
    items: list[dict[str, Any]]   # a digest's steps: {"text", "link"}


def note_view(row: Notification) -> NoteView:
    message = row.message if isinstance(row.message, dict) else {}
    subject = localize(from_data(message["subject"])) if message.get("subject") else row.subject
    body = localize(from_data(message["body"])) if "body" in message else row.body
    items = [{"text": localize(notify.item_line(item)), "link": internal_link(item.get("link"))}
             for item in message.get("items") or [] if isinstance(item, dict)]
    return NoteView(row, str(subject), mask_links(str(body or "")) or "", items)


def notification_json(row: Notification) -> dict[str, Any]:
    note = note_view(row)
    return {"id": row.id, "kind": row.kind, "subject": note.subject, "body": note.body, "link": row.link,
            "items": note.items, "instance_id": row.instance_id, "created_at": iso(row.created_at),
            "read_at": iso(row.read_at), "read": row.read_at is not None}


@bp.get("/notifications")
@login_required
def index():
    actor = current_actor()
    rows = notify.recent(get_session(), actor.username)
    return render_template("notifications/notifications.html", notifications=[note_view(r) for r in rows],
                           link=internal_link)


@bp.post("/notifications/read")
@login_required
def read() -> ResponseReturnValue:
    ids: list[int] | None
    if request.form.get("all"):
        ids = None
    else:
        ids = [int(v) for v in request.form.getlist("ids") if v.strip().isdigit()]
    notify.mark_read(get_session(), current_actor().username, ids)
    return redirect(safe_next(request.form.get("next") or url_for("notifications.index")))


@bp.get("/outbox")
@login_required
def outbox():
    require(current_actor(), "outbox.read")
    status = request.args.get("status", "")
    query = select(Mail).order_by(Mail.id.desc()).limit(OUTBOX_LIMIT)
    if status in MAIL_STATUSES:
        query = query.where(Mail.status == status)
    else:
        status = ""
    return render_template("notifications/outbox.html", mails=list(get_session().scalars(query)), status=status,
                           statuses=MAIL_STATUSES, mask=mask_links,
                           mode=current_app.config.get("ORDERFLOW_MAIL_MODE", "outbox"))


@bp.get("/api/v1/notifications")
def api_list():
    actor = current_actor()
    session = get_session()
    rows = notify.recent(session, actor.username)
    return jsonify(items=[notification_json(r) for r in rows], next_cursor=None,
                   unread=notify.unread_count(session, actor.username))


def _unread_for(actor: User) -> int:
    """The badge's number, one COUNT per request, computed only when a page asks for it."""
    if "unread_notifications" not in g:
        try:
            g.unread_notifications = notify.unread_count(get_session(), actor.username)
        except SQLAlchemyError:  # a badge must never break the page (e.g. the error page itself)
            current_app.logger.warning("unread count failed", exc_info=True)
            g.unread_notifications = 0
    return g.unread_notifications


@bp.app_context_processor
def _navbar() -> dict[str, Any]:
    actor = g.get("actor") or (current_user.user if current_user and current_user.is_authenticated else None)
    if actor is None:
        return {"unread_notifications": lambda: 0, "can_see_outbox": False}
    return {"unread_notifications": lambda: _unread_for(actor), "can_see_outbox": can(actor, "outbox.read")}
