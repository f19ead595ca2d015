"""An order driven through the whole flow over HTTP by the demo users and the form schemas."""
from __future__ import annotations

from tests.support.helpers import Api
from tests.support.orders import drive

MAIN_PATH = [
    "check_stock", "review_order", "approve_order_manager", "confirm_sample", "spec_sheet", "draft_contract",
    "review_contract", "confirm_deposit", "release_order", "track_materials", "schedule_production",
    "approve_schedule", "produce", "qc_inspection", "goods_in", "confirm_balance", "prepare_sales_list",
    "sign_release", "ship_order", "confirm_receipt", "archive_documents",
]


def test_order_runs_end_to_end(api: Api):
    started = api.start_order()
    assert started["business_key"].startswith("SO-")
    assert [t["element_id"] for t in started["open_tasks"]] == ["check_stock"]
    assert started["open_tasks"][0]["group"] == "warehouse"
    assert started["open_tasks"][0]["due_at"] is not None

    done = drive(api, started["id"])

    for step in MAIN_PATH:
        assert step in done, f"{step} was never reached"
    for a, b in zip(["confirm_deposit", "produce", "confirm_balance", "sign_release"],
                    ["produce", "qc_inspection", "sign_release", "ship_order"]):
        assert done.index(a) < done.index(b)
    detail = api.get("manager1", f"/api/v1/instances/{started['id']}").json
    assert detail["status"] == "completed"
    assert detail["data"]["outcome"] == "completed"
    assert [h["element_id"] for h in detail["history"]] == done
    assert all(h["completed_by"] and h["completed_at"] for h in detail["history"])
    assert detail["history"][0]["completed_by_name"] == "Warehouse 1"


def test_big_order_needs_vp_and_loops_are_recorded(api: Api):
    started = api.start_order(lines=[{"product": "STB-9", "spec": "4K", "quantity": 5000, "unit_price": 40}])
    done = drive(api, started["id"], {
        "confirm_deposit": [{"decision": "shortfall", "deposit_amount": 20000}, "confirm"],
        "produce": ["progress", "change_request", "finish"],
        "qc_inspection": ["fail", "pass"],
    })
    assert "approve_order_vp" in done and "approve_order_manager" not in done
    assert "chase_deposit" in done and done.count("confirm_deposit") == 2
    assert done.index("test_change") < done.index("confirm_change") < len(done) - 1 - done[::-1].index("produce")
    assert "rework" in done and done.count("qc_inspection") == 2


def test_rejection_ends_the_order_with_reason(api: Api):
    started = api.start_order()
    drive(api, started["id"], {"check_stock": ["sufficient"], "review_order": ["reject"]})
    detail = api.get("manager1", f"/api/v1/instances/{started['id']}").json
    assert detail["status"] == "completed"
    assert detail["data"]["outcome"] == "rejected"
    assert detail["data"].get("review_reason")


def test_order_numbers_are_unique(api: Api):
    keys = {api.start_order()["business_key"] for _ in range(5)}
    assert len(keys) == 5
