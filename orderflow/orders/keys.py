"""The order business's processes, by key: the diagrams in processes/ define them."""
ORDER_PROCESS = "order_flow"          # an order, from receipt to archive
CASE_PROCESS = "after_sales"          # an after-sales case about a completed order
# the survey's user task: ``answer_survey`` in processes/satisfaction_survey.bpmn (form
# satisfaction_survey.json); a step named after the form counts too
SURVEY_STEPS = ("answer_survey", "satisfaction_survey")
