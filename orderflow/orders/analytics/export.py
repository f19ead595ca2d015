"""The report for the edge: JSON (``as_dict``) and the CSV download (``csv``)."""
from __future__ import annotations

import csv as _csv
import io
from collections.abc import Callable
from typing import Any

from orderflow.core.i18n import Msg
from orderflow.orders.analytics.after_sales import after_sales_dict, surveys_dict, write_csv
from orderflow.orders.analytics.measures import Rate, rounded
from orderflow.orders.analytics.report import AFTER_SALES_PROCESS, Report

# -- shapes for the edge -----------------------------------------------------------------------

def as_dict(result: Report) -> dict[str, Any]:
    """The report as JSON: seconds for durations, shares as fractions (0.95 = 95 %)."""
    def rate(r: Rate) -> dict[str, Any]:
        return {"part": r.part, "whole": r.whole, "rate": rounded(r.value, 4)}
    return {
        "from": result.start.isoformat(), "to": result.end.isoformat(), "process": result.process,
        "time_zone": result.time_zone,
        "steps": [{"process": s.process_key, "element_id": s.element_id, "name": s.name, "group": s.group,
                   "count": s.count, "with_due": s.with_due, "on_time": s.on_time,
                   "compliance": rounded(s.compliance, 4), "mean_seconds": rounded(s.mean_seconds),
                   "median_seconds": rounded(s.median_seconds), "p90_seconds": rounded(s.p90_seconds)}
                  for s in result.steps],
        "groups": [{"group": g.group, "count": g.count, "with_due": g.with_due, "on_time": g.on_time,
                    "compliance": rounded(g.compliance, 4)} for g in result.groups],
        "weeks": [{"week": w.label, "week_start": w.week_start.isoformat(), "started": w.started,
                   "finished": w.finished} for w in result.weeks],
        "on_time_delivery": {**rate(result.delivery), "step": result.delivery_step},
        "rework": {**rate(result.rework), "step": result.qc_step},
        "returns": {**rate(result.returns), "process": AFTER_SALES_PROCESS},
        **_after_sales_dict(result),
    }


def _after_sales_dict(result: Report) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if result.after_sales is not None:
        found["after_sales"] = after_sales_dict(result.after_sales)
    if result.surveys is not None:
        found["surveys"] = surveys_dict(result.surveys)
    return found


STEP_COLUMNS = (Msg("Process"), Msg("Step"), Msg("Step name"), Msg("Department"), Msg("Completed"),
                Msg("Median (h)"), Msg("90th percentile (h)"), Msg("Mean (h)"), Msg("With time limit"),
                Msg("Within time limit"), Msg("Compliance (share)"))
WEEK_COLUMNS = (Msg("Week"), Msg("Week starts"), Msg("Orders started"), Msg("Orders finished"))


def _hours(seconds: float | None) -> str:
    return f"{seconds / 3600:.2f}" if seconds is not None else ""


def csv(result: Report, translate: Callable[[Any], str] = str) -> str:
    """The step table, a blank line, the weekly table, then the after-sales tables (cases by type,
    after-sales figures, latest survey comments), each after a blank line: UTF-8 text with a BOM
    so Excel reads it."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = _csv.writer(out)
    writer.writerow([translate(c) for c in STEP_COLUMNS])
    for s in result.steps:
        writer.writerow([s.process_key, s.element_id, s.name, s.group, s.count, _hours(s.median_seconds),
                         _hours(s.p90_seconds), _hours(s.mean_seconds), s.with_due, s.on_time,
                         "" if s.compliance is None else f"{s.compliance:.4f}"])
    writer.writerow([])
    writer.writerow([translate(c) for c in WEEK_COLUMNS])
    for w in result.weeks:
        writer.writerow([w.label, w.week_start.isoformat(), w.started, w.finished])
    if result.after_sales is not None and result.surveys is not None:
        write_csv(writer, result.after_sales, result.surveys, translate)
    return out.getvalue()
