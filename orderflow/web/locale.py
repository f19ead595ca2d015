"""The reader's language: the one they chose, else the browser's best match among those offered."""
from __future__ import annotations

from flask import current_app, request, session


def current_languages() -> list[str]:
    return list(current_app.config["ORDERFLOW_LANGUAGES"])


def select_locale() -> str:
    languages = current_languages()
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]
