"""Query parameters are text the database must hold: one it cannot (NUL) is the caller's input error."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/api/v1/admin/users?q=a%00b", "/api/v1/forms?process=%00", "/api/v1/tasks?q=x%00",
                                  "/inbox?q=%00"])
def test_a_query_parameter_no_database_can_hold_is_refused_by_name(app, api, path):
    """Found by the fuzz test on PostgreSQL: NUL in a search reached the SQL and came back as the
    database's refusal; now the parameter is named, on both databases alike."""
    resp = api.get("admin", path)
    assert resp.status_code == 422
    name = path.split("?")[1].split("=")[0]
    if path.startswith("/api/"):
        assert name in resp.json["error"]["fields"] and name in resp.json["error"]["message"]
