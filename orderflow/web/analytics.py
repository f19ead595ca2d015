"""Managers: analytics for performance reviews (page, CSV download, JSON)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from orderflow.access.permissions import require
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.timefmt import company_zone, offset_label
from orderflow.orders import analytics
from orderflow.orders.keys import ALL_PROCESSES, chosen_process
from orderflow.web.auth import current_actor, login_required
from orderflow.web.db_session import get_session
from orderflow.web.present import bilingual, group_label, localize, localize_fields, now
from orderflow.workflow import definitions

bp = Blueprint("analytics", __name__)
DEFAULT_DAYS = 90


def _date_arg(name: str, default: date, errors: dict[str, Msg]) -> date:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        errors[name] = Msg("Enter a date as YYYY-MM-DD.")
        return default


def _process() -> str | None:
    """``process``: a key; ``all`` or '' for every process; none asked: the order flow when deployed."""
    asked = request.args.get("process")
    if asked is not None and not asked.strip():
        return None
    return chosen_process(asked, _process_keys())


def _params() -> tuple[date, date, str | None]:
    """``from``/``to`` (default: the last 90 days up to today in the company's zone) and ``process``
    (see ``_process``)."""
    errors: dict[str, Msg] = {}
    end = _date_arg("to", now().astimezone(company_zone(current_app.config)).date(), errors)
    start = _date_arg("from", end - timedelta(days=DEFAULT_DAYS - 1), errors)
    if errors:
        first = request.args.get("from" if "from" in errors else "to", "")
        raise InvalidInput(Msg("'%(value)s' is not a date; write dates as YYYY-MM-DD, for example 2026-03-31.",
                               value=first), fields=errors)
    return start, end, _process()


def _report() -> analytics.Report:
    actor = current_actor()
    require(actor, "analytics.read")   # before the parameters: strangers get 403, not 422
    start, end, process = _params()
    return analytics.report(get_session(), actor, start, end, process)


@bp.get("/analytics")
@login_required
def index():
    try:
        result = _report()
    except InvalidInput as exc:
        form = {k: request.args.get(k, "") for k in ("from", "to")}
        form["process"] = _process() or ALL_PROCESSES
        return render_template("analytics/analytics.html", report=None, error=localize(exc.message),
                               errors=localize_fields(exc.fields), form=form, processes=_process_keys(),
                               all_processes=ALL_PROCESSES, days=_days()), 422
    form = {"from": result.start.isoformat(), "to": result.end.isoformat(),
            "process": result.process or ALL_PROCESSES}
    return render_template("analytics/analytics.html", report=result, error=None, errors={}, form=form,
                           processes=_process_keys(), chart=_chart_data(result), duration=duration,
                           all_processes=ALL_PROCESSES, days=_days())


@bp.get("/analytics.csv")
@login_required
def download():
    result = _report()
    name = f"analytics-{result.process or ALL_PROCESSES}-{result.start.isoformat()}-{result.end.isoformat()}.csv"
    return Response(analytics.csv(result, localize).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/api/v1/analytics")
def api_report():
    return jsonify(analytics.as_dict(_report()))


def _days() -> dict[str, str]:
    """The zone the report's days are in, as the page states it: ``UTC+8`` and ``Asia/Shanghai``."""
    zone = company_zone(current_app.config)
    return {"offset": offset_label(now().astimezone(zone)), "zone": zone.key}


def _process_keys() -> list[str]:
    return [p.key for p in definitions.list_latest(get_session())]


def duration(seconds: float | None) -> str:
    """A duration for people: seconds, minutes, hours or days, one decimal where it helps."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("%(value)s s", value=f"{seconds:.0f}")
    if seconds < 3600:
        return _("%(value)s min", value=f"{seconds / 60:.0f}")
    if seconds < 2 * 86400:
        return _("%(value)s h", value=f"{seconds / 3600:.1f}")
    return _("%(value)s d", value=f"{seconds / 86400:.1f}")


def _percent(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


def _hours(seconds: float | None) -> float | None:
    return round(seconds / 3600, 2) if seconds is not None else None


def _chart_data(result: analytics.Report) -> dict:
    """What analytics.js draws, labels already in the reader's language."""
    return {
        "steps": {"labels": [bilingual(s.name) for s in result.steps],
                  "median": [_hours(s.median_seconds) for s in result.steps],
                  "p90": [_hours(s.p90_seconds) for s in result.steps],
                  "compliance": [_percent(s.compliance) for s in result.steps]},
        "groups": {"labels": [group_label(g.group) or _("No department") for g in result.groups],
                   "compliance": [_percent(g.compliance) for g in result.groups]},
        "weeks": {"labels": [w.label for w in result.weeks],
                  "started": [w.started for w in result.weeks],
                  "finished": [w.finished for w in result.weeks]},
        "text": {"median": _("Median"), "p90": _("90th percentile"), "hours": _("Hours"),
                 "compliance": _("Within time limit"), "started": _("Orders started"),
                 "finished": _("Orders finished"), "percent": _("Share in percent"),
                 "cases": _("Cases opened"), "answers": _("Survey answers"), "count": _("Number")},
        **_after_sales_chart(result),
    }


def case_type_label(value: str | None) -> str:
    words = {"return": _("Return"), "exchange": _("Exchange"), "repair": _("Repair"), "refund": _("Refund"),
             "complaint": _("Complaint")}
    return words.get(value or "", value) if value else _("Not given")


def _after_sales_chart(result: analytics.Report) -> dict:
    """Cases opened per type and the survey's rating distribution; empty labels draw no chart."""
    cases, answers = result.after_sales, result.surveys
    return {
        "cases": {"labels": [case_type_label(r.type) for r in cases.by_type] if cases else [],
                  "opened": [r.opened for r in cases.by_type] if cases else []},
        "ratings": {"labels": [str(i) for i in range(1, 6)] if answers and answers.rated else [],
                    "counts": list(answers.distribution) if answers and answers.rated else []},
    }
