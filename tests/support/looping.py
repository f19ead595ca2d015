"""bench/looping.bpmn in SpiffWorkflow alone: a rework loop whose task tree grows with every round."""
from __future__ import annotations

from pathlib import Path

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"


def looping(rounds: int = 0) -> BpmnWorkflow:
    """The loop, ``rounds`` rounds in (it would go on for a thousand)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(BENCH / "looping.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec("bench_looping"))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data["limit"] = 1000
    workflow.do_engine_steps()
    for _ in range(rounds):
        one_round(workflow)
    return workflow


def one_round(workflow: BpmnWorkflow, note: object = "again") -> None:
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    task.data["note"] = note
    task.run()
    workflow.do_engine_steps()
