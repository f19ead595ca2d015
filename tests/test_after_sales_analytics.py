"""The analytics report's after-sales section: cases by type and outcome, the return rate, time to
close, open cases, and the satisfaction survey's answers — in the JSON, the page and the CSV.

The dataset is written directly (March 2031, far from any order the app itself starts), so every
number below is known by hand."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from orderflow.core.models import Instance
from orderflow.core.timefmt import company_zone
from orderflow.workflow import jobs
from tests.support.browser import skip_without_chromium
from tests.support.helpers import Api, login
from tests.support.orders import add_instance, add_task, drive

UTC = UTC
PERIOD = "from=2031-03-01&to=2031-03-31"


def at(day: int, hour: int = 0, month: int = 3) -> datetime:
    return datetime(2031, month, day, hour, 0, tzinfo=UTC)


def seed(app) -> None:
    """Cases opened in March (type / status / outcome / opened → closed):
        return     completed  refunded   03-02 10:00 → 03-04 10:00   48 h
        return     running               03-05
        exchange   completed  replaced   03-06 00:00 → 03-06 12:00   12 h
        repair     completed  repaired   03-10 00:00 → 03-11 00:00   24 h
        complaint  completed  explained  03-12 00:00 → 03-12 06:00    6 h
        (no type)  terminated            03-13 → 03-14
    and outside March: a return opened 02-20 and closed 03-02 (240 h: closed in the period), one
    opened 04-02 (not counted), one opened 01-10 and still running (open now).
    Orders delivered (ship_order completed) in March: 4; one more in February.
    Survey answers in March: 5 (q5 d4 s5, yes, link, "Excellent"), 4 (q4 d3, yes, link, "Good"),
    2 (q3 d1 s2, no, staff, "Too slow"), 5 (nothing else, link); one in February (1), one still open."""
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        n = iter(range(1, 100))

        def case(category, status, opened, closed=None, outcome=None):
            return add_instance(s, "after_sales", f"AS-2031-{next(n):03d}", "Acme Trading Ltd", status, opened, closed,
                                category=category, outcome=outcome)

        case("return", "completed", at(2, 10), at(4, 10), "refunded")
        case("return", "running", at(5))
        case("exchange", "completed", at(6), at(6, 12), "replaced")
        case("repair", "completed", at(10), at(11), "repaired")
        case("complaint", "completed", at(12), at(12, 6), "explained")
        case(None, "terminated", at(13), at(14))
        case("return", "completed", at(20, 0, month=2), at(2, 0), "refunded")
        case("refund", "completed", at(2, 0, month=4), at(3, 0, month=4), "refunded")
        case("complaint", "running", at(10, 0, month=1))
        for day in (3, 9, 15, 30):
            order = add_instance(s, "order_flow", f"SO-2031-{next(n):04d}", "Acme Trading Ltd", "completed",
                                 at(day) - timedelta(days=2), at(day))
            add_task(s, order, "ship_order", completed_at=at(day, 8), context={"promised_date": "2031-12-31"},
                     group="logistics")
        early = add_instance(s, "order_flow", "SO-2031-0999", "Acme Trading Ltd", "completed", at(10, month=2),
                             at(20, month=2))
        add_task(s, early, "ship_order", completed_at=at(20, 8, month=2), group="logistics")

        def survey(when, data, via="customer_link", status="completed"):
            row = add_instance(s, "satisfaction_survey", f"SO-2031-{next(n):04d}-S", "Acme Trading Ltd",
                               "completed" if status == "completed" else "running", when - timedelta(days=1))
            add_task(s, row, "satisfaction_survey", status=status, completed_at=when, data=data, via=via,
                     context={"order_no": row.business_key[:-2]})

        survey(at(20, 9), {"rating": 5, "quality_rating": 5, "delivery_rating": 4, "service_rating": 5,
                           "would_recommend": "yes", "comments": "Excellent"})
        survey(at(21, 9), {"rating": 4, "quality_rating": 4, "delivery_rating": 3, "would_recommend": "yes",
                           "comments": "Good"})
        survey(at(22, 9), {"rating": 2, "quality_rating": 3, "delivery_rating": 1, "service_rating": 2,
                           "would_recommend": "no", "comments": "Too slow"}, via="on_behalf")
        survey(at(23, 9), {"rating": 5, "comments": "  "})
        survey(at(27, 9, month=2), {"rating": 1, "would_recommend": "no", "comments": "Old news"})
        survey(at(24, 9), None, status="ready")
        s.commit()


@pytest.fixture
def dataset(app) -> None:
    seed(app)


def _report(api: Api, query: str = PERIOD) -> dict:
    resp = api.get("manager1", f"/api/v1/analytics?{query}")
    assert resp.status_code == 200, resp.json
    return resp.json


def test_cases_by_type_outcome_return_rate_and_time_to_close(api: Api, dataset):
    cases = _report(api)["after_sales"]
    assert (cases["opened"], cases["still_open"], cases["open_now"]) == (6, 1, 2)
    assert cases["by_type"] == [
        {"type": "return", "opened": 2, "still_open": 1, "outcomes": {"refunded": 1}},
        {"type": "exchange", "opened": 1, "still_open": 0, "outcomes": {"replaced": 1}},
        {"type": "repair", "opened": 1, "still_open": 0, "outcomes": {"repaired": 1}},
        {"type": "complaint", "opened": 1, "still_open": 0, "outcomes": {"explained": 1}},
        {"type": None, "opened": 1, "still_open": 0, "outcomes": {"terminated": 1}},
    ]
    assert cases["by_outcome"] == [{"outcome": "refunded", "count": 1}, {"outcome": "replaced", "count": 1},
                                   {"outcome": "repaired", "count": 1}, {"outcome": "explained", "count": 1},
                                   {"outcome": "terminated", "count": 1}]
    # return + exchange cases opened in March / orders delivered in March
    assert cases["returns"] == {"part": 3, "whole": 4, "rate": 0.75, "types": ["return", "exchange"]}
    # closed in March: 6, 12, 24, 48 and 240 hours (the terminated case does not count)
    assert cases["time_to_close"] == {"closed": 5, "median_seconds": 24 * 3600.0, "mean_seconds": 66 * 3600.0,
                                      "median_hours": 24.0, "mean_hours": 66.0, "median_days": 1.0,
                                      "mean_days": 2.75}


def test_the_process_filter_does_not_change_the_after_sales_section(api: Api, dataset):
    default = _report(api)
    everything = _report(api, PERIOD + "&process=")
    assert everything["after_sales"] == default["after_sales"] and everything["surveys"] == default["surveys"]
    february = _report(api, "from=2031-02-01&to=2031-02-28")["after_sales"]
    assert (february["opened"], february["returns"]) == (1, {"part": 1, "whole": 1, "rate": 1.0,
                                                             "types": ["return", "exchange"]})
    assert february["time_to_close"]["closed"] == 0 and february["time_to_close"]["median_seconds"] is None


def test_survey_results(api: Api, dataset):
    surveys = _report(api)["surveys"]
    assert (surveys["responses"], surveys["rated"], surveys["average_rating"]) == (4, 4, 4.0)
    assert surveys["aspects"] == {"quality_rating": {"average": 4.0, "answers": 3},
                                  "delivery_rating": {"average": 2.67, "answers": 3},
                                  "service_rating": {"average": 3.5, "answers": 2}}
    assert surveys["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}
    assert surveys["would_recommend"] == {"part": 2, "whole": 3, "rate": 0.6667}
    assert surveys["via_link"] == {"part": 3, "whole": 4, "rate": 0.75}
    comments = surveys["latest_comments"]
    assert [(c["comments"], c["rating"], c["via"]) for c in comments] == [
        ("Too slow", 2, "on_behalf"), ("Good", 4, "customer_link"), ("Excellent", 5, "customer_link")]
    assert comments[0]["customer"] == "Acme Trading Ltd" and comments[0]["order_no"].startswith("SO-2031-")
    assert comments[0]["answered_at"] == "2031-03-22T09:00:00+00:00"


def test_an_empty_period_has_zeros_not_errors(api: Api, dataset):
    report = _report(api, "from=2030-01-01&to=2030-01-31")
    assert report["after_sales"]["opened"] == 0 and report["after_sales"]["by_type"] == []
    assert report["after_sales"]["open_now"] == 2
    assert report["surveys"]["responses"] == 0 and report["surveys"]["average_rating"] is None
    assert report["surveys"]["via_link"] == {"part": 0, "whole": 0, "rate": None}


def test_the_page_shows_cases_and_survey_answers(client, dataset):
    login(client, "manager1")
    resp = client.get(f"/analytics?{PERIOD}")
    assert resp.status_code == 200
    html = resp.data.decode()
    for element in ("after-sales", "as-opened", "as-returns", "as-close", "as-open-now", "chart-case-types",
                    "table-case-types", "table-case-outcomes", "surveys", "sv-responses", "sv-rating",
                    "sv-recommend", "sv-via-link", "chart-ratings", "table-ratings", "table-aspects",
                    "survey-comments"):
        assert f'id="{element}"' in html, element
    # the headline's return rate is the after-sales section's: one return rate on the page
    assert re.search(r'id="card-returns">.*?data-value="0.7500">75.0 %<', html, re.S)
    section = html[html.index('id="after-sales"'):]
    assert re.search(r'id="as-opened">.*?as-value">6<', section, re.S)
    assert re.search(r'id="as-returns">.*?data-value="0.7500">75.0 %<', section, re.S)
    assert "3 return or exchange cases for 4 delivered orders." in section
    assert re.search(r'id="as-close">.*?as-value">24.0 h<', section, re.S)
    assert re.search(r'id="as-open-now">.*?as-value">2<', section, re.S)
    assert re.search(r'<tr data-type="return">.*?type-opened">2<.*?type-open">1<', section, re.S)
    assert re.search(r'id="sv-rating">.*?sv-value">4.00 / 5<', section, re.S)
    assert re.search(r'id="sv-recommend">.*?sv-value">66.7 %<', section, re.S)
    assert re.search(r'id="sv-via-link">.*?sv-value">75.0 %<', section, re.S)
    counts = re.findall(r'<tr data-rating="(\d)">.*?rating-count">(\d+)<', section, re.S)
    assert counts == [("1", "0"), ("2", "1"), ("3", "0"), ("4", "1"), ("5", "2")]
    assert re.search(r'data-aspect="delivery_rating">.*?aspect-average">2.67<', section, re.S)
    comments = re.findall(r'<div class="comment-text">([^<]*)</div>', section)
    assert comments == ["Too slow", "Good", "Excellent"]
    assert "Old news" not in html
    data = json.loads(re.search(r'<script type="application/json" id="analytics-data">(.*?)</script>',
                                html, re.S).group(1))
    assert data["cases"] == {"labels": ["Return", "Exchange", "Repair", "Complaint", "Not given"],
                             "opened": [2, 1, 1, 1, 1]}
    assert data["ratings"] == {"labels": ["1", "2", "3", "4", "5"], "counts": [0, 1, 0, 1, 2]}


def test_the_page_without_cases_or_answers_draws_no_after_sales_chart(client):
    login(client, "manager1")
    html = client.get("/analytics?from=2030-01-01&to=2030-01-31").data.decode()
    assert 'id="as-empty"' in html and 'id="surveys-empty"' in html
    data = json.loads(re.search(r'id="analytics-data">(.*?)</script>', html, re.S).group(1))
    assert data["cases"]["labels"] == [] and data["ratings"]["labels"] == []


def test_the_csv_has_the_after_sales_tables(api: Api, dataset):
    resp = api.get("manager1", f"/analytics.csv?{PERIOD}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8")[1:])))
    start = rows.index(["Case type", "Cases opened", "Still open", "Refunded", "Replaced", "Repaired", "Explained",
                        "Rejected", "Other outcomes"])
    assert rows[start - 1] == []
    blank = rows.index([], start)
    assert rows[start + 1:blank] == [["return", "2", "1", "1", "0", "0", "0", "0", "0"],
                                     ["exchange", "1", "0", "0", "1", "0", "0", "0", "0"],
                                     ["repair", "1", "0", "0", "0", "1", "0", "0", "0"],
                                     ["complaint", "1", "0", "0", "0", "0", "1", "0", "0"],
                                     ["", "1", "0", "0", "0", "0", "0", "0", "1"]]
    assert rows[blank + 1] == ["After-sales figure", "Value", "Part", "Whole"]
    end = rows.index([], blank + 1)
    figures = {row[0]: row[1:] for row in rows[blank + 2:end]}
    assert figures["Cases opened"] == ["6", "", ""]
    assert figures["Return rate (return and exchange cases per delivered order)"] == ["0.7500", "3", "4"]
    assert figures["Cases closed"] == ["5", "", ""]
    assert figures["Median time to close (h)"][0] == "24.00" and figures["Average time to close (h)"][0] == "66.00"
    assert figures["Median time to close (d)"][0] == "1.00" and figures["Average time to close (d)"][0] == "2.75"
    assert figures["Open cases now"][0] == "2"
    assert figures["Survey answers"][0] == "4"
    assert figures["Average rating"] == ["4.00", "16", "4"]
    assert figures["Average delivery rating"] == ["2.67", "8", "3"]
    assert [figures[f"Answers rating {i}"][0] for i in range(1, 6)] == ["0", "1", "0", "1", "2"]
    assert figures["Would recommend (share)"] == ["0.6667", "2", "3"]
    assert figures["Answered through the customer link (share)"] == ["0.7500", "3", "4"]
    assert rows[end + 1] == ["Answered", "Customer", "Order", "Rating", "Answered through", "Comments"]
    comments = rows[end + 2:]
    assert [(r[1], r[3], r[4], r[5]) for r in comments] == [
        ("Acme Trading Ltd", "2", "on_behalf", "Too slow"), ("Acme Trading Ltd", "4", "customer_link", "Good"),
        ("Acme Trading Ltd", "5", "customer_link", "Excellent")]


def test_typed_comments_cannot_run_as_spreadsheet_formulas(app, api: Api):
    db = app.extensions["orderflow.db"]
    with db.session() as s:
        row = add_instance(s, "satisfaction_survey", "SO-X-S", "=HYPERLINK(\"http://evil\")", "completed", at(1))
        add_task(s, row, "satisfaction_survey", completed_at=at(2), data={"rating": 3, "comments": "=1+1"})
        s.commit()
    text = api.get("manager1", f"/analytics.csv?{PERIOD}").data.decode("utf-8")
    last = list(csv.reader(io.StringIO(text[1:])))[-1]
    assert last[1] == "'=HYPERLINK(\"http://evil\")" and last[5] == "'=1+1"


def test_only_overseers_see_the_section(api: Api, dataset):
    assert api.get("sales1", f"/api/v1/analytics?{PERIOD}").status_code == 403
    assert api.get("bank1", f"/analytics.csv?{PERIOD}").status_code == 403


def test_a_real_case_and_survey_reach_the_report_and_the_customer_file(api: Api, app, clock):
    """The deployed processes: an order delivered, an exchange case on it run to its outcome, the
    survey (after ORDERFLOW_SURVEY_DELAY) answered by customer service for the customer."""
    deployed = api.get("manager1", "/api/v1/processes/after_sales")
    assert deployed.status_code == 200, "processes/after_sales.bpmn did not deploy"  # a failure, never a skip
    order = api.start_order(customer="Real Case Co")
    drive(api, order["id"])
    opened = api.post("service1", "/api/v1/processes/after_sales/instances", {"data": {
        "order_no": order["business_key"], "case_type": "exchange", "description": "Wrong colour delivered"}})
    assert opened.status_code == 201, opened.json
    clock.advance(hours=5)
    drive(api, opened.json["id"])
    with app.extensions["orderflow.db"].session() as s:
        case = s.get(Instance, opened.json["id"])
        outcome, hours = case.outcome, (case.ended_at - case.started_at).total_seconds() / 3600
        assert case.status == "completed" and case.category == "exchange" and case.related_id == order["id"]
    assert outcome in ("refunded", "replaced", "repaired", "explained", "rejected")

    clock.advance(days=7, minutes=1)                   # the survey waits ORDERFLOW_SURVEY_DELAY
    jobs.run_due(app.extensions["orderflow.db"], "test-worker")
    with app.extensions["orderflow.db"].session() as s:
        survey_id = s.scalar(select(Instance.id).where(Instance.process_key == "satisfaction_survey",
                                                       Instance.related_id == order["id"]))
    task = api.open_tasks(survey_id)[0]
    answered = api.complete(f"{task['group']}1", task["id"], rating=2, quality_rating=3, would_recommend="no",
                            comments="Box was dented")
    assert answered.status_code == 200, answered.json

    today = clock.value.astimezone(company_zone(app.config)).date()   # the report's days are the company's
    report = _report(api, f"from={(today - timedelta(days=30)).isoformat()}&to={today.isoformat()}")
    cases = report["after_sales"]
    assert cases["by_type"] == [{"type": "exchange", "opened": 1, "still_open": 0, "outcomes": {outcome: 1}}]
    assert cases["returns"] == {"part": 1, "whole": 1, "rate": 1.0, "types": ["return", "exchange"]}
    assert cases["time_to_close"]["closed"] == 1
    assert cases["time_to_close"]["median_hours"] == pytest.approx(hours, abs=0.01) and hours >= 5
    surveys = report["surveys"]
    assert (surveys["responses"], surveys["average_rating"], surveys["distribution"]["2"]) == (1, 2.0, 1)
    assert surveys["aspects"]["quality_rating"] == {"average": 3.0, "answers": 1}
    assert surveys["via_link"] == {"part": 0, "whole": 1, "rate": 0.0}
    assert surveys["would_recommend"] == {"part": 0, "whole": 1, "rate": 0.0}
    assert [(c["comments"], c["customer"], c["order_no"]) for c in surveys["latest_comments"]] == [
        ("Box was dented", "Real Case Co", order["business_key"])]

    file = api.get("sales1", "/api/v1/customers/Real%20Case%20Co").json
    assert [(c["type"], c["outcome"], c["order_no"], c["order_id"]) for c in file["cases"]] == [
        ("exchange", outcome, order["business_key"], order["id"])]
    assert [(a["rating"], a["via"], a["order_no"], a["comments"]) for a in file["survey_answers"]] == [
        (2, "on_behalf", order["business_key"], "Box was dented")]
    assert file["totals"]["returns"] == {"part": 1, "whole": 1, "rate": 1.0, "types": ["return", "exchange"]}
    assert file["orders"][0]["on_time"] == "yes"


@skip_without_chromium
def test_the_after_sales_charts_draw_in_a_browser_under_the_csp(live_server, page):
    app, base = live_server
    seed(app)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("#username", "manager1")
    page.fill("#password", "demo")
    page.click("#login")
    page.wait_for_url(f"{base}/inbox")
    page.goto(f"{base}/analytics?{PERIOD}")
    # no step finished in March 2031: the weekly chart, the case types and the ratings
    page.wait_for_function("() => document.getElementById('analytics-data').dataset.charts === '3'")
    for canvas in ("chart-case-types", "chart-ratings"):
        assert page.locator(f"#{canvas}").bounding_box()["height"] > 50, canvas
    assert page.locator("#table-ratings tr[data-rating='5'] .rating-count").inner_text() == "2"
    assert not problems, problems
