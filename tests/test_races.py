"""Lost updates: two requests working from the same stored copy must not both win."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from orderflow.core.errors import LostRace
from orderflow.core.models import HumanTask, Instance, User
from orderflow.workflow import tasks
from tests.support.helpers import Api, fill
from tests.support.orders import assert_consistent


def drive_to_parallel_split(api: Api) -> dict:
    started = api.start_order()
    api.drive_to(started["id"], "make_bom", "design_artwork", "contract_review")
    return started


def form_data(session, actor, task_id):
    view = tasks.form_for(session, actor, task_id)
    return fill(view.schema, view.values)


def test_parallel_branches_from_one_stored_copy_answer_409_and_lose_nothing(app, api: Api):
    started = drive_to_parallel_split(api)
    db = app.extensions["orderflow.db"]
    with db.session() as a, db.session() as b:
        design = a.scalar(select(User).where(User.username == "design1"))
        manager = b.scalar(select(User).where(User.username == "sales_manager1"))
        rows = {t.element_id: t.id for t in a.scalars(select(HumanTask).where(
            HumanTask.instance_id == started["id"], HumanTask.status == "ready"))}
        # both requests read the same stored copy of the instance (b holds it, as a request would)
        held_by_b = b.get(Instance, started["id"])
        assert held_by_b.state_token
        data_b = form_data(b, manager, rows["contract_review"])
        tasks.complete(a, design, rows["design_artwork"], form_data(a, design, rows["design_artwork"]))
        a.commit()
        with pytest.raises(LostRace):
            tasks.complete(b, manager, rows["contract_review"], data_b)
        b.rollback()
    # nothing lost: the winner is stored, the loser's task is still open and can be redone
    open_ids = {t["element_id"] for t in api.open_tasks(started["id"])}
    assert "design_artwork" not in open_ids and "contract_review" in open_ids
    redo = api.complete("sales_manager1", rows["contract_review"])
    assert redo.status_code == 200
    assert_consistent(app, started["id"])


def _hammer(app, calls: list[tuple[str, int]], body_for) -> list[int]:
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = [0] * len(calls)

    def worker(i: int, user: str, task_id: int) -> None:
        client = app.test_client()
        body = body_for(user, task_id)
        barrier.wait()
        statuses[i] = client.post(f"/api/v1/tasks/{task_id}/complete", json=body,
                                  headers=Api.auth(user)).status_code

    threads = [threading.Thread(target=worker, args=(i, u, t)) for i, (u, t) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def _body_maker(api: Api):
    def body_for(user: str, task_id: int) -> dict:
        detail = api.get(user, f"/api/v1/tasks/{task_id}").json
        return {"data": fill(detail["form"], detail["values"])}
    return body_for


def test_many_threads_completing_one_task_exactly_one_wins(app, api: Api):
    started = api.start_order()
    task = started["open_tasks"][0]
    statuses = _hammer(app, [(f"warehouse{1 + i % 2}", task["id"]) for i in range(16)], _body_maker(api))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 409}, statuses
    history = api.get("manager1", f"/api/v1/instances/{started['id']}").json["history"]
    assert [h["element_id"] for h in history] == ["check_stock"]
    assert_consistent(app, started["id"])


def test_parallel_branches_completed_at_once_lose_nothing(app, api: Api):
    started = drive_to_parallel_split(api)
    open_tasks = {t["element_id"]: t for t in api.open_tasks(started["id"])}
    calls = [("design1", open_tasks["design_artwork"]["id"]), ("sales_manager1", open_tasks["contract_review"]["id"]),
             ("engineering1", open_tasks["make_bom"]["id"])] * 4
    statuses = _hammer(app, calls, _body_maker(api))
    assert set(statuses) <= {200, 409}, statuses
    assert 1 <= statuses.count(200) <= 3
    assert_consistent(app, started["id"])
