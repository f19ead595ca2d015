"""The edge's guards: response headers every page and API answer carries, the session cookie's flags,
the client address the login throttle counts (``orderflow/access/throttle.py`` reads it from the session),
strict JSON request bodies, and route ids that fit the database's integers."""
from __future__ import annotations

import io
import json
import math
import re
from typing import Any

from flask import Flask, Request, Response, has_request_context, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.routing import IntegerConverter
from werkzeug.serving import WSGIRequestHandler

from orderflow.core.errors import InvalidInput, TooLarge
from orderflow.core.i18n import Msg
from orderflow.engine import json_clean
from orderflow.web.db_session import get_session
from orderflow.web.present import localized

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
SERVER_BANNER = "orderflow"  # the Server header: no product versions for a scanner to match
# the service needs none of these browser features; no page (or injected script) may ask for them
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                      "microphone=(), payment=(), usb=()")
HSTS = "max-age=31536000"
# on every answer unless the view set its own
ALWAYS_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                  ("Referrer-Policy", "same-origin"), ("Content-Security-Policy", CSP),
                  ("Permissions-Policy", PERMISSIONS_POLICY), ("Cross-Origin-Opener-Policy", "same-origin"),
                  ("Cross-Origin-Resource-Policy", "same-origin"))
ALWAYS_HEADERS_SECURE = (*ALWAYS_HEADERS, ("Strict-Transport-Security", HSTS))
# the largest id, version or count a query may carry: INTEGER columns are 32-bit on PostgreSQL
# (64 on SQLite), so larger values are refused here rather than overflowing the driver
MAX_INT = 2**31 - 1
# the largest integer JSON data may hold (stored in JSON columns, not INTEGER ones)
MAX_JSON_INT = json_clean.MAX_INT


class Int64Converter(IntegerConverter):
    """``<int:…>`` in routes: an id beyond MAX_INT matches no route (404) instead of overflowing the driver."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_INT,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def safe_filename(name: str) -> str:
    """A name fit for a Content-Disposition filename: no quotes, line breaks, slashes or other specials."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))[:100] or "download"


MAX_JSON_DEPTH = json_clean.MAX_DEPTH
# items (commas: an upper bound, counted before parsing) of one JSON request body: far beyond any
# form or draft, far below the millions 5 MB can hold, each a Python object and checked one by one
MAX_JSON_ITEMS = 200_000


def check_json(value: Any) -> None:
    """Refuse what a request body cannot hand on to order data (engine/json_clean.py): NaN,
    Infinity, integers beyond 64 bits, JSON deeper than MAX_JSON_DEPTH levels (the engine copies
    data recursively), NUL characters and lone surrogates (``"\\ud800"``). Its size is the
    request's, bounded by MAX_CONTENT_LENGTH."""
    found = json_clean.problem(value, limit=math.inf)
    if found is not None:
        where, why = found
        raise InvalidInput(why, fields={where: why} if where else None)


class StrictJSONProvider(DefaultJSONProvider):
    """Request bodies are strict JSON: what ``json.loads`` lets through beyond the standard (NaN,
    Infinity, 1e999, huge integers) or what cannot be stored is a 422 naming where it sits, never
    a 500 further on."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        commas = s.count(b",") if isinstance(s, bytes) else s.count(",")
        if commas > MAX_JSON_ITEMS:  # before parsing: memory too
            raise TooLarge(Msg("The JSON holds more than %(count)s items.", count=MAX_JSON_ITEMS))
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise InvalidInput(Msg("The JSON is nested too deeply.")) from None
        check_json(value)
        return value

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Answers are strict JSON too: data stored before writes were checked (NaN, a huge
        integer, a lone surrogate) is shown as text rather than failing the page for good."""
        if has_request_context():   # every Msg in the reader's language (present.localized)
            obj = localized(obj)
        try:
            return super().dumps(obj, allow_nan=False, **kwargs)
        except ValueError:  # NaN or Infinity somewhere
            return super().dumps(json_clean.readable(obj), **kwargs)


# parts of a urlencoded form post: werkzeug bounds multipart parts (MAX_FORM_PARTS) but parses every
# part of a urlencoded body, some 1.7 million in 5 MB, seconds of work before any view looks at them;
# 500 rows of 100 cells each still pass, so a long table is the form's 422 naming it, not a 413
MAX_URLENCODED_PARTS = 50_000


class BoundedFormParser(FormDataParser):
    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        body = stream.read()
        if body.count(b"&") >= MAX_URLENCODED_PARTS:
            raise RequestEntityTooLarge()
        return super()._parse_urlencoded(io.BytesIO(body), mimetype, content_length, options)


class BoundedRequest(Request):
    form_data_parser_class = BoundedFormParser


class KeptSerializerSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, their signing serializer made once per key rather than on
    every request (building it was a tenth of a small request's time). A key change makes a new one."""

    _kept: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, super().get_signing_serializer(app))
        return kept[1]


class ReadableResponse(Response):
    """A page or answer showing stored text with a lone surrogate (not UTF-8) shows '?' in its
    place instead of failing to encode: such an order's pages would otherwise answer 500 for good."""

    def set_data(self, value: bytes | str) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8", "replace")
        super().set_data(value)


def init_app(app: Flask) -> None:
    # werkzeug's own server (flask run) writes "Server: Werkzeug/x Python/y" before any app header
    WSGIRequestHandler.version_string = lambda self: SERVER_BANNER  # type: ignore[method-assign]
    strict = StrictJSONProvider(app)
    vars(strict).update({k: v for k, v in vars(app.json).items() if k != "_app"})  # ensure_ascii, …
    app.json = strict
    app.request_class, app.response_class = BoundedRequest, ReadableResponse
    app.session_interface = KeptSerializerSessions()
    secure = bool(app.config.get("ORDERFLOW_SECURE_COOKIES"))
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # (Flask's default None: setdefault would keep it)
    app.config.update(REMEMBER_COOKIE_SECURE=secure, REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax")

    @app.before_request
    def _client_address():
        get_session().info["client"] = request.remote_addr

    @app.before_request
    def _query_text_is_storable():
        # a query parameter goes into SQL as text: one PostgreSQL cannot hold (NUL) is the caller's
        # input error, named here, not the database's refusal later (SQLite would take it silently)
        for name, value in request.args.items(multi=True):
            found = json_clean.problem(name) or json_clean.problem(value)
            if found is not None:
                raise InvalidInput(Msg("The parameter '%(name)s' cannot be used: %(why)s", name=name, why=found[1]),
                                   fields={name: found[1]})

    @app.after_request
    def security_headers(response):
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}  # one pass: setdefault scans per header
        headers.extend([(name, value) for name, value in (ALWAYS_HEADERS_SECURE if request.is_secure or secure
                                                          else ALWAYS_HEADERS) if name.lower() not in present])
        if not {"gunicorn.socket", "werkzeug.socket"} & request.environ.keys():  # those send their own
            headers["Server"] = SERVER_BANNER  # (gunicorn's is version-free, werkzeug's set above)
        return response
