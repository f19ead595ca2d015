"""Analytics count the company's days (ORDERFLOW_DISPLAY_TIMEZONE, Asia/Shanghai in the tests):
a step finished at 23:30 UTC belongs to the next day in UTC+8, in the roll-up, the period, the
weeks and on-time delivery; the page says which zone its days are in. SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import literal, select

from orderflow.core.column_types import UtcDateTime
from orderflow.core.models import TaskStat
from orderflow.orders import analytics
from orderflow.orders.analytics.days import Days
from tests.support.helpers import Api, login

LATE_EVENING = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)   # a Sunday in UTC; Monday 07:30 in UTC+8


def _report(api: Api, day_from: date, day_to: date, process: str = "order_flow") -> dict:
    resp = api.get("manager1", f"/api/v1/analytics?from={day_from}&to={day_to}&process={process}")
    assert resp.status_code == 200, resp.json
    return resp.json


def _check_stock_at(api: Api, clock, moment: datetime) -> int:
    clock.value = moment - timedelta(hours=1)
    order = api.start_order(promised_date=(moment.date() + timedelta(days=30)).isoformat())
    clock.value = moment
    task = api.task(order["id"], "check_stock")
    assert api.complete("warehouse1", task["id"], "sufficient").status_code == 200
    return order["id"]


def _count(report: dict, element_id: str) -> int:
    return sum(s["count"] for s in report["steps"] if s["element_id"] == element_id)


def test_a_step_finished_at_2330_utc_counts_on_the_next_day_in_utc_plus_8(api: Api, app, clock):
    _check_stock_at(api, clock, LATE_EVENING)
    with app.extensions["orderflow.db"].session() as session:
        analytics.catch_up(session)
        days = {r.day for r in session.scalars(select(TaskStat).where(TaskStat.element_id == "check_stock"))}
    assert days == {date(2026, 3, 9)}
    monday, sunday = date(2026, 3, 9), date(2026, 3, 8)
    assert _count(_report(api, monday, monday), "check_stock") == 1
    assert _count(_report(api, sunday, sunday), "check_stock") == 0
    report = _report(api, monday, monday)
    assert report["time_zone"] == "Asia/Shanghai"
    # the order started at 22:30 UTC on Sunday: Monday in UTC+8, so in the week from Monday 9 March
    weeks = {w["week_start"]: w["started"] for w in _report(api, sunday, monday)["weeks"]}
    assert weeks == {"2026-03-02": 0, "2026-03-09": 1}


def test_the_page_states_the_zone_and_opens_on_the_company_s_today(api: Api, client, clock):
    clock.value = LATE_EVENING                          # already Monday 9 March in UTC+8
    token = login(client, "manager1")
    html = client.get("/analytics").data.decode()
    assert "Days are days in UTC+8 (Asia/Shanghai)" in html
    assert 'name="to" value="2026-03-09"' in html
    assert client.post("/language", data={"lang": "zh", "csrf_token": token, "next": "/analytics"}).status_code == 302
    zh = client.get("/analytics").data.decode()
    assert "UTC+8" in zh and "Asia/Shanghai" in zh and "Days are days" not in zh


def test_delivery_on_the_promised_day_is_judged_by_the_company_s_day(api: Api, app, clock):
    from orderflow.orders.analytics import shipped_on_time
    days = Days(ZoneInfo("Asia/Shanghai"))
    assert shipped_on_time(datetime(2026, 3, 10, 15, 30, tzinfo=UTC), "2026-03-10", days) is True   # 23:30 +8
    assert shipped_on_time(LATE_EVENING, "2026-03-08", days) is False                               # 07:30 +8 next day
    assert shipped_on_time(LATE_EVENING, date(2026, 3, 9), days) is True


def test_sql_days_agree_with_python_across_a_daylight_saving_change(app):
    """The SQL bucket is the zone's day on either database, also where the offset changes."""
    berlin = Days(ZoneInfo("Europe/Berlin"))
    low, high = datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC)
    assert [m for _, m in berlin.offsets(low, high)] == [60, 120]
    change = berlin.offsets(low, high)[1][0]
    assert change == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    moments = [datetime(2026, 3, 28, 22, 59, tzinfo=UTC), datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
               change - timedelta(seconds=1), change, datetime(2026, 3, 29, 21, 59, tzinfo=UTC),
               datetime(2026, 3, 29, 22, 0, tzinfo=UTC), datetime(2026, 4, 5, 22, 30, tzinfo=UTC)]
    shanghai = Days(ZoneInfo("Asia/Shanghai"))
    with app.extensions["orderflow.db"].session() as session:
        for days in (berlin, shanghai):
            for moment in moments:
                value = literal(moment, UtcDateTime())
                day, week = session.execute(select(days.sql_day(session, value, low, high),
                                                   days.sql_week(session, value, low, high))).one()
                local = days.of(moment)
                assert (day, week) == (local.isoformat(), (local - timedelta(days=local.weekday())).isoformat()), \
                    (days.zone, moment)
    assert shanghai.bounds(date(2026, 3, 9), date(2026, 3, 9)) == (datetime(2026, 3, 8, 16, tzinfo=UTC),
                                                                    datetime(2026, 3, 9, 16, tzinfo=UTC))
