"""The edge's guards: response headers every page and API answer carries, the session cookie's flags,
the client address the login throttle counts (``orderflow/throttle.py`` reads it from the session),
strict JSON request bodies, and route ids that fit the database's integers."""
from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter
from werkzeug.serving import WSGIRequestHandler

from ..errors import InvalidInput
from ..i18n import Msg

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
SERVER_BANNER = "orderflow"  # the Server header: no product versions for a scanner to match
# the service needs none of these browser features; no page (or injected script) may ask for them
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                      "microphone=(), payment=(), usb=()")
HSTS = "max-age=31536000"
# the largest id, version or count a query may carry: INTEGER columns are 32-bit on PostgreSQL
# (64 on SQLite), so larger values are refused here rather than overflowing the driver
MAX_INT = 2**31 - 1
# the largest integer JSON data may hold (stored in JSON columns, not INTEGER ones)
MAX_JSON_INT = 2**63 - 1


class Int64Converter(IntegerConverter):
    """``<int:…>`` in routes: an id beyond MAX_INT matches no route (404) instead of overflowing the driver."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_INT,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def safe_filename(name: str) -> str:
    """A name fit for a Content-Disposition filename: no quotes, line breaks, slashes or other specials."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))[:100] or "download"


MAX_JSON_DEPTH = 64
_NUMBER = Msg("The JSON holds a number this service cannot store (NaN, Infinity or beyond 64-bit integers).")


def _refuse_number(_text: str) -> Any:
    raise InvalidInput(_NUMBER)


def _int(text: str) -> int:
    number = int(text)
    return number if abs(number) <= MAX_JSON_INT else _refuse_number(text)


def _float(text: str) -> float:
    number = float(text)
    return number if math.isfinite(number) else _refuse_number(text)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it), lone surrogates (not UTF-8)


def check_json(value: Any) -> None:
    """Refuse JSON deeper than MAX_JSON_DEPTH levels (the engine copies data recursively) and text
    that cannot be stored or sent back: NUL characters and lone surrogates (``"\\ud800"``)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(Msg("The JSON is nested too deeply."))
            children = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            for key, child in children:
                if key is not None and _UNSTORABLE.search(key):
                    raise InvalidInput(Msg("Text may not contain NUL characters or unpaired surrogates."))
                stack.append((child, depth + 1))
        elif isinstance(item, str) and _UNSTORABLE.search(item):
            raise InvalidInput(Msg("Text may not contain NUL characters or unpaired surrogates."))


class StrictJSONProvider(DefaultJSONProvider):
    """Request bodies are strict JSON: what ``json.loads`` lets through beyond the standard (NaN,
    Infinity, 1e999, huge integers) or what cannot be stored is a 422, never a 500 further on."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, parse_constant=_refuse_number, parse_int=_int, parse_float=_float, **kwargs)
        except RecursionError:
            raise InvalidInput(Msg("The JSON is nested too deeply.")) from None
        check_json(value)
        return value


def init_app(app: Flask) -> None:
    # werkzeug's own server (flask run) writes "Server: Werkzeug/x Python/y" before any app header
    WSGIRequestHandler.version_string = lambda self: SERVER_BANNER  # type: ignore[method-assign]
    strict = StrictJSONProvider(app)
    vars(strict).update({k: v for k, v in vars(app.json).items() if k != "_app"})  # ensure_ascii, …
    app.json = strict
    secure = bool(app.config.get("ORDERFLOW_SECURE_COOKIES"))
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # (Flask's default None: setdefault would keep it)
    app.config.update(REMEMBER_COOKIE_SECURE=secure, REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax")

    @app.before_request
    def _client_address():
        from ..db import get_session
        get_session().info["client"] = request.remote_addr

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.is_secure or secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if not {"gunicorn.socket", "werkzeug.socket"} & request.environ.keys():  # those send their own
            headers["Server"] = SERVER_BANNER  # (gunicorn's is version-free, werkzeug's set above)
        return response
