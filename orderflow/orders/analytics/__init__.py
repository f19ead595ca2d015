"""Analytics for performance reviews: the task_stats roll-up and the managers' report.

``record_completion`` runs in the transaction that completes a human task and adds it to its
step's daily row in ``task_stats`` (counts, time limits met, seconds, a duration histogram,
decisions). ``report`` reads those rows, the instances' indexed start and end times and, for
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
from orderflow.orders.analytics.rollup import bucket_of, rebuild, record_completion

__all__ = ["SEE_ANALYTICS", "AfterSales", "GroupRow", "Rate", "Report", "StepRow", "SurveyResults", "WeekRow",
           "as_dict", "bucket_of", "csv", "delivery_step", "quantile", "rebuild", "record_completion", "report",
           "shipped_on_time"]
