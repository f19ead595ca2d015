"""Analytics for performance reviews: the task_stats roll-up and the managers' report.

``catch_up`` adds the human tasks completed since it last ran (``HumanTask.rollup_pending``) to
their steps' daily rows in ``task_stats`` (counts, time limits met, seconds, a duration histogram,
decisions): the scheduler's sweep runs it (``Hooks.roll_up``), and ``report`` before it reads.
``report`` reads those rows, the instances' indexed start and end times and, for
on-time delivery, the delivery step's finished tasks in the period (through their index); it
never scans ``human_tasks`` for durations. ``rebuild`` recomputes the roll-up from the tasks.
``after_sales`` adds the report's after-sales section: cases by type and outcome, the return rate,
time to close, and the satisfaction survey's answers.

Days and weeks are the company's (``ORDERFLOW_DISPLAY_TIMEZONE``, ``days.py``); a week starts on
Monday (ISO weeks). SQLite and PostgreSQL.
"""
from orderflow.orders.analytics.after_sales import AfterSales, SurveyResults
from orderflow.orders.analytics.export import as_dict, csv
from orderflow.orders.analytics.measures import Rate, shipped_on_time
from orderflow.orders.analytics.report import (
    SEE_ANALYTICS,
    GroupRow,
    Report,
    StepRow,
    WeekRow,
    delivery_step,
    quantile,
    report,
)
from orderflow.orders.analytics.rollup import bucket_of, catch_up, rebuild

__all__ = ["SEE_ANALYTICS", "AfterSales", "GroupRow", "Rate", "Report", "StepRow", "SurveyResults", "WeekRow",
           "as_dict", "bucket_of", "catch_up", "csv", "delivery_step", "quantile", "rebuild", "report",
           "shipped_on_time"]
