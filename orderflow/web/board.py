"""Managers: the order board (GET /board, /board.csv, /api/v1/board) and its saved filters."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderflow.access import accounts
from orderflow.access.accounts import GROUPS, STAFF_GROUPS
from orderflow.access.permissions import require
from orderflow.core.errors import InvalidInput, NotFound
from orderflow.core.i18n import status_word
from orderflow.core.models import ProcessVersion, SavedFilter, User
from orderflow.orders import board
from orderflow.orders.keys import ALL_PROCESSES, chosen_process
from orderflow.web.auth import current_actor, login_required, safe_next
from orderflow.web.db_session import get_session
from orderflow.web.present import bilingual, group_label, iso, local_time, localize, localize_fields, now
from orderflow.workflow import definitions, saved_filters

bp = Blueprint("board", __name__)
PER_PAGE_CHOICES = (25, 50, 100, 200)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _overseer() -> User:
    actor = current_actor()
    require(actor, "board.read")
    return actor


def _names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(User.username, User.display_name)).all())


def _options(session: Session, f: board.BoardFilter) -> dict[str, Any]:
    """Choices for the filter form: deployed processes, the chosen one's versions, user-task steps."""
    latest = definitions.list_latest(session)
    key = f.process_key
    versions = list(session.scalars(select(ProcessVersion.version).where(ProcessVersion.key == key)
                                    .order_by(ProcessVersion.version))) if key else []
    shown = [p for p in latest if not key or p.key == key]
    if key and f.version:
        try:
            shown = [definitions.get_version(session, key, f.version)]
        except NotFound:
            shown = []
    steps: dict[str, str] = {}
    for row in shown:
        for element in definitions.definition(session, row).elements.values():
            if element.kind == "userTask":
                steps.setdefault(element.element_id, element.name)
    if f.element and f.element not in steps:
        steps[f.element] = f.element
    return {"processes": latest, "versions": versions, "steps": steps, "groups": STAFF_GROUPS,
            "per_page": sorted({*PER_PAGE_CHOICES, f.per_page})}


def _page_filter(session: Session) -> board.BoardFilter:
    """The page's filter: asked for no process, the board opens on the order flow
    (every process is ``process=all``). The API keeps "no process" as every process."""
    f = board.BoardFilter.from_args(request.args)
    if f.process is None:
        deployed = [p.key for p in definitions.list_latest(session)]
        f = replace(f, process=chosen_process(None, deployed) or ALL_PROCESSES)
    return f


@bp.get("/board")
@login_required
def index() -> ResponseReturnValue:
    session, actor = get_session(), _overseer()
    errors: dict[str, str] = {}
    message = None
    try:
        f = _page_filter(session)
        page = board.rows(session, actor, f)
    except InvalidInput as exc:
        f, page = board.BoardFilter(), board.BoardPage([], 0, 1, 1)
        errors = localize_fields(exc.fields)
        message = _("The board cannot be shown with these filters; correct the marked ones.")
    risk_days = current_app.config.get("ORDERFLOW_RISK_DAYS", 7)
    saved = board.list_filters(session, actor)
    return render_template("board/board.html", f=f, page=page, args=request.args, errors=errors, message=message,
                           options=_options(session, f), saved=saved, changeable=_changeable(actor, saved),
                           names=accounts.display_names(session, [*(r.assignee for r in page.rows),
                                                                  *(s.owner for s in saved)]),
                           me=actor.username, risk_days=risk_days,
                           group_names={gid: group_label(gid) for gid in GROUPS},
                           query=f.query_string(page=1), all_processes=ALL_PROCESSES,
                           process=request.args.get("process", "") if errors else f.process), (422 if errors else 200)


def _changeable(actor: User, saved: list[SavedFilter]) -> set[int]:
    """The saved filters the actor may rename and delete."""
    return {row.id for row in saved if saved_filters.may_change(actor, row)}


def _cell(value: Any) -> str:
    """Text for a CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@bp.get("/board.csv")
@login_required
def csv_export():
    session, actor = get_session(), _overseer()
    f = board.BoardFilter.from_args(request.args)   # as the API: the page's link names its process
    names = _names(session)
    header = [_("Order"), _("Customer"), _("Total"), _("Promised date"), _("Status"), _("Step"), _("Group"),
              _("Assignee"), _("Waiting since"), _("Due"), _("Overdue"), _("At risk")]
    yes, no = _("Yes"), _("No")

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        buffer.write("\ufeff")  # the BOM: Excel then reads UTF-8 (Chinese names) correctly
        out.writerow(header)
        for row in board.csv_rows(session, actor, f):
            out.writerow([
                _cell(row.business_key or f"#{row.instance_id}"), _cell(row.customer),
                "" if row.order_total is None else f"{row.order_total:.2f}",
                row.promised_date.isoformat() if row.promised_date else "", localize(status_word(row.status)),
                _cell(bilingual(row.step or "")), _cell(group_label(row.group) if row.group else ""),
                _cell(names.get(row.assignee, row.assignee) if row.assignee else ""),
                local_time(row.ready_at), local_time(row.due_at), yes if row.overdue else no,
                yes if row.at_risk else no,
            ])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    stamp = now().strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="order-board-{stamp}.csv"'
    return response


def row_json(row: board.BoardRow, names: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "instance_id": row.instance_id, "business_key": row.business_key, "process": row.process,
        "customer": row.customer, "order_total": row.order_total,
        "promised_date": row.promised_date.isoformat() if row.promised_date else None,
        "status": row.status, "started_at": iso(row.started_at), "task_id": row.task_id,
        "element_id": row.element_id, "step": row.step, "group": row.group, "assignee": row.assignee,
        "assignee_name": (names or {}).get(row.assignee or "", row.assignee),
        "ready_at": iso(row.ready_at), "due_at": iso(row.due_at), "overdue": row.overdue, "at_risk": row.at_risk,
        "late": row.late,
    }


@bp.get("/api/v1/board")
def api_index():
    session, actor = get_session(), _overseer()
    f = board.BoardFilter.from_args(request.args)
    page = board.rows(session, actor, f)
    names = accounts.display_names(session, (r.assignee for r in page.rows))
    return jsonify(items=[row_json(r, names) for r in page.rows], total=page.total, total_exact=page.exact,
                   page=page.page, pages=page.pages)


def _board_url(query: str) -> str:
    """/board with a query string rebuilt from its pairs (nothing else can ride along)."""
    clean = urlencode(parse_qsl(query.lstrip("?"), keep_blank_values=False))
    return url_for("board.index") + (f"?{clean}" if clean else "")


@bp.post("/board/filters")
@login_required
def save_filter():
    session, actor = get_session(), _overseer()
    query = request.form.get("query", "")
    try:
        row = board.save_filter(session, actor, request.form.get("name", ""), query,
                                request.form.get("shared") in {"1", "on", "true", "yes"})
    except InvalidInput as exc:
        session.rollback()
        flash(localize(exc.message), "danger")
        return redirect(_board_url(query))
    flash(_("Filter “%(name)s” saved.", name=row.name), "success")
    return redirect(_board_url(row.query))


@bp.post("/board/filters/<int:filter_id>/rename")
@login_required
def rename_filter(filter_id: int):
    session, actor = get_session(), _overseer()
    try:
        row = board.rename_filter(session, actor, filter_id, request.form.get("name", ""))
    except InvalidInput as exc:   # (nothing was changed)
        flash(localize(exc.message), "danger")
    else:
        flash(_("The filter is now called “%(name)s”.", name=row.name), "success")
    target = request.form.get("next")
    return redirect(safe_next(target) if target else url_for("board.index"))


@bp.post("/board/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int):
    session, actor = get_session(), _overseer()
    board.delete_filter(session, actor, filter_id)
    flash(_("The saved filter was deleted."), "success")
    target = request.form.get("next")
    return redirect(safe_next(target) if target else url_for("board.index"))
