"""One walk over a workflow's task tree for everything a step projects.

After each step the service needs the ready user tasks, the finished elements, the open tasks
(whose data make the order's data) and the started ones (service calls waiting on a job).
SpiffWorkflow answers each with its own walk of the whole tree, sub-processes included
(``get_tasks(state=…)``); this walks once, in the same depth-first order, and keeps each
answer exactly as its own walk would have found it:

- below a predicted task (MAYBE, LIKELY) nothing is visited, as for any walk asking for definite
  states; a sub-process's tree is always entered;
- a COMPLETED task counts as finished only where a walk asking for COMPLETED reaches it: through
  finished tasks and sub-process tasks alone (a multi-instance still running has completed
  children that do not yet make its element finished);
- the workflow is complete when its own tree (its sub-processes' aside) has no unfinished task,
  as ``Workflow.is_completed`` walks to find out (a predicted task is unfinished itself, so what
  lies below one does not change the answer).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_FUTURE, _COMPLETED = TaskState.FUTURE, TaskState.COMPLETED   # below COMPLETED: unfinished
_OPEN = TaskState.READY | TaskState.WAITING


@dataclass
class Walk:
    ready: list[Task] = field(default_factory=list)       # READY, in tree order
    open: list[Task] = field(default_factory=list)        # READY or WAITING, in tree order
    started: list[Task] = field(default_factory=list)     # STARTED
    completed: list[Task] = field(default_factory=list)   # COMPLETED, as get_tasks(state=COMPLETED) finds them
    finished: bool = True    # no unfinished task in the workflow's own tree: Workflow.is_completed()


def walk(workflow: BpmnWorkflow) -> Walk:
    found = Walk()
    subprocesses = workflow.top_workflow.subprocesses
    stack: list[tuple[Task, bool]] = [(workflow.task_tree, True)]   # (task, reached through finished ones)
    while stack:
        task, through_finished = stack.pop()
        state = task.state
        if state < _COMPLETED and task.workflow is workflow:
            found.finished = False
        if state == _COMPLETED:
            if through_finished:
                found.completed.append(task)
        elif state & _OPEN:
            found.open.append(task)
            if state == TaskState.READY:
                found.ready.append(task)
        elif state == TaskState.STARTED:
            found.started.append(task)
        subprocess = subprocesses.get(task.id)
        if subprocess is None and (state < _FUTURE or not task._children):
            continue
        below = through_finished and (state >= _COMPLETED or subprocess is not None)
        nexts = ([subprocess.task_tree] if subprocess is not None else []) + task.children
        stack.extend((child, below) for child in reversed(nexts))
    return found
