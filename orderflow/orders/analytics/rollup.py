"""The task_stats roll-up: caught up in the background and before a report reads, rebuilt on demand,
read as histograms."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from orderflow.core.column_types import table_of
from orderflow.core.models import HumanTask, Instance, TaskStat
from orderflow.orders.analytics.days import Days

MAX_BUCKETS = 40                 # bucket i holds durations in [2**i, 2**(i+1)) seconds; 2**40 s is 34,000 years
_KEY = ("process_key", "element_id", "day", "group_id")
#: the condition exactly as the partial index ix_human_tasks_rollup_pending states it: both databases use
#: that index only for this very expression (``IS true`` / ``= 1`` scanned the whole table every sweep)
_PENDING = text("human_tasks.rollup_pending")


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


def catch_up(session: Session, batch: int = 500) -> int:
    """Count the completions not counted yet (``HumanTask.rollup_pending``, set when a task completes)
    into their steps' rows for the day (the company's day, as the report counts them); returns how
    many. The scheduler's sweep runs it in the background and the report before it reads, so the step's
    own request does no counting and the report is exact all the same.

    Exactly once under any concurrency: a batch is claimed by one UPDATE … RETURNING that clears the
    flags of the rows it returns, in the transaction that adds them. A second claimer waiting on
    those rows finds them cleared (PostgreSQL re-checks the condition on the row it waited for;
    SQLite has one writer at a time). The daily rows are then created if missing and updated under
    their lock, in one order of keys, so two claimers never deadlock. No commit.
    """
    counted = 0
    while session.scalar(select(HumanTask.id).where(_PENDING).limit(1)) is not None:  # reading takes no lock
        claim = (update(HumanTask)
                 .where(HumanTask.id.in_(select(HumanTask.id).where(_PENDING).order_by(HumanTask.id).limit(batch)),
                        _PENDING)
                 .values(rollup_pending=False)
                 .returning(HumanTask.instance_id, HumanTask.process_key, HumanTask.element_id, HumanTask.group_id,
                            HumanTask.ready_at, HumanTask.due_at, HumanTask.completed_at, HumanTask.data)
                 .execution_options(synchronize_session=False))
        claimed = session.execute(claim).all()
        _apply(session, _completions(session, claimed))
        counted += len(claimed)
        if len(claimed) < batch:
            break
    return counted


def _completions(session: Session, claimed: Sequence[Any]) -> list[_Completion]:
    unnamed = {row.instance_id for row in claimed if not row.process_key}   # rows from before the column
    keys = dict(session.execute(select(Instance.id, Instance.process_key).where(Instance.id.in_(unnamed)))
                .tuples()) if unnamed else {}
    days = Days.of_company(session)
    return [_measure(days, row.process_key or keys.get(row.instance_id, ""), row.element_id, row.group_id,
                     row.ready_at, row.due_at, row.completed_at,
                     row.data.get("decision") if isinstance(row.data, dict) else None)
            for row in claimed if row.completed_at is not None]


def _apply(session: Session, completions: list[_Completion]) -> None:
    """Add ``completions`` to their daily rows: created empty if missing (INSERT … ON CONFLICT DO
    NOTHING), read under their lock (``FOR UPDATE`` on PostgreSQL; on SQLite the claim holds the
    database's write lock), counters incremented in SQL in the same statement as the histogram."""
    by_key: dict[tuple, list[_Completion]] = {}
    for done in completions:
        by_key.setdefault(done.key, []).append(done)
    for key in sorted(by_key):
        group = by_key[key]
        _create_zero_row(session, key)
        row = session.get_one(TaskStat, key, with_for_update=True, populate_existing=True)
        buckets, decisions = row.buckets, row.decisions
        for done in group:
            buckets, decisions = _add(buckets, decisions, done)
        session.execute(
            update(TaskStat).where(*_key_filter(key)).values(
                completed=TaskStat.completed + len(group),
                with_due=TaskStat.with_due + sum(done.has_due for done in group),
                on_time=TaskStat.on_time + sum(done.on_time for done in group),
                total_seconds=TaskStat.total_seconds + sum(done.seconds for done in group),
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
    session.execute(update(HumanTask).where(_PENDING).values(rollup_pending=False)
                    .execution_options(synchronize_session=False))   # every completion is counted now
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
