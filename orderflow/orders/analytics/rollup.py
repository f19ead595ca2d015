"""The task_stats roll-up: kept as tasks complete, rebuilt on demand, read as histograms."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from orderflow.core.column_types import table_of
from orderflow.core.models import HumanTask, Instance, TaskStat
from orderflow.orders.analytics.days import Days

MAX_BUCKETS = 40                 # bucket i holds durations in [2**i, 2**(i+1)) seconds; 2**40 s is 34,000 years
_KEY = ("process_key", "element_id", "day", "group_id")


# -- keeping the roll-up -------------------------------------------------------------------

def bucket_of(seconds: float) -> int:
    """floor(log2(max(seconds, 1))), capped at the last bucket."""
    return min(int(max(seconds, 1.0)).bit_length() - 1, MAX_BUCKETS - 1)


@dataclass
class _Completion:
    key: tuple            # (process_key, element_id, the company's day, group_id or "")
    seconds: float        # ready -> completed
    has_due: bool
    on_time: bool
    decision: str | None


def _measure(days: Days, process_key: str, element_id: str, group_id: str | None, ready_at: datetime | None,
             due_at: datetime | None, completed_at: datetime, decision: Any) -> _Completion:
    seconds = max((completed_at - ready_at).total_seconds(), 0.0) if ready_at else 0.0
    return _Completion((process_key, element_id, days.of(completed_at), group_id or ""),
                       seconds, due_at is not None, due_at is not None and completed_at <= due_at,
                       None if decision in (None, "") else str(decision))


def _add(buckets: list[int] | None, decisions: dict[str, int] | None, done: _Completion) -> tuple[list, dict]:
    """The histogram and decision counts with one more completion (new objects)."""
    buckets = list(buckets or [])
    index = bucket_of(done.seconds)
    buckets.extend([0] * (index + 1 - len(buckets)))
    buckets[index] += 1
    decisions = dict(decisions or {})
    if done.decision is not None:
        decisions[done.decision] = decisions.get(done.decision, 0) + 1
    return buckets, decisions


def record_completion(session: Session, task: HumanTask) -> None:
    """Add a just-completed task to its step's row for the day (the company's day, as the report
    counts them); safe under concurrent commits.

    The row is created empty if missing (INSERT … ON CONFLICT DO NOTHING, so two transactions
    creating it at once both go on), read under its lock (``FOR UPDATE`` on PostgreSQL; on
    SQLite the insert has already taken the database's write lock) and updated with
    ``completed = completed + 1`` style increments in the same statement as the histogram.
    """
    if task.completed_at is None:
        return
    done = _measure(Days.of_company(session), task.process_key or task.instance.process_key, task.element_id,
                    task.group_id, task.ready_at, task.due_at, task.completed_at,
                    task.data.get("decision") if isinstance(task.data, dict) else None)
    _create_zero_row(session, done.key)
    row = session.get_one(TaskStat, done.key, with_for_update=True, populate_existing=True)
    buckets, decisions = _add(row.buckets, row.decisions, done)
    session.execute(
        update(TaskStat).where(*_key_filter(done.key)).values(
            completed=TaskStat.completed + 1, with_due=TaskStat.with_due + int(done.has_due),
            on_time=TaskStat.on_time + int(done.on_time), total_seconds=TaskStat.total_seconds + done.seconds,
            buckets=buckets, decisions=decisions,
        ).execution_options(synchronize_session=False))
    session.expire(row)   # the counters changed in SQL; read them again if anyone asks


def rebuild(session: Session) -> int:
    """Recompute all of task_stats from the completed human tasks; returns how many were counted.

    For data from before the roll-up existed or after a bulk import: it reads every completed
    task once (the report never does). Run it when few people are working: completions that
    commit while it runs may be counted twice or not at all. No commit.
    """
    session.execute(delete(TaskStat))
    rows: dict[tuple, TaskStat] = {}
    query = (select(func.coalesce(HumanTask.process_key, Instance.process_key), HumanTask.element_id,
                    HumanTask.group_id, HumanTask.ready_at, HumanTask.due_at, HumanTask.completed_at,
                    HumanTask.data["decision"].as_string())
             .join(Instance, Instance.id == HumanTask.instance_id)
             .where(HumanTask.status == "completed", HumanTask.completed_at.is_not(None)))
    counted = 0
    days = Days.of_company(session)
    for values in session.execute(query.execution_options(yield_per=5000)):
        done = _measure(days, *values)
        row = rows.get(done.key)
        if row is None:
            row = rows[done.key] = TaskStat(**dict(zip(_KEY, done.key)), completed=0, with_due=0, on_time=0,
                                            total_seconds=0.0, buckets=[], decisions={})
        row.buckets, row.decisions = _add(row.buckets, row.decisions, done)
        row.completed += 1
        row.with_due += int(done.has_due)
        row.on_time += int(done.on_time)
        row.total_seconds += done.seconds
        counted += 1
    session.add_all(rows.values())
    session.flush()
    return counted


def _key_filter(key: tuple) -> list:
    return [getattr(TaskStat, name) == value for name, value in zip(_KEY, key)]


def _create_zero_row(session: Session, key: tuple) -> None:
    values = dict(zip(_KEY, key), completed=0, with_due=0, on_time=0, total_seconds=0.0, buckets=[],
                  decisions={})
    make = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
    session.execute(make(table_of(TaskStat)).values(**values).on_conflict_do_nothing(index_elements=list(_KEY)))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
