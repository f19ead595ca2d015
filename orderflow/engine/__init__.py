"""The only package that imports SpiffWorkflow. See docs/DESIGN.md for the traps it handles."""
from orderflow.engine.clock import engine_clock
from orderflow.engine.durations import due_at, late_test
from orderflow.engine.expressions import ExpressionError, check_expression, evaluate
from orderflow.engine.migration import Migration, MigrationRefused, current_steps, diff_definitions, plan_migration
from orderflow.engine.model import ElementInfo, Problem, ReadyTask, Snapshot, Wait
from orderflow.engine.runtime import Runaway, Runtime
from orderflow.engine.scripting import Services
from orderflow.engine.specs import DeployRejected, ProcessDef, SpecCache, compile_bundle
from orderflow.engine.step_graph import START, steps_before
from orderflow.engine.waits import start_messages
from orderflow.engine.xmlinfo import form_keys_of

__all__ = [
    "START",
    "DeployRejected",
    "ElementInfo",
    "ExpressionError",
    "Migration",
    "MigrationRefused",
    "Problem",
    "ProcessDef",
    "ReadyTask",
    "Runaway",
    "Runtime",
    "Services",
    "Snapshot",
    "SpecCache",
    "Wait",
    "check_expression",
    "compile_bundle",
    "current_steps",
    "diff_definitions",
    "due_at",
    "engine_clock",
    "evaluate",
    "form_keys_of",
    "late_test",
    "plan_migration",
    "start_messages",
    "steps_before",
]
