"""Response headers on every answer, and the session cookie's flags."""
from __future__ import annotations

import pytest

from orderflow import create_app
from orderflow.core.config import from_environment
from tests.support.helpers import basic

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@pytest.mark.parametrize("path, headers", [("/login", {}), ("/healthz", {}), ("/api/v1/processes", basic("sales1")),
                                           ("/api/v1/openapi.json", {}), ("/inbox", basic("sales1")),
                                           ("/api/v1/no-such-thing", basic("sales1")), ("/static/css/app.css", {})])
def test_every_answer_carries_the_security_headers(client, path, headers):
    resp = client.get(path, headers=headers)
    for name, value in EXPECTED.items():
        assert resp.headers.get(name) == value, (path, name)
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    policy = resp.headers["Permissions-Policy"]
    assert all(f"{feature}=()" in policy for feature in ("camera", "microphone", "geolocation", "payment", "usb"))
    assert "Strict-Transport-Security" not in resp.headers  # plain http: HSTS would mean nothing


def test_hsts_over_https(client):
    resp = client.get("/healthz", base_url="https://orderflow.example")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(resp.headers["Strict-Transport-Security"].split("=")[1]) >= 180 * 86400


def _session_cookie(resp) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, resp.headers
    return cookies[0]


def test_the_session_cookie_is_httponly_and_samesite_lax_but_not_secure_by_default(client):
    cookie = _session_cookie(client.get("/login"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http://127.0.0.1 in development would lose its session


def test_secure_cookies_setting_marks_the_cookie_and_sends_hsts(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "s", "ORDERFLOW_SECURE_COOKIES": True,
                      "ORDERFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'secure.sqlite'}"})
    client = app.test_client()
    resp = client.get("/login", base_url="https://orderflow.example")
    cookie = _session_cookie(resp)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # behind a TLS-terminating proxy the app sees http: the setting still sends HSTS
    assert "Strict-Transport-Security" in client.get("/healthz").headers
    app.extensions["orderflow.db"].engine.dispose()


def test_the_setting_reads_from_the_environment():
    assert from_environment({"ORDERFLOW_SECURE_COOKIES": "true"})["ORDERFLOW_SECURE_COOKIES"] is True
    assert from_environment({"ORDERFLOW_SECURE_COOKIES": "0"})["ORDERFLOW_SECURE_COOKIES"] is False
