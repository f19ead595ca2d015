"""The order business's processes, by key: the diagrams in processes/ define them."""
from __future__ import annotations

from collections.abc import Collection

ORDER_PROCESS = "order_flow"          # an order, from receipt to archive
CASE_PROCESS = "after_sales"          # an after-sales case about a completed order
# the survey's user task: ``answer_survey`` in processes/satisfaction_survey.bpmn (form
# satisfaction_survey.json); a step named after the form counts too
SURVEY_STEPS = ("answer_survey", "satisfaction_survey")
ALL_PROCESSES = "all"                 # a page's process selector: every process


def chosen_process(asked: str | None, deployed: Collection[str], *, one: bool = False) -> str | None:
    """The process a page shows (the board, analytics, the monitor): the one ``asked`` for;
    ``all`` means every process (None); nothing asked opens on the order flow when it is
    deployed, else on every process, or on the first deployed one for a page that shows ``one``."""
    asked = (asked or "").strip()
    if asked == ALL_PROCESSES:
        return None if not one else chosen_process(None, deployed, one=True)
    if asked:
        return asked
    if ORDER_PROCESS in deployed:
        return ORDER_PROCESS
    return next(iter(deployed), None) if one else None
