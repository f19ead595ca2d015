"""Orderflow: BPMN-driven order management on SpiffWorkflow."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask.logging import default_handler

from orderflow.core import config as config_module
from orderflow.core import logs
from orderflow.core.platform import Platform

ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance_path: str) -> str:
    """A random key kept in instance/ so sessions survive restarts in development."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    os.chmod(path, 0o600)
    return key


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from orderflow.web import db_session  # its OrderflowApp commits each request's unit of work at the edge

    app = db_session.OrderflowApp(__name__, instance_relative_config=True,
                                  instance_path=os.environ.get("ORDERFLOW_INSTANCE_PATH") or str(ROOT / "instance"))
    app.config.from_mapping(config_module.DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(config_module.from_environment())
    if test_config:
        app.config.update(test_config)
    app.config["ORDERFLOW_BASE_URL"] = config_module.served_base_url(app.config)
    logs.configure(app.config["ORDERFLOW_LOG_FORMAT"])
    if str(app.config["ORDERFLOW_LOG_FORMAT"]).lower() == "json":  # Flask's own handler, should it add it
        default_handler.setFormatter(logs.JsonFormatter())
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    app.config["MAX_CONTENT_LENGTH"] = int(float(app.config["ORDERFLOW_MAX_UPLOAD_MB"]) * 1024 * 1024) + 64 * 1024
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    if isinstance(app.json, DefaultJSONProvider):  # Flask's own, the one in use: Chinese text stays readable
        app.json.ensure_ascii = False

    from handlers import REGISTRY
    from orderflow.orders.plug import HOOKS

    def _dir(key: str) -> Path:
        path = Path(app.config[key])
        return path if path.is_absolute() else ROOT / path

    app.extensions["orderflow.platform"] = Platform(config=app.config, handlers=REGISTRY,
                                                    forms_dir=_dir("ORDERFLOW_FORMS_DIR"), hooks=HOOKS)
    app.config["ORDERFLOW_PROCESSES_PATH"] = _dir("ORDERFLOW_PROCESSES_DIR")

    from orderflow import cli, scheduler
    from orderflow.web import init_app as init_web

    db_session.init_app(app)
    init_web(app)
    cli.init_app(app)
    scheduler.init_app(app)
    return app
