"""The only package that imports SpiffWorkflow. See docs/DESIGN.md for the traps it handles."""
from .clock import engine_clock
from .durations import due_at
from .expressions import ExpressionError, check_expression, evaluate
from .migration import Migration, MigrationRefused, current_steps, diff_definitions, plan_migration
from .model import ElementInfo, Problem, ReadyTask, Snapshot, Wait
from .runtime import Runaway, Runtime
from .scripting import Services
from .specs import DeployRejected, ProcessDef, SpecCache, compile_bundle
from .waits import start_messages

__all__ = [
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
    "plan_migration",
    "start_messages",
]
