"""Links in mails point where the server is reached: the configured address, else where `flask run`
serves (`make run` passes HOST and PORT on), never the Host header a caller sends."""
from __future__ import annotations

from orderflow.core.config import DEFAULTS, served_base_url
from orderflow.workflow.notify import absolute_url


def test_the_configured_address_wins():
    config = {"ORDERFLOW_BASE_URL": "https://orders.example.com"}
    assert served_base_url(config, {"FLASK_RUN_PORT": "5001"}) == "https://orders.example.com"


def test_without_one_the_address_flask_run_serves_on():
    config = {"ORDERFLOW_BASE_URL": DEFAULTS["ORDERFLOW_BASE_URL"]}
    assert served_base_url(config, {"FLASK_RUN_PORT": "5001"}) == "http://127.0.0.1:5001"
    assert served_base_url(config, {"FLASK_RUN_HOST": "0.0.0.0", "FLASK_RUN_PORT": "8080"}) == "http://127.0.0.1:8080"
    assert served_base_url(config, {"FLASK_RUN_HOST": "::1", "FLASK_RUN_PORT": "8080"}) == "http://[::1]:8080"
    assert served_base_url(config, {}) == DEFAULTS["ORDERFLOW_BASE_URL"]


def test_the_app_links_to_its_own_port(monkeypatch, seeded_url):
    from orderflow import create_app

    monkeypatch.setenv("FLASK_RUN_PORT", "5077")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_DATABASE_URL": seeded_url})
    try:
        assert absolute_url(app.config, "/c/token") == "http://127.0.0.1:5077/c/token"
    finally:
        app.extensions["orderflow.db"].engine.dispose()
